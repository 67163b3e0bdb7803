/* hooks.c - the interposed allocator family: malloc calloc realloc
 * reallocarray free posix_memalign aligned_alloc memalign valloc pvalloc
 * malloc_usable_size. Each forwards to the next definition (dlsym RTLD_NEXT)
 * and records the live block with its allocating stack: a block of fewer
 * than LG_HDR_MAX bytes from malloc, calloc, realloc or reallocarray in a
 * 16-byte header in front of it, marked in the address byte map
 * (blockbits.h); any other in lg_blocks.
 * Owns the real function pointers and the boot arena that serves
 * allocations made while dlsym runs. Rules (STYLE.md): record after the real
 * call returns non-NULL, forget a block before the real free can hand its
 * address out again, errno and results unchanged, work done under the
 * per-thread guard allocates straight through, untracked. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "lg_shim.h"
#include "blockbits.h"
#include "gate.h"
#include "map_inline.h"

struct lg_map lg_blocks;
atomic_int lg_lost_events;
__thread int lg_in_hook;
/* set while this thread holds a shard lock: a free from a signal handler
 * or from code the snapshot runs must not take it again */
__thread int lg_in_lock;

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
} real;

/* ---- boot arena: serves allocations while dlsym runs -------------------- */

#define BOOT_SIZE (256u << 10)
static _Alignas(64) char boot[BOOT_SIZE];
static atomic_size_t boot_used;
static atomic_int resolving;

static bool boot_owns(const void *p)
{
    return (const char *)p >= boot && (const char *)p < boot + BOOT_SIZE;
}

static void *boot_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    size_t old = atomic_load(&boot_used), start, end;
    do {
        start = (old + 16 + align - 1) & ~(align - 1);   /* 16 for the size word */
        end = start + size;
        if (end > BOOT_SIZE || end < start) {
            errno = ENOMEM;
            return NULL;
        }
    } while (!atomic_compare_exchange_weak(&boot_used, &old, end));
    ((size_t *)(boot + start))[-1] = size;
    return boot + start;                /* static storage: already zero */
}

static size_t boot_size(const void *p)
{
    return ((const size_t *)p)[-1];
}

static void resolve(void)
{
    atomic_store(&resolving, 1);
    real.malloc = dlsym(RTLD_NEXT, "malloc");
    real.free = dlsym(RTLD_NEXT, "free");
    real.calloc = dlsym(RTLD_NEXT, "calloc");
    real.realloc = dlsym(RTLD_NEXT, "realloc");
    real.reallocarray = dlsym(RTLD_NEXT, "reallocarray");
    real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real.memalign = dlsym(RTLD_NEXT, "memalign");
    real.valloc = dlsym(RTLD_NEXT, "valloc");
    real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    real.malloc_usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
    atomic_store(&resolving, 0);
}

/* true while the real functions are not there yet; then use the boot arena */
static inline bool booting(void)
{
    if (LG_LIKELY(real.free != NULL))
        return false;
    if (atomic_load(&resolving))
        return true;
    resolve();
    return real.free == NULL;
}

/* ---- recording ----------------------------------------------------------- */

static inline bool recording(void)
{
    return atomic_load_explicit(&lg_state, memory_order_relaxed) == LG_READY;
}

/* Takes the lock of shard s for a change of the block map: true when the
 * caller must drop it (shard_leave). lg_in_lock is set first, so a signal
 * handler that interrupts the hook neither takes the lock again nor waits
 * at a shut gate (gate.h). */
static inline __attribute__((always_inline)) bool shard_enter(struct lg_shard *s)
{
    lg_in_lock = 1;
    atomic_signal_fence(memory_order_seq_cst);
    return lg_shard_lock(s);
}

static inline __attribute__((always_inline)) void shard_leave(struct lg_shard *s, bool locked)
{
    lg_shard_unlock(s, locked);
    atomic_signal_fence(memory_order_seq_cst);
    lg_in_lock = 0;
}

