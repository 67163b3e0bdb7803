/* objects.c - live refcount objects and their bounded history. Owns the
 * object map (object address -> record) and the records: the block that
 * holds the object, its world, and its increfs/decrefs with stacks, at most
 * LEAKGRAPH_HISTORY events. When the bound is reached, matched pairs go
 * first (an incref and a later decref whose first frame outside the runtime
 * lies in the same function), so the unmatched increfs the report names
 * are kept; only when no such pair exists is the oldest incref/decref pair
 * dropped, and the record marked LG_OBJF_HISTORY_TRUNCATED. Records and
 * event arrays come from per-shard free lists under the shard's lock.
 * An object whose block has a header (blockbits.h) keeps its record in
 * the header's spare word, not in the map: the runtime's events name the
 * block, so finding the record touches the block's own cache line. Either
 * way the record is guarded by the lock of the object's map shard. */
#include <errno.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "blockbits.h"
#include "lg_shim.h"
#include "objects.h"
#include "rcworld.h"

struct lg_map lg_objects;

/* The header word that holds the record of an object in block, or NULL
 * when the block has no header (its record is in the map). */
static inline uint64_t *header_slot(void *block)
{
    return lg_bb_has(block) ? lg_hdr_meta(block) + 1 : NULL;
}


struct shard_free;
static void rec_free(struct shard_free *f, struct lg_obj *r);
static struct lg_map func_keys;         /* stack id + 1 -> function start */
static const struct lg_rc_world *const worlds[] = {&lg_world_librefcount};

#define N_CLASSES 16                    /* event arrays of 4 << class events */
struct shard_free {                     /* recs and in_headers share a cache line */
    struct lg_obj *recs;
    size_t in_headers;                  /* this shard's records kept in headers */
    void *events[N_CLASSES];
};
static struct shard_free frees[LG_SHARDS];

void lg_objects_install(void)
{
    for (size_t i = 0; i < sizeof worlds / sizeof worlds[0]; i++)
        worlds[i]->install();
}

bool lg_ip_in_runtime(uintptr_t ip)
{
    for (size_t i = 0; i < sizeof worlds / sizeof worlds[0]; i++)
        if (worlds[i]->is_runtime_ip(ip))
            return true;
    return false;
}

const struct lg_rc_world *lg_world_by_id(uint32_t id)
{
    for (size_t i = 0; i < sizeof worlds / sizeof worlds[0]; i++)
        if (worlds[i]->id == id)
            return worlds[i];
    return NULL;
}

static struct shard_free *free_of(struct lg_shard *s)
{
    return &frees[s - lg_objects.shards];
}

static unsigned class_of(uint32_t cap)
{
    unsigned c = 0;
    while ((4u << c) < cap)
        c++;
    return c;
}

/* errno unchanged */
static struct lg_hev *events_alloc(struct shard_free *f, unsigned c)
{
    void **head = &f->events[c];
    if (*head) {
        void *p = *head;
        *head = *(void **)p;
        return p;
    }
    int saved = errno;
    void *p = lg_arena_alloc(sizeof(struct lg_hev) * (4u << c));
    errno = saved;
    return p;
}

static void events_free(struct shard_free *f, struct lg_hev *ev, uint32_t cap)
{
    if (ev == NULL)
        return;
    unsigned c = class_of(cap);
    *(void **)ev = f->events[c];
    f->events[c] = ev;
}

static void rec_free(struct shard_free *f, struct lg_obj *r)
{
    r->obj = 0;
    events_free(f, r->ev, r->cap);
    *(struct lg_obj **)r = f->recs;
    f->recs = r;
}

/* Every object shard's lock held (the snapshot). */
size_t lg_objects_in_headers(void)
{
    size_t n = 0;
    for (int i = 0; i < LG_SHARDS; i++)
        n += frees[i].in_headers;
    return n;
}

/* errno unchanged */
static __attribute__((noinline)) struct lg_obj *rec_alloc_new(void)
{
    int saved = errno;
    struct lg_obj *r = lg_arena_alloc(sizeof *r);
    errno = saved;
    return r;
}

static struct lg_obj *rec_alloc(struct shard_free *f)
{
    struct lg_obj *r = f->recs;
    if (LG_LIKELY(r != NULL)) {
        f->recs = *(struct lg_obj **)r;
        return r;
    }
    return rec_alloc_new();
}

/* r's NEW event, in a first event array */
static __attribute__((noinline)) void new_history(struct shard_free *f, struct lg_obj *r,
                                                  uint32_t stack, int64_t refcnt)
{
    if ((r->ev = events_alloc(f, 0)) != NULL) {
        r->cap = 4;
        r->ev[0] = (struct lg_hev){stack, LG_HIST_NEW, refcnt};
        r->n = 1;
    }
}

/* r into the map, for an object in a block without a header; errno
 * unchanged (a growing shard keeps it). */
