/* map_inline.h - the hot paths of the block map (map.c), inlined into the
 * allocator hooks: a call and a prologue fewer per malloc and per free
 * (about a tenth of the shim's instructions with stacks off). map.c keeps
 * the growth and exports the same functions for everyone else. */
#ifndef LG_MAP_INLINE_H
#define LG_MAP_INLINE_H

#include "lg_shim.h"

int lg_map_grow(struct lg_shard *s);    /* map.c: 0 or -ENOMEM */

static inline size_t lg_map_slot_of(uintptr_t key, size_t cap)
{
    size_t base = (size_t)(((unsigned __int128)(lg_hash_addr(key) << 7) * cap) >> 64);
    size_t j = base + ((key >> 4) & 255);
    return j < cap ? j : j - cap;       /* cap >= 256 */
}

static inline size_t lg_map_step(size_t j, size_t cap)
{
    return j + 1 == cap ? 0 : j + 1;
}

/* grows at 55% load: see map.c. 0: inserted; 1: key was there, its value
 * (in *old unless NULL) replaced; -ENOMEM. */
static inline __attribute__((always_inline)) int lg_map_put_old_inline(struct lg_shard *s,
                                                                       uintptr_t key, uint64_t val,
                                                                       uint64_t *old)
{
    if (LG_UNLIKELY(s->slots == NULL || (s->count + 1) * 20 > s->cap * 11)) {
        int err = lg_map_grow(s);
        if (err < 0)
            return err;
    }
    size_t cap = s->cap;
    struct lg_map_slot *sl = s->slots;
    for (size_t j = lg_map_slot_of(key, cap);; j = lg_map_step(j, cap)) {
        if (sl[j].key == 0) {
            sl[j].key = key;
            sl[j].val = val;
            s->count++;
            return 0;
        }
        if (sl[j].key == key) {         /* a block we missed the free of */
            if (old)
                *old = sl[j].val;
            sl[j].val = val;
            return 1;
        }
    }
}

static inline __attribute__((always_inline)) int lg_map_put_inline(struct lg_shard *s,
                                                                   uintptr_t key, uint64_t val)
{
    int r = lg_map_put_old_inline(s, key, val, NULL);
    return r < 0 ? r : 0;
}

static inline __attribute__((always_inline)) bool lg_map_del_inline(struct lg_shard *s,
                                                                    uintptr_t key, uint64_t *val)
{
    struct lg_map_slot *sl = s->slots;
    if (sl == NULL)
        return false;
    size_t cap = s->cap;
    size_t j = lg_map_slot_of(key, cap);
    for (;; j = lg_map_step(j, cap)) {
        if (sl[j].key == key)
            break;
        if (sl[j].key == 0)
            return false;
    }
    if (val)
        *val = sl[j].val;
    /* backward shift: pull later entries of the run into the hole */
    size_t hole = j;
    for (size_t k = lg_map_step(j, cap); sl[k].key != 0; k = lg_map_step(k, cap)) {
        size_t home = lg_map_slot_of(sl[k].key, cap);
        /* k may move to hole if its home is not in (hole, k] cyclically */
        bool stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
        if (!stays) {
            sl[hole] = sl[k];
            hole = k;
        }
    }
    sl[hole].key = 0;
    sl[hole].val = 0;
    s->count--;
    return true;
}

#endif /* LG_MAP_INLINE_H */
