/* stacks.c - allocating stacks: captured with libunwind's unw_backtrace (its
 * per-thread cache of unwind info makes repeated stacks cheap), then
 * deduplicated into the stack table. Owns the table: a fixed array of
 * bucket heads read without a lock (nodes are immutable once published) and
 * an id -> node array; only insertion takes a lock. The shim's own frames
 * (the hook that called us) are skipped by address. */
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "lg_shim.h"

#define BUCKET_BITS 16
#define MAX_STACKS (1u << 24)           /* ids fit the 24 bits of a block's meta */
#define EXTRA_FRAMES 6                  /* room for the shim's own frames */

struct node {
    struct node *_Atomic next;
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    uintptr_t frames[];
};

#define ID_CHUNK 4096u                  /* by_id grows in chunks: no big reservation */
static struct node *_Atomic *buckets;
static struct node **by_id[MAX_STACKS / ID_CHUNK];
static atomic_uint n_ids;
static lg_lock insert_lock;
static uintptr_t self_start, self_end;  /* the shim's executable segment */

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t me = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (me >= s && me < e) {
            self_start = s;
            self_end = e;
            return 1;
        }
    }
    return 0;
}

void lg_stacks_init(void)
{
    if (buckets == NULL)
        buckets = lg_map_pages(sizeof(*buckets) << BUCKET_BITS);
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&lg_stacks_init);
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

bool lg_ip_is_own(uintptr_t ip)
{
    return ip >= self_start && ip < self_end;
}

static uint64_t hash_frames(void *const *f, int n)
{
    uint64_t h = 0x84222325cbf29ce4ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= (uintptr_t)f[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

static struct node *find(struct node *n, uint64_t h, void *const *f, int depth)
{
    for (; n; n = atomic_load_explicit(&n->next, memory_order_acquire))
        if (n->hash == h && n->depth == (uint32_t)depth &&
            memcmp(n->frames, f, sizeof(uintptr_t) * (size_t)depth) == 0)
            return n;
    return NULL;
}

uint32_t lg_stack_capture_from(void **frames, int depth)
{
    if (buckets == NULL || depth < 0)
        return LG_NONE;
    uint64_t h = hash_frames(frames, depth);
    struct node *_Atomic *b = &buckets[h >> (64 - BUCKET_BITS)];
    struct node *n = find(atomic_load_explicit(b, memory_order_acquire), h, frames, depth);
    if (LG_LIKELY(n != NULL))
        return n->id;
    lg_lock_take(&insert_lock);
    n = find(atomic_load_explicit(b, memory_order_acquire), h, frames, depth);
    uint32_t id = atomic_load(&n_ids);
    if (n == NULL && id < MAX_STACKS - 1 && by_id[id / ID_CHUNK] == NULL)
        by_id[id / ID_CHUNK] = lg_map_pages(sizeof(struct node *) * ID_CHUNK);
    if (n == NULL && id < MAX_STACKS - 1 && by_id[id / ID_CHUNK] != NULL) {
        n = lg_arena_alloc(sizeof *n + sizeof(uintptr_t) * (size_t)depth);
        if (n != NULL) {
            n->hash = h;
            n->depth = (uint32_t)depth;
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

uint32_t lg_stack_capture(void)
{
    int depth = lg_cfg.depth;
    if (depth <= 0)
        return LG_NONE;
    void *buf[LG_DEPTH_MAX + EXTRA_FRAMES];
    int n = unw_backtrace(buf, depth + EXTRA_FRAMES);
    int skip = 0;
    while (skip < n && lg_ip_is_own((uintptr_t)buf[skip]))
        skip++;
    /* the shim's interposers (rc_incref ...) may sit deeper: drop them too */
    int k = skip;
    for (int i = skip; i < n; i++)
        if (!lg_ip_is_own((uintptr_t)buf[i]))
            buf[k++] = buf[i];
    n = k - skip;
    if (n > depth)
        n = depth;
    return lg_stack_capture_from(buf + skip, n);
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

void lg_stacks_lock(void)
{
    lg_lock_take(&insert_lock);
}

void lg_stacks_unlock(void)
{
    lg_lock_drop(&insert_lock);
}
