/* blockbits.c - the address byte map of headered blocks (blockbits.h): one
 * byte per 32 bytes, a leaf of 32 MiB per GiB of address space
 * mapped on first use. Owns the leaves and the range of leaf indices in
 * use; the hooks (hooks.c) set and clear bytes inline, the snapshot
 * (snapshot.c) counts and collects them here, in address order, with each
 * block's meta word read from its header. Leaves are the shim's own pages
 * (never a root) and are never unmapped: a free after the exit snapshot,
 * or in a forked child, still finds its byte. */
#include <errno.h>

#include "blockbits.h"
#include "snapshot.h"

_Atomic(uint8_t *) lg_bb_top[LG_BB_LEAVES];
static atomic_uint leaf_lo = LG_BB_LEAVES, leaf_hi;   /* leaves in use: [lo, hi] */

#define LEAF_PAGES (LG_BB_LEAF_BYTES / 4096)   /* map pages of a leaf */
#define LEAF_SIZE (LG_BB_LEAF_BYTES + LEAF_PAGES / 8)

uint8_t *lg_bb_leaf_make(uintptr_t a)
{
    if (a >> LG_BB_ADDR_BITS)
        return NULL;
    unsigned i = (unsigned)(a >> LG_BB_LEAF_SHIFT);
    uint8_t *leaf = atomic_load_explicit(&lg_bb_top[i], memory_order_acquire);
    if (leaf != NULL)
        return leaf;
    int saved = errno;
    uint8_t *fresh = lg_map_pages(LEAF_SIZE);     /* zeroed, untouched until used */
    errno = saved;
    if (fresh == NULL)
        return NULL;
    if (!atomic_compare_exchange_strong(&lg_bb_top[i], &leaf, fresh)) {
        lg_unmap_pages(fresh, LEAF_SIZE);         /* another thread's came first */
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

/* The first map page of leaf from page pg on that was ever written
 * (lg_bb_note_page), or LEAF_PAGES: the snapshot reads no other. */
static size_t next_page(const uint8_t *leaf, size_t pg)
{
    const uint64_t *pages = (const uint64_t *)(leaf + LG_BB_LEAF_BYTES);
    while (pg < LEAF_PAGES) {
        uint64_t m = pages[pg / 64] >> (pg % 64);
        if (m != 0)
            return pg + (size_t)__builtin_ctzll(m);
        pg = (pg / 64 + 1) * 64;
    }
    return LEAF_PAGES;
}

/* Map page pg of leaf as 512 words of 8 bytes (256 bytes of address
 * space each). */
static const uint64_t *page_words(const uint8_t *leaf, size_t pg)
{
    return (const uint64_t *)(leaf + pg * 4096);
}

/* Bit 8i of the result is set when byte i of w marks a block (1 or 2). */
static uint64_t marked_bytes(uint64_t w)
{
    return (w | w >> 1) & 0x0101010101010101ull;
}

size_t lg_bb_count(void)
{
    size_t n = 0;
    unsigned hi = atomic_load(&leaf_hi);
    for (unsigned i = atomic_load(&leaf_lo); i <= hi && i < LG_BB_LEAVES; i++) {
        const uint8_t *leaf = atomic_load(&lg_bb_top[i]);
        if (leaf == NULL)
            continue;
        for (size_t pg = next_page(leaf, 0); pg < LEAF_PAGES; pg = next_page(leaf, pg + 1)) {
            const uint64_t *words = page_words(leaf, pg);
            for (size_t k = 0; k < 512; k++)
                n += (size_t)__builtin_popcountll(marked_bytes(words[k]));
        }
    }
    return n;
}

size_t lg_bb_collect(struct lg_bpair *out, size_t max)
{
    size_t n = 0;
    unsigned hi = atomic_load(&leaf_hi);
    for (unsigned i = atomic_load(&leaf_lo); i <= hi && i < LG_BB_LEAVES; i++) {
        const uint8_t *leaf = atomic_load(&lg_bb_top[i]);
        uintptr_t base = (uintptr_t)i << LG_BB_LEAF_SHIFT;
        if (leaf == NULL)
            continue;
        for (size_t pg = next_page(leaf, 0); pg < LEAF_PAGES; pg = next_page(leaf, pg + 1)) {
            const uint64_t *words = page_words(leaf, pg);
            for (size_t k = 0; k < 512; k++) {
                for (uint64_t m = marked_bytes(words[k]); m != 0 && n < max; m &= m - 1) {
                    unsigned bit = (unsigned)__builtin_ctzll(m);
                    size_t byte = pg * 4096 + k * 8 + bit / 8;
                    unsigned half = (unsigned)(words[k] >> bit & 3) - 1;
                    uintptr_t a = base + (byte << LG_BB_GRANULE_SHIFT) + (half << 4);
                    out[n++] = (struct lg_bpair){a, *lg_hdr_meta((void *)a)};
                }
            }
        }
    }
    return n;
}