static __attribute__((noinline)) void put_in_map(struct lg_shard *s, struct shard_free *f,
                                                 void *obj, struct lg_obj *r)
{
    uint64_t old = 0;
    int put = lg_map_put_old(s, (uintptr_t)obj, (uintptr_t)r, &old);
    if (put > 0)                        /* it replaced a record: missed its dealloc */
        rec_free(f, (struct lg_obj *)(uintptr_t)old);
    else if (put < 0)
        atomic_store(&lg_lost_events, 1);
}

/* Out of line (the tracer tail-calls it), and so are its rarer paths: the
 * history, the map, a new record. errno is saved where it may change. */
__attribute__((noinline)) void lg_obj_new(const struct lg_rc_world *w, void *obj, void *block,
                                          int64_t refcnt)
{
    if (lg_in_lock) {
        atomic_store(&lg_lost_events, 1);
        return;
    }
    int was = lg_in_hook;
    lg_in_hook = 1;
    uint32_t stack = LG_NONE;
    if (!was && lg_cfg.history > 0) {
        int saved = errno;              /* the unwinder may set it */
        stack = lg_stack_capture_here(lg_cfg.depth);
        errno = saved;
    }
    struct lg_shard *s = lg_map_shard(&lg_objects, (uintptr_t)obj);
    lg_in_lock = 1;
    bool locked = lg_shard_lock(s);
    struct shard_free *f = free_of(s);
    struct lg_obj *r = rec_alloc(f);
    if (r != NULL) {
        memset(r, 0, sizeof *r);
        r->block = (uintptr_t)block;
        r->obj = (uintptr_t)obj;
        r->world = (uint8_t)w->id;
        if (lg_cfg.history > 0)
            new_history(f, r, stack, refcnt);
        uint64_t *slot = header_slot(block);
        if (slot != NULL) {
            uint64_t old = *slot;
            *slot = (uintptr_t)r;
            if (old == 0)
                f->in_headers++;
            else                        /* it replaced a record: missed its dealloc */
                rec_free(f, (struct lg_obj *)(uintptr_t)old);
        } else
            put_in_map(s, f, obj, r);
    }
    lg_shard_unlock(s, locked);
    lg_in_lock = 0;
    lg_in_hook = was;
}

/* The function the first frame outside the runtime lies in: what pairs an
 * incref with its decref. Cached per stack id. */
static uintptr_t func_key(const struct lg_rc_world *w, uint32_t stack)
{
    if (stack == LG_NONE)
        return 0;
    struct lg_shard *s = lg_map_shard(&func_keys, (uintptr_t)stack + 1);
    uint64_t v;
    bool locked = lg_shard_lock(s);
    bool hit = lg_map_get(s, (uintptr_t)stack + 1, &v);
    lg_shard_unlock(s, locked);
    if (hit)
        return (uintptr_t)v;
    uint32_t depth;
    const uintptr_t *f = lg_stack_frames(stack, &depth);
    uintptr_t key = 0;
    for (uint32_t i = 0; f && i < depth; i++) {
        if (w->is_runtime_ip(f[i]))
            continue;
        unw_proc_info_t pi;
        /* a return address: look up the call instruction before it */
        lg_fork_gate_enter();
        int found = unw_get_proc_info_by_ip(unw_local_addr_space, f[i] - 1, &pi, NULL);
        lg_fork_gate_leave();
        key = found == 0 ? pi.start_ip : f[i];
        break;
    }
    locked = lg_shard_lock(s);
    lg_map_put(s, (uintptr_t)stack + 1, key);
    lg_shard_unlock(s, locked);
    return key;
}

/* Drops matched pairs; returns how many events remain. Each decref pairs
 * with the latest earlier unpaired incref of the same function. */