static inline __attribute__((always_inline)) void put_block(void *p, uint64_t meta)
{
    struct lg_shard *s = lg_map_shard(&lg_blocks, (uintptr_t)p);
    bool locked = shard_enter(s);
    int err = lg_map_put_inline(s, (uintptr_t)p, meta);
    shard_leave(s, locked);
    if (err < 0)
        atomic_store(&lg_lost_events, 1);
}

static inline __attribute__((always_inline)) bool take_block(void *p, uint64_t *meta)
{
    if (lg_in_lock)                     /* this thread holds a shard lock */
        return false;
    struct lg_shard *s = lg_map_shard(&lg_blocks, (uintptr_t)p);
    bool locked = shard_enter(s);
    bool had = lg_map_del_inline(s, (uintptr_t)p, meta);
    shard_leave(s, locked);
    return had;
}

static void after_hook(uintptr_t caller)
{
    if (LG_UNLIKELY(atomic_load_explicit(&lg_snapshot_pending, memory_order_relaxed)))
        lg_run_pending_snapshot(caller);
}

/* The allocating stack of the block a hook is recording, or LG_NONE with
 * stacks off; errno as it was. Inlined into the hook, like the capture. */
static inline __attribute__((always_inline)) uint32_t alloc_stack(void)
{
    if (lg_cfg.depth <= 0)
        return LG_NONE;
    int saved = errno;                  /* the unwinders may probe memory */
    uint32_t stack = lg_stack_capture_here(lg_cfg.depth);
    errno = saved;
    return stack;
}

/* Records block p of size bytes allocated by caller, the code that called
 * the hook (the capture is inlined here and this into the hook: the
 * unwinder leaves out the hook's frame, and realloc's helper's). */
static inline __attribute__((always_inline)) void record_alloc(void *p, size_t size,
                                                               uintptr_t caller)
{
    if (!recording() || lg_in_hook)
        return;
    lg_in_hook = 1;
    uint32_t stack = alloc_stack();
    put_block(p, lg_meta_make(size, stack));   /* keeps errno (map.c) */
    lg_in_hook = 0;
    after_hook(caller);
}

static inline void record_free(void *p)
{
    if (recording())
        take_block(p, NULL);            /* never touches errno */
}

/* ---- headered blocks (blockbits.h) ---------------------------------------- */

/* Writes q's header (meta) and marks q in the byte map, inside the gate
 * (gate.h), so a snapshot sees both or neither. False when q's leaf cannot
 * be mapped: the caller takes the block map's way. */
static inline __attribute__((always_inline)) bool mark_block(void *q, uint64_t meta)
{
    uintptr_t a = (uintptr_t)q;
    uint8_t *b = lg_bb_byte(a);
    if (LG_UNLIKELY(b == NULL)) {
        if (lg_bb_leaf_make(a) == NULL)
            return false;
        b = lg_bb_byte(a);
    }
    lg_bb_note_page(b, a);
    uint64_t *hdr = lg_hdr_meta(q);
    enum lg_gate_pass pass = lg_gate_enter();
    hdr[0] = meta;
    hdr[1] = 0;                         /* spare: objects.c's record */
    lg_bb_set(b, a);
    lg_gate_leave(pass);
    return true;
}

/* Unmarks the block whose map byte is b; before the real free can hand the
 * address out again. */
static inline __attribute__((always_inline)) void unmark_block(uint8_t *b)
{
    enum lg_gate_pass pass = lg_gate_enter();
    lg_bb_clear(b);
    lg_gate_leave(pass);
}

/* Makes real block c (size + LG_HDR_SIZE bytes) the headered block of size
 * bytes allocated by caller: stack, header, mark. NULL when the byte map's
 * leaf cannot be mapped; the caller frees c and takes the block map's way. */
