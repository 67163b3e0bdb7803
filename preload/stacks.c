/* stacks.c - allocating stacks: captured with libunwind's unw_backtrace (its
 * per-thread cache of unwind info makes repeated stacks cheap), then
 * deduplicated into the stack table. Owns the table: a fixed array of
 * bucket heads read without a lock (nodes are immutable once published) and
 * an id -> node array; only insertion takes a lock. In front of it, a
 * per-thread cache from a stack's 64-bit hash to its id. The shim's own
 * frames (the hook that called us) are skipped by address. */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "fastunwind.h"
#include "lg_shim.h"

#define BUCKET_BITS 16
#define MAX_STACKS (1u << 24)           /* ids fit the 24 bits of a block's meta */

struct node {
    struct node *_Atomic next;
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    uint32_t epoch;                     /* module epoch it was recorded in */
    uintptr_t frames[];
};

#define ID_CHUNK 4096u                  /* by_id grows in chunks: no big reservation */
static struct node *_Atomic *buckets;
static struct node **by_id[MAX_STACKS / ID_CHUNK];
static atomic_uint n_ids;
static lg_lock insert_lock;
uintptr_t lg_self_start, lg_self_end;   /* the shim's executable segment */
static pthread_key_t tc_key;            /* releases a thread's cache (below) */
static int tc_key_ok;
static void tc_release(void *arg);
static bool fast_unwind = true;         /* LEAKGRAPH_UNWIND=libunwind: off */
static bool check_unwind;               /* LEAKGRAPH_UNWIND=check: compare both */
static atomic_int check_said;
static int check_backtrace_inner(void **buf, int depth);

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t me = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (me >= s && me < e) {
            lg_self_start = s;
            lg_self_end = e;
            return 1;
        }
    }
    return 0;
}

void lg_stacks_init(void)
{
    if (buckets == NULL)
        buckets = lg_map_pages(sizeof(*buckets) << BUCKET_BITS);
    tc_key_ok = pthread_key_create(&tc_key, tc_release) == 0;
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&lg_stacks_init);
    /* per-thread caching measured fastest (docs/shim.md); the variable is
     * there to measure it again */
    const char *c = getenv("LEAKGRAPH_UNW_CACHE");
    unw_caching_policy_t policy = UNW_CACHE_PER_THREAD;
    if (c && strcmp(c, "none") == 0)
        policy = UNW_CACHE_NONE;
    else if (c && strcmp(c, "global") == 0)
        policy = UNW_CACHE_GLOBAL;
    unw_set_caching_policy(unw_local_addr_space, policy);
    const char *u = getenv("LEAKGRAPH_UNWIND");
    fast_unwind = !(u && strcmp(u, "libunwind") == 0);
    check_unwind = u && strcmp(u, "check") == 0;
    if (u && strcmp(u, "fast") != 0 && strcmp(u, "libunwind") != 0 && strcmp(u, "check") != 0)
        lg_say("LEAKGRAPH_UNWIND is not fast, libunwind or check; using fast", NULL, NULL,
               NULL);
}

/* Two independent lanes, so the multiplies of neighbouring frames overlap. */
static uint64_t hash_frames(void *const *f, int n)
{
    uint64_t a = 0x84222325cbf29ce4ull ^ (uint64_t)n, b = 0x9E3779B97F4A7C15ull;
    int i = 0;
    for (; i + 1 < n; i += 2) {
        a = (a ^ (uintptr_t)f[i]) * 0x100000001b3ull;
        b = (b ^ (uintptr_t)f[i + 1]) * 0xff51afd7ed558ccdull;
    }
    if (i < n)
        a = (a ^ (uintptr_t)f[i]) * 0x100000001b3ull;
    uint64_t h = a ^ (b >> 31) ^ (b << 17);
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 32;
    return h | 1;                       /* 0 marks an empty cache entry */
}

/* ---- per-thread cache: hash -> stack id ----------------------------------
 * The shared table's buckets are a cache miss per lookup; a thread that
 * allocates from the same few hundred stacks finds them here. A 64-bit hash
 * match is taken as identity (a false match is a 2^-64 event). Caches of
 * exited threads are reused. */
#define TC_BITS 10

struct tcache {
    uint32_t epoch;                     /* module epoch the ids below are for */
    uint64_t hash[1u << TC_BITS];
    uint32_t id[1u << TC_BITS];
    struct tcache *next_free;
    struct lg_fu_cache rules;           /* fastunwind.c's cache */
};

static __thread struct tcache *tc;
static struct tcache *tc_free;
static lg_lock tc_lock;

static void tc_release(void *arg)
{
    struct tcache *c = arg;
    lg_lock_take(&tc_lock);
    c->next_free = tc_free;
    tc_free = c;
    lg_lock_drop(&tc_lock);
    tc = NULL;
}