static uint32_t drop_matched(const struct lg_rc_world *w, struct lg_obj *r)
{
    uint32_t n = r->n;
    uintptr_t keys[LG_HISTORY_MAX];
    bool gone[sizeof keys / sizeof keys[0]];
    if (n > sizeof keys / sizeof keys[0])
        n = sizeof keys / sizeof keys[0];
    for (uint32_t i = 0; i < n; i++) {
        keys[i] = r->ev[i].event == LG_HIST_NEW ? 0 : func_key(w, r->ev[i].stack);
        gone[i] = false;
    }
    bool any = false;
    for (uint32_t j = 0; j < n; j++) {
        if (r->ev[j].event != LG_HIST_DECREF)
            continue;
        for (uint32_t i = j; i-- > 0;) {
            if (!gone[i] && r->ev[i].event == LG_HIST_INCREF && keys[i] == keys[j]) {
                gone[i] = gone[j] = true;
                any = true;
                break;
            }
        }
    }
    if (!any) {                         /* keep the balance: oldest inc/dec pair */
        int inc = -1, dec = -1;
        for (uint32_t i = 0; i < n && (inc < 0 || dec < 0); i++) {
            if (r->ev[i].event == LG_HIST_INCREF && inc < 0)
                inc = (int)i;
            else if (r->ev[i].event == LG_HIST_DECREF && dec < 0)
                dec = (int)i;
        }
        if (inc >= 0 && dec >= 0)
            gone[inc] = gone[dec] = true;
        else
            gone[n > 1 ? 1 : 0] = true; /* only increfs (or decrefs): oldest goes */
        r->truncated = 1;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (i >= n || !gone[i])
            r->ev[k++] = r->ev[i];
    r->n = k;
    return k;
}

/* The stack of an incref/decref: LEAKGRAPH_HISTORY_DEPTH frames below the
 * shim (the runtime's own frames count), which is all the report needs of
 * it (the first frame outside the runtime, and a few more to show) and a
 * third of the unwinding of a full stack. When those frames are all the
 * runtime's, unwind again at full depth so the first frame outside it is
 * there. Inlined: no frame of its own to unwind. */
static inline __attribute__((always_inline)) uint32_t ref_stack(void)
{
    void *buf[LG_DEPTH_MAX];
    int depth = lg_cfg.depth, hd = lg_cfg.history_depth;
    if (depth <= 0)
        return LG_NONE;
    if (hd > 0 && hd < depth) {
        int n = lg_backtrace(buf, hd);
        uint32_t known = lg_stack_known(n);
        if (known != LG_NONE) {         /* found below before: not all the runtime's */
            lg_stack_of_backtrace(buf, n);
            return known;
        }
        if (n < hd)
            return lg_stack_of_backtrace(buf, n);   /* the whole stack */
        for (int i = 0; i < n; i++)
            if (!lg_ip_in_runtime((uintptr_t)buf[i]))
                return lg_stack_of_backtrace(buf, n);
    }
    return lg_stack_of_backtrace(buf, lg_backtrace(buf, depth));
}

void lg_obj_ref(void *obj, void *block, enum lg_obj_event ev, int64_t refcnt_after)
{
    if (lg_cfg.history == 0 || lg_in_hook || lg_in_lock)
        return;
    int saved = errno;
    lg_in_hook = 1;
    uint32_t stack = ref_stack();
    struct lg_shard *s = lg_map_shard(&lg_objects, (uintptr_t)obj);
    lg_in_lock = 1;
    bool locked = lg_shard_lock(s);
    /* The record in the block's header (records are never unmapped, and a
     * freed one has obj 0, so under the shard lock r->obj == obj means it
     * is this object's live record), else in the map. */
    uint64_t v, *slot = header_slot(block);
    struct lg_obj *r = slot != NULL ? (struct lg_obj *)(uintptr_t)*slot : NULL;
    if (r == NULL || r->obj != (uintptr_t)obj)
        r = lg_map_get(s, (uintptr_t)obj, &v) ? (struct lg_obj *)(uintptr_t)v : NULL;
    if (r != NULL) {
        uint32_t bound = (uint32_t)lg_cfg.history;
        if (r->n >= bound)
            drop_matched(lg_world_by_id(r->world), r);
        if (r->n >= r->cap && r->cap < bound) {   /* grow the event array */
            struct shard_free *f = free_of(s);
            uint32_t cap = r->cap ? r->cap * 2 : 4;
            struct lg_hev *nev = events_alloc(f, class_of(cap));
            if (nev != NULL) {
                memcpy(nev, r->ev, sizeof *nev * r->n);
                events_free(f, r->ev, r->cap);
                r->ev = nev;
                r->cap = cap;
            }
        }
        if (r->n < r->cap && r->n < bound)
            r->ev[r->n++] = (struct lg_hev){stack, (uint32_t)ev, refcnt_after};
        else
            r->truncated = 1;
    }
    lg_shard_unlock(s, locked);
    lg_in_lock = 0;
    lg_in_hook = 0;
    errno = saved;
}

/* obj's record out of the map, if it is there */
static __attribute__((noinline)) void del_from_map(struct lg_shard *s, void *obj)
{
    uint64_t v;
    if (lg_map_del(s, (uintptr_t)obj, &v))
        rec_free(free_of(s), (struct lg_obj *)(uintptr_t)v);
}

/* Out of line (the tracer tail-calls it); nothing here sets errno. */
__attribute__((noinline)) void lg_obj_dealloc(void *obj, void *block)
{
    if (lg_in_lock) {
        atomic_store(&lg_lost_events, 1);
        return;
    }
    struct lg_shard *s = lg_map_shard(&lg_objects, (uintptr_t)obj);
    lg_in_lock = 1;
    bool locked = lg_shard_lock(s);
    uint64_t *slot = header_slot(block);
    struct lg_obj *r = slot != NULL ? (struct lg_obj *)(uintptr_t)*slot : NULL;
    if (r != NULL && r->obj == (uintptr_t)obj) {
        *slot = 0;
        free_of(s)->in_headers--;
        rec_free(free_of(s), r);
    } else
        del_from_map(s, obj);
    lg_shard_unlock(s, locked);
    lg_in_lock = 0;
}

void lg_objects_fork_lock(void)
{
    lg_map_lock_all(&lg_objects);
}

void lg_objects_fork_unlock(void)
{
    lg_map_unlock_all(&lg_objects);
}

void lg_funckeys_fork_lock(void)
{
    lg_map_lock_all(&func_keys);
}

void lg_funckeys_fork_unlock(void)
{
    lg_map_unlock_all(&func_keys);
}