static inline __attribute__((always_inline)) void *record_headered(char *c, size_t size,
                                                                   uintptr_t caller)
{
    void *q = c + LG_HDR_SIZE;
    lg_in_hook = 1;
    uint32_t stack = alloc_stack();
    bool marked = mark_block(q, lg_meta_make(size, stack));   /* keeps errno */
    lg_in_hook = 0;
    if (LG_UNLIKELY(!marked))
        return NULL;
    after_hook(caller);
    return q;
}

/* A new block goes in a header while the shim records and it is small. */
static inline bool wants_header(size_t size)
{
    return size < LG_HDR_MAX && lg_cfg.headers && recording() && !lg_in_hook;
}

/* ---- the family ---------------------------------------------------------- */

#define CALLER ((uintptr_t)__builtin_return_address(0))

LG_EXPORT void *malloc(size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, 16);
    if (LG_LIKELY(wants_header(size))) {
        char *c = real.malloc(lg_hdr_real_size(size));
        if (LG_UNLIKELY(c == NULL))
            return NULL;
        void *q = record_headered(c, size, CALLER);
        if (LG_LIKELY(q != NULL))
            return q;
        real.free(c);                   /* no map leaf: the block map's way */
    }
    void *p = real.malloc(size);
    if (LG_LIKELY(p != NULL))
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *calloc(size_t n, size_t size)
{
    if (LG_UNLIKELY(booting())) {
        size_t total;
        if (__builtin_mul_overflow(n, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        return boot_alloc(total, 16);
    }
    size_t total;
    if (!__builtin_mul_overflow(n, size, &total) && LG_LIKELY(wants_header(total))) {
        char *c = real.calloc(1, lg_hdr_real_size(total));
        if (LG_UNLIKELY(c == NULL))
            return NULL;
        void *q = record_headered(c, total, CALLER);
        if (LG_LIKELY(q != NULL))
            return q;
        real.free(c);
    }
    void *p = real.calloc(n, size);
    if (LG_LIKELY(p != NULL))
        record_alloc(p, n * size, CALLER);
    return p;
}

LG_EXPORT void free(void *p)
{
    if (p == NULL || boot_owns(p))      /* boot-arena blocks never reach libc */
        return;
    if (LG_UNLIKELY(booting()))
        return;                         /* cannot happen: p came from someone */
    uint8_t *b = lg_bb_headered_byte(p);
    if (b != NULL) {                    /* even when no longer recording */
        unmark_block(b);
        real.free((char *)p - LG_HDR_SIZE);
        return;
    }
    record_free(p);
    real.free(p);
}

/* Records plain block q of size bytes, from realloc: the caller's stack,
 * or, inside the shim, the stack of the block it replaces (old). Not from
 * a signal handler inside a hook that holds a shard lock: taking another
 * could deadlock, so q goes untracked. */
static void record_realloced(void *q, size_t size, uint64_t old, uintptr_t caller)
{
    if (!recording())
        return;
    if (lg_in_lock) {
        atomic_store(&lg_lost_events, 1);
        return;
    }
    if (!lg_in_hook)
        record_alloc(q, size, caller);
    else
        put_block(q, lg_meta_make(size, lg_meta_stack(old)));
}

/* realloc of headered block p (its map byte b) to total bytes. It stays
 * headered below LG_HDR_MAX (the header moves with the data: one real
 * realloc), and becomes a block of the map at or above it. */
static void *realloc_headered(void *p, uint8_t *b, size_t total, uintptr_t caller)
{
    char *c = (char *)p - LG_HDR_SIZE;
    uint64_t old = *lg_hdr_meta(p);
    if (total >= LG_HDR_MAX) {
        char *r = real.malloc(total);
        if (r == NULL)
            return NULL;                /* errno from malloc; p is still live */
        size_t have = real.malloc_usable_size(c) - LG_HDR_SIZE;
        memcpy(r, p, have < total ? have : total);
        unmark_block(b);
        real.free(c);
        record_realloced(r, total, old, caller);
        return r;
    }
    unmark_block(b);                    /* before realloc can hand c out again */
    char *r = real.realloc(c, total == 0 ? 0 : lg_hdr_real_size(total));
    if (r == NULL) {
        if (total != 0) {               /* failed: p is still live */
            int saved = errno;
            mark_block(p, old);         /* its leaf exists: cannot fail */
            errno = saved;
        }
        return NULL;                    /* glibc's realloc(p, 0) frees p */
    }
    if (total == 0) {                   /* an allocator that keeps a minimal block */
        record_realloced(r, 0, old, caller);
        return r;
    }
    void *q;
    if (recording() && !lg_in_hook) {
        q = record_headered(r, total, caller);
    } else {
        q = r + LG_HDR_SIZE;
        if (!mark_block(q, lg_meta_make(total, lg_meta_stack(old))))
            q = NULL;
    }
    if (LG_LIKELY(q != NULL))
        return q;
    memmove(r, r + LG_HDR_SIZE, total); /* no map leaf: a plain block */
    record_realloced(r, total, old, caller);
    return r;
}

static void *realloc_common(void *p, size_t n, size_t size, bool is_array, uintptr_t caller)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;                 /* what glibc's reallocarray says */
        return NULL;
    }
    if (LG_UNLIKELY(booting()))
        return boot_alloc(total, 16);   /* dlsym does not realloc; be safe */
    if (boot_owns(p)) {                 /* move a boot block into the real heap */
        void *q = malloc(total);
        if (q != NULL)
            memcpy(q, p, boot_size(p) < total ? boot_size(p) : total);
        return q;
    }
    if (p != NULL) {
        uint8_t *b = lg_bb_headered_byte(p);
        if (b != NULL)
            return realloc_headered(p, b, total, caller);
    } else if (wants_header(total)) {   /* realloc(NULL, n) is malloc(n) */
        char *c = real.malloc(lg_hdr_real_size(total));
        if (c == NULL)
            return NULL;
        void *q = record_headered(c, total, caller);
        if (q != NULL)
            return q;
        real.free(c);
    }
    uint64_t old = 0;
    bool had = p != NULL && recording() && take_block(p, &old);
    void *q = is_array ? real.reallocarray(p, n, size) : real.realloc(p, total);
    if (q == NULL) {
        if (had && (total != 0 || p == NULL)) {   /* failed: p is still live */
            int saved = errno;
            put_block(p, old);
            errno = saved;
        }
        return q;
    }
    if (recording()) {
        if (!lg_in_hook)
            record_alloc(q, total, caller);
        else if (had)
            put_block(q, lg_meta_make(total, lg_meta_stack(old)));
    }
    return q;
}

