/* blockbits.c - the address bitmap of headered blocks (blockbits.h): one
 * bit per 16-byte granule, a leaf of 8 MiB per GiB of address space mapped
 * on first use. Owns the leaves and the range of leaf indices in use; the
 * hooks (hooks.c) set and clear bits inline, the snapshot (snapshot.c)
 * counts and collects them here, in address order, with each block's meta
 * word read from its header. Leaves are the shim's own pages (never a
 * root) and are never unmapped: a free after the exit snapshot, or in a
 * forked child, still finds its bit. */
#include <errno.h>

#include "blockbits.h"
#include "snapshot.h"

_Atomic(uint64_t *) lg_bb_top[LG_BB_LEAVES];
static atomic_uint leaf_lo = LG_BB_LEAVES, leaf_hi;   /* leaves in use: [lo, hi] */

#define LEAF_PAGES (LG_BB_LEAF_WORDS / 512)   /* bitmap pages of a leaf */
#define LEAF_BYTES ((LG_BB_LEAF_WORDS + LEAF_PAGES / 64) * sizeof(uint64_t))

uint64_t *lg_bb_leaf_make(uintptr_t a)
{
    if (a >> LG_BB_ADDR_BITS)
        return NULL;
    unsigned i = (unsigned)(a >> LG_BB_LEAF_SHIFT);
    uint64_t *leaf = atomic_load_explicit(&lg_bb_top[i], memory_order_acquire);
    if (leaf != NULL)
        return leaf;
    int saved = errno;
    uint64_t *fresh = lg_map_pages(LEAF_BYTES);   /* zeroed, untouched until used */
    errno = saved;
    if (fresh == NULL)
        return NULL;
    if (!atomic_compare_exchange_strong(&lg_bb_top[i], &leaf, fresh)) {
        lg_unmap_pages(fresh, LEAF_BYTES);        /* another thread's came first */
        errno = saved;
        return leaf;
    }
    unsigned lo = atomic_load(&leaf_lo), hi = atomic_load(&leaf_hi);
    while (i < lo && !atomic_compare_exchange_weak(&leaf_lo, &lo, i))
        ;
    while (i > hi && !atomic_compare_exchange_weak(&leaf_hi, &hi, i))
        ;
    return fresh;
}

/* The first bitmap page of leaf from page pg on that was ever written
 * (lg_bb_note_page), or LEAF_PAGES: the snapshot reads no other. */
static size_t next_page(const uint64_t *leaf, size_t pg)
{
    const uint64_t *pages = leaf + LG_BB_LEAF_WORDS;
    while (pg < LEAF_PAGES) {
        uint64_t m = pages[pg / 64] >> (pg % 64);
        if (m != 0)
            return pg + (size_t)__builtin_ctzll(m);
        pg = (pg / 64 + 1) * 64;
    }
    return LEAF_PAGES;
}

size_t lg_bb_count(void)
{
    size_t n = 0;
    unsigned hi = atomic_load(&leaf_hi);
    for (unsigned i = atomic_load(&leaf_lo); i <= hi && i < LG_BB_LEAVES; i++) {
        const uint64_t *leaf = atomic_load(&lg_bb_top[i]);
        if (leaf == NULL)
            continue;
        for (size_t pg = next_page(leaf, 0); pg < LEAF_PAGES; pg = next_page(leaf, pg + 1))
            for (size_t k = pg * 512; k < pg * 512 + 512; k++)
                n += (size_t)__builtin_popcountll(leaf[k]);
    }
    return n;
}

size_t lg_bb_collect(struct lg_bpair *out, size_t max)
{
    size_t n = 0;
    unsigned hi = atomic_load(&leaf_hi);
    for (unsigned i = atomic_load(&leaf_lo); i <= hi && i < LG_BB_LEAVES; i++) {
        const uint64_t *leaf = atomic_load(&lg_bb_top[i]);
        uintptr_t base = (uintptr_t)i << LG_BB_LEAF_SHIFT;
        if (leaf == NULL)
            continue;
        for (size_t pg = next_page(leaf, 0); pg < LEAF_PAGES; pg = next_page(leaf, pg + 1)) {
            for (size_t k = pg * 512; k < pg * 512 + 512; k++) {
                for (uint64_t w = leaf[k]; w != 0 && n < max; w &= w - 1) {
                    uintptr_t a = base + (k << 10) + ((uintptr_t)__builtin_ctzll(w) << 4);
                    out[n++] = (struct lg_bpair){a, *lg_hdr_meta((void *)a)};
                }
            }
        }
    }
    return n;
}