static struct tcache *tc_get(void)
{
    if (!tc_key_ok)
        return NULL;
    lg_lock_take(&tc_lock);
    struct tcache *c = tc_free;
    if (c)
        tc_free = c->next_free;
    lg_lock_drop(&tc_lock);
    if (c != NULL) {
        /* An exited thread's cache: its stack ids (by module epoch) and
         * unwind rules (by generation) hold for any thread, its replay memo
         * (that thread's stack addresses and bounds) does not. */
        for (size_t i = 0; i < sizeof c->rules.memo / sizeof c->rules.memo[0]; i++)
            c->rules.memo[i].ip = 0;
    } else if ((c = lg_arena_alloc(sizeof *c)) == NULL)
        return NULL;                    /* the arena's pages come zeroed and are
                                           touched only as they are used */
    pthread_setspecific(tc_key, c);     /* may allocate: we are under the guard */
    return tc = c;
}

static uint32_t lookup(uint64_t h, void **frames, int depth, uint32_t now);

/* The unwinder's memo of the frames lg_backtrace last returned on this
 * thread (NULL: none), where lg_stack_of_backtrace keeps their stack id:
 * a replayed stack skips the hashing and the lookup too. */
static __thread struct lg_fu_memo *bt_memo;

/* Leaves out the shim's frames, keeps at most depth of the rest. */
static int program_frames(void **buf, int depth, void *const *all, int n)
{
    int k = 0;
    for (int i = 0; i < n && k < depth; i++)
        if (!lg_ip_is_own((uintptr_t)all[i]))
            buf[k++] = all[i];
    return k;
}

/* The program's frames from libunwind (its own frame and the shim's are
 * left out), with fork held off while it runs (phdr.c). */
static int slow_backtrace(void **buf, int depth)
{
    void *tmp[LG_DEPTH_MAX + LG_EXTRA_FRAMES];
    lg_fork_gate_enter();
    int n = unw_backtrace(tmp, depth + LG_EXTRA_FRAMES);
    lg_fork_gate_leave();
    return program_frames(buf, depth, tmp, n);
}

/* The program's frames from the fast unwinder, or from libunwind when the
 * fast one cannot (both leave out the shim's frames, so a stack gets the
 * same frames either way). Needs its own frame pointer (the shim is built
 * with -fno-omit-frame-pointer). */
__attribute__((noinline)) int lg_backtrace(void **buf, int depth)
{
    if (depth <= 0)
        return 0;
    if (depth > LG_DEPTH_MAX)
        depth = LG_DEPTH_MAX;
    if (LG_UNLIKELY(check_unwind))
        return check_backtrace_inner(buf, depth);
    struct tcache *c = !fast_unwind ? NULL : tc ? tc : tc_get();
    bt_memo = NULL;
    if (c != NULL) {
        int n = lg_fu_backtrace(buf, depth, &c->rules, __builtin_frame_address(0), &bt_memo);
        if (n >= 0)
            return n;
    }
    return slow_backtrace(buf, depth);
}

/* LEAKGRAPH_UNWIND=check: both unwinders on every stack; the first few
 * differences on stderr (a self-test of fastunwind.c on a real program). */
static void __attribute__((noinline)) check_one(void **fast, int nf, void *const *slow, int ns)
{
    if (nf < 0 || (nf == ns && memcmp(fast, slow, sizeof *fast * (size_t)nf) == 0))
        return;
    if (atomic_fetch_add(&check_said, 1) >= 5)
        return;
    char line[400];
    size_t k = 0;
    for (int i = 0; i < (nf > ns ? nf : ns) && k + 40 < sizeof line; i++) {
        uintptr_t a = i < nf ? (uintptr_t)fast[i] : 0, b = i < ns ? (uintptr_t)slow[i] : 0;
        for (int sh = 44; sh >= 0; sh -= 4)
            line[k++] = "0123456789abcdef"[(a >> sh) & 15];
        line[k++] = a == b ? '=' : '/';
        for (int sh = 44; sh >= 0; sh -= 4)
            line[k++] = "0123456789abcdef"[(b >> sh) & 15];
        line[k++] = ' ';
    }
    line[k] = 0;
    lg_say("fast unwinder differs (fast/libunwind): ", line, NULL, NULL);
}

__attribute__((noinline)) static int check_backtrace_inner(void **buf, int depth)
{
    struct tcache *c = tc ? tc : tc_get();
    void *slow[LG_DEPTH_MAX];
    int ns = slow_backtrace(slow, depth);
    struct lg_fu_memo *unused;
    if (c != NULL)
        check_one(buf, lg_fu_backtrace(buf, depth, &c->rules, __builtin_frame_address(0), &unused),
                  slow, ns);
    memcpy(buf, slow, sizeof *buf * (size_t)ns);
    return ns;
}

