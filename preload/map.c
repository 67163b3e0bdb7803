/* map.c - the sharded open-addressing map from an address to a 64-bit value
 * that holds the live blocks and the live objects. A key hashes to one of
 * LG_SHARDS shards, each with its own lock, so threads rarely meet; inside a
 * shard, linear probing with backward-shift deletion (no tombstones), slots
 * picked by multiply-shift (any capacity, not only powers of two). Slots
 * are 16 bytes and a shard grows by half at 55% load, so a live entry costs
 * 29 to 44 bytes (at 70% the page-local slots made runs long enough that a
 * free cost half again as much). Shard arrays are the shim's own pages (arena.c). */
#include <errno.h>
#include <string.h>

#include "lg_shim.h"
#include "map_inline.h"

#define MIN_CAP 256u                    /* 4 KiB: one page */

int lg_map_grow(struct lg_shard *s)
{
    size_t old_cap = s->cap;
    size_t cap = old_cap ? (old_cap + old_cap / 2 + 255) & ~(size_t)255 : MIN_CAP;
    int saved = errno;                  /* hooks rely on errno staying put */
    struct lg_map_slot *n = lg_map_pages_filled(cap * sizeof *n);
    errno = saved;
    if (n == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < old_cap; i++) {
        uintptr_t k = s->slots[i].key;
        if (k == 0)
            continue;
        size_t j = lg_map_slot_of(k, cap);
        while (n[j].key != 0)
            j = lg_map_step(j, cap);
        n[j] = s->slots[i];
    }
    struct lg_map_slot *old = s->slots;
    s->slots = n;                       /* a reader (fatal snapshot) never sees */
    s->cap = cap;                       /* an unmapped array */
    if (old)
        lg_unmap_pages(old, old_cap * sizeof *n);
    return 0;
}

int lg_map_put(struct lg_shard *s, uintptr_t key, uint64_t val)
{
    return lg_map_put_inline(s, key, val);
}

int lg_map_put_old(struct lg_shard *s, uintptr_t key, uint64_t val, uint64_t *old)
{
    return lg_map_put_old_inline(s, key, val, old);
}

bool lg_map_get(struct lg_shard *s, uintptr_t key, uint64_t *val)
{
    if (s->slots == NULL)
        return false;
    size_t cap = s->cap;
    for (size_t j = lg_map_slot_of(key, cap);; j = lg_map_step(j, cap)) {
        if (s->slots[j].key == key) {
            *val = s->slots[j].val;
            return true;
        }
        if (s->slots[j].key == 0)
            return false;
    }
}

bool lg_map_del(struct lg_shard *s, uintptr_t key, uint64_t *val)
{
    return lg_map_del_inline(s, key, val);
}

void lg_map_lock_all(struct lg_map *m)
{
    for (int i = 0; i < LG_SHARDS; i++)
        lg_lock_take(&m->shards[i].lock);
}

/* The fatal-signal path: a lock held by a thread that will never release
 * it (this one, interrupted) must not hang the process; give up after a
 * while and mark the shard in *taken. */
void lg_map_try_lock_all(struct lg_map *m, bool *taken)
{
    for (int i = 0; i < LG_SHARDS; i++) {
        taken[i] = false;
        for (long spin = 0; spin < 2000000 && !taken[i]; spin++) {
            if (!atomic_exchange_explicit(&m->shards[i].lock.v, 1, memory_order_acquire))
                taken[i] = true;
            else
                __builtin_ia32_pause();
        }
    }
}

void lg_map_unlock_taken(struct lg_map *m, const bool *taken)
{
    for (int i = 0; i < LG_SHARDS; i++)
        if (taken[i])
            lg_lock_drop(&m->shards[i].lock);
}

void lg_map_unlock_all(struct lg_map *m)
{
    for (int i = LG_SHARDS - 1; i >= 0; i--)
        lg_lock_drop(&m->shards[i].lock);
}

size_t lg_map_count(struct lg_map *m)
{
    size_t n = 0;
    for (int i = 0; i < LG_SHARDS; i++)
        n += m->shards[i].count;
    return n;
}

void lg_map_release(struct lg_shard *s)
{
    if (s->slots)
        lg_unmap_pages(s->slots, s->cap * sizeof *s->slots);
    s->slots = NULL;
    s->cap = 0;
    s->count = 0;
}