LG_EXPORT void *realloc(void *p, size_t size)
{
    return realloc_common(p, 1, size, false, CALLER);
}

LG_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    return realloc_common(p, n, size, true, CALLER);
}

LG_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (LG_UNLIKELY(booting())) {
        if (align < sizeof(void *) || (align & (align - 1)) != 0)
            return EINVAL;
        *out = boot_alloc(size, align);
        return *out ? 0 : ENOMEM;
    }
    int err = real.posix_memalign(out, align, size);
    if (err == 0)
        record_alloc(*out, size, CALLER);
    return err;
}

LG_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, align);
    void *p = real.aligned_alloc(align, size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *memalign(size_t align, size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, align);
    void *p = real.memalign(align, size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *valloc(size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, 4096);
    void *p = real.valloc(size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *pvalloc(size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc((size + 4095) & ~(size_t)4095, 4096);
    void *p = real.pvalloc(size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT size_t malloc_usable_size(void *p)
{
    if (p != NULL && boot_owns(p))
        return boot_size(p);
    if (LG_UNLIKELY(booting()))
        return 0;
    if (p != NULL && lg_bb_has(p))
        return real.malloc_usable_size((char *)p - LG_HDR_SIZE) - LG_HDR_SIZE;
    return real.malloc_usable_size(p);
}