/* A node with these frames that still means the same code in epoch now:
 * recorded in it, or no module its frames lay in was unloaded since. */
static struct node *find(struct node *n, uint64_t h, void *const *f, int depth, uint32_t now)
{
    for (; n; n = atomic_load_explicit(&n->next, memory_order_acquire))
        if (n->hash == h && n->depth == (uint32_t)depth &&
            memcmp(n->frames, f, sizeof(uintptr_t) * (size_t)depth) == 0 &&
            (n->epoch == now || !lg_modules_unloaded_since(n->epoch, n->frames, n->depth)))
            return n;
    return NULL;
}

uint32_t lg_stack_capture_from(void **frames, int depth)
{
    if (buckets == NULL || depth < 0)
        return LG_NONE;
    uint64_t h = hash_frames(frames, depth);
    struct tcache *c = tc ? tc : tc_get();
    uint32_t now = lg_module_epoch();
    if (LG_UNLIKELY(c != NULL && c->epoch != now)) {
        memset(c->hash, 0, sizeof c->hash);   /* ids of an earlier epoch */
        c->epoch = now;
    }
    size_t ci = (size_t)(h >> (64 - TC_BITS));
    if (LG_LIKELY(c != NULL) && c->hash[ci] == h)
        return c->id[ci];
    uint32_t id = lookup(h, frames, depth, now);
    if (c != NULL && id != LG_NONE) {
        c->hash[ci] = h;
        c->id[ci] = id;
    }
    return id;
}

static uint32_t lookup(uint64_t h, void **frames, int depth, uint32_t now)
{
    struct node *_Atomic *b = &buckets[h >> (64 - BUCKET_BITS)];
    struct node *n = find(atomic_load_explicit(b, memory_order_acquire), h, frames, depth, now);
    if (LG_LIKELY(n != NULL))
        return n->id;
    lg_lock_take(&insert_lock);
    n = find(atomic_load_explicit(b, memory_order_acquire), h, frames, depth, now);
    uint32_t id = atomic_load(&n_ids);
    if (n == NULL && id < MAX_STACKS - 1 && by_id[id / ID_CHUNK] == NULL)
        by_id[id / ID_CHUNK] = lg_map_pages(sizeof(struct node *) * ID_CHUNK);
    if (n == NULL && id < MAX_STACKS - 1 && by_id[id / ID_CHUNK] != NULL) {
        n = lg_arena_alloc(sizeof *n + sizeof(uintptr_t) * (size_t)depth);
        if (n != NULL) {
            n->hash = h;
            n->depth = (uint32_t)depth;
            n->epoch = now;
            memcpy(n->frames, frames, sizeof(uintptr_t) * (size_t)depth);
            n->id = id;
            by_id[id / ID_CHUNK][id % ID_CHUNK] = n;
            atomic_store_explicit(&n->next, atomic_load(b), memory_order_relaxed);
            atomic_store_explicit(b, n, memory_order_release);
            atomic_store_explicit(&n_ids, n->id + 1, memory_order_release);
        }
    }
    lg_lock_drop(&insert_lock);
    return n ? n->id : LG_NONE;
}

uint32_t lg_stack_of_backtrace(void **buf, int n)
{
    struct lg_fu_memo *m = bt_memo;
    bt_memo = NULL;
    if (m == NULL || m->n != (unsigned)n)
        return lg_stack_capture_from(buf, n);
    if (m->id != UINT32_MAX)
        return m->id;
    return m->id = lg_stack_capture_from(buf, n);
}

uint32_t lg_stack_known(int n)
{
    struct lg_fu_memo *m = bt_memo;
    return m != NULL && m->n == (unsigned)n && m->id != UINT32_MAX ? m->id : LG_NONE;
}

uint32_t lg_stacks_count(void)
{
    return atomic_load_explicit(&n_ids, memory_order_acquire);
}

const uintptr_t *lg_stack_frames(uint32_t id, uint32_t *depth)
{
    struct node *n = id < lg_stacks_count() ? by_id[id / ID_CHUNK][id % ID_CHUNK] : NULL;
    if (n == NULL) {
        *depth = 0;
        return NULL;
    }
    *depth = n->depth;
    return n->frames;
}

uint32_t lg_stack_epoch(uint32_t id)
{
    struct node *n = id < lg_stacks_count() ? by_id[id / ID_CHUNK][id % ID_CHUNK] : NULL;
    return n != NULL ? n->epoch : 0;
}

void lg_stacks_lock(void)
{
    lg_lock_take(&insert_lock);
    lg_lock_take(&tc_lock);
}

void lg_stacks_unlock(void)
{
    lg_lock_drop(&tc_lock);
    lg_lock_drop(&insert_lock);
}
