/* arena.c - the shim's own memory: page mappings it records as its own (so
 * the root scan never mistakes the shim's tables for the program's memory),
 * a bump arena for records that live as long as the process, and the slow
 * path of the spinlock. Owns the list of the shim's mappings. Never calls
 * malloc: everything here works from inside an allocator hook. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "lg_shim.h"

#define OWN_MAX 4096
#define ARENA_CHUNK (4u << 20)

static lg_lock own_lock;
static uintptr_t own[OWN_MAX][2];       /* start, end of each shim mapping */
static size_t own_n;

static lg_lock arena_lock;
static char *arena_cur, *arena_end;

void lg_lock_slow(lg_lock *l)
{
    unsigned spins = 0;
    for (;;) {
        while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
            if (++spins > 64)
                sched_yield();
            else
                __builtin_ia32_pause();
        }
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
    }
}

static void *map_pages(size_t size, int flags)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    lg_lock_take(&own_lock);
    if (own_n < OWN_MAX) {
        own[own_n][0] = (uintptr_t)p;
        own[own_n][1] = (uintptr_t)p + size;
        own_n++;
    }
    lg_lock_drop(&own_lock);
    return p;
}

void *lg_map_pages(size_t size)
{
    return map_pages(size, 0);
}

/* A page fault costs about as much as zeroing its page; a table the caller
 * fills at once (a grown block map, the snapshot's arrays) takes all its
 * pages in the one mmap call instead. */
void *lg_map_pages_filled(size_t size)
{
    return map_pages(size, size >= (64u << 10) ? MAP_POPULATE : 0);
}

void lg_unmap_pages(void *p, size_t size)
{
    lg_lock_take(&own_lock);
    for (size_t i = 0; i < own_n; i++) {
        if (own[i][0] == (uintptr_t)p) {
            own[i][0] = own[own_n - 1][0];
            own[i][1] = own[own_n - 1][1];
            own_n--;
            break;
        }
    }
    lg_lock_drop(&own_lock);
    munmap(p, size);
}

void *lg_arena_alloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    lg_lock_take(&arena_lock);
    if ((size_t)(arena_end - arena_cur) < size) {
        size_t chunk = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        char *c = lg_map_pages(chunk);
        if (c == NULL) {
            lg_lock_drop(&arena_lock);
            errno = ENOMEM;
            return NULL;
        }
        arena_cur = c;
        arena_end = c + chunk;
    }
    void *p = arena_cur;
    arena_cur += size;
    lg_lock_drop(&arena_lock);
    return p;
}

bool lg_is_own_range(uintptr_t start, uintptr_t end, uintptr_t *own_end)
{
    bool hit = false;
    lg_lock_take(&own_lock);
    for (size_t i = 0; i < own_n; i++) {
        if (own[i][0] < end && start < own[i][1]) {
            hit = true;
            if (own_end)
                *own_end = own[i][1];
            break;
        }
    }
    lg_lock_drop(&own_lock);
    return hit;
}

size_t lg_own_ranges(uintptr_t (*out)[2], size_t max)
{
    lg_lock_take(&own_lock);
    size_t n = own_n < max ? own_n : max;
    memcpy(out, own, n * sizeof own[0]);
    lg_lock_drop(&own_lock);
    return n;
}

/* fork: the child must not inherit a lock another thread held */
void lg_arena_fork_lock(void)
{
    lg_lock_take(&arena_lock);
    lg_lock_take(&own_lock);
}

void lg_arena_fork_unlock(void)
{
    lg_lock_drop(&own_lock);
    lg_lock_drop(&arena_lock);
}
