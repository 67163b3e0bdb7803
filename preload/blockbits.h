/* blockbits.h - headered blocks: the small blocks whose metadata sits in
 * a 16-byte header in front of them, and the address bitmap that says
 * where they start (blockbits.c owns it). The allocator hooks give a
 * program asking for fewer than LG_HDR_MAX bytes the real allocation's
 * pointer + 16; the header holds the block's lg_meta word and a spare word.
 * One bit per 16-byte granule of the address space marks "a headered
 * block of the shim starts here": free() tests it to tell such a block
 * from one in lg_blocks (large and aligned blocks) and from one the shim
 * never saw. Two levels: a static top array of leaves, each leaf the
 * bitmap of 1 GiB of address space (8 MiB of the shim's own pages, mapped
 * on first use with a compare-and-swap, never unmapped, so a free after
 * the exit snapshot still finds its bit), followed by one bit per 4 KiB
 * page of the bitmap that was ever written, so a snapshot reads only those.
 *
 * Locking follows the block map's (docs/shim.md, "Tables and threads"):
 * a bit changes under the lg_blocks shard lock of the block's address
 * while the process is threaded, so a snapshot, which holds every shard
 * lock, sees a frozen set. The 64 bits of one word cover 1 KiB of address
 * space, inside one 4 KiB page, and a page's addresses share a shard, so
 * one lock covers each word, and a bit changes with one unlocked
 * instruction (a locked one cost 25 ms on 5M malloc/free pairs). A signal
 * handler that interrupted a hook holding a shard lock changes a bit only
 * where it may (hooks.c, enter_word). */
#ifndef LG_BLOCKBITS_H
#define LG_BLOCKBITS_H

#include "lg_shim.h"

#define LG_HDR_SIZE 16u                 /* keeps the program's pointer 16-aligned */
#define LG_HDR_MAX (32u << 10)          /* sizes below this get a header (never an
                                           mmap'd chunk at glibc's default threshold) */
#define LG_BB_ADDR_BITS 47              /* user addresses with 4-level paging */
#define LG_BB_LEAF_SHIFT 30             /* a leaf covers 1 GiB */
#define LG_BB_LEAVES (1u << (LG_BB_ADDR_BITS - LG_BB_LEAF_SHIFT))
#define LG_BB_LEAF_WORDS ((size_t)1 << (LG_BB_LEAF_SHIFT - 10))   /* a word: 1 KiB */

extern _Atomic(uint64_t *) lg_bb_top[LG_BB_LEAVES];

uint64_t *lg_bb_leaf_make(uintptr_t a); /* blockbits.c: the leaf of a, mapped if
                                           need be; NULL if out of memory. Keeps errno */
size_t lg_bb_count(void);               /* headered blocks; every shard lock held */
struct lg_bpair;
size_t lg_bb_collect(struct lg_bpair *out, size_t max); /* address order, meta
                                           from each header; every shard lock held */

/* The bitmap word holding a's bit, or NULL when its leaf does not exist. */
static inline uint64_t *lg_bb_word(uintptr_t a)
{
    if (a >> LG_BB_ADDR_BITS)
        return NULL;
    uint64_t *leaf = atomic_load_explicit(&lg_bb_top[a >> LG_BB_LEAF_SHIFT], memory_order_acquire);
    if (leaf == NULL)
        return NULL;
    return leaf + ((a >> 10) & (LG_BB_LEAF_WORDS - 1));
}

static inline uint64_t lg_bb_bit(uintptr_t a)
{
    return (uint64_t)1 << ((a >> 4) & 63);
}

/* The bitmap word of p's bit when p is a headered block of the shim's (the
 * block as the program sees it), else NULL. */
static inline uint64_t *lg_bb_headered_word(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a & 15)
        return NULL;
    uint64_t *w = lg_bb_word(a);
    return w != NULL && (__atomic_load_n(w, __ATOMIC_RELAXED) & lg_bb_bit(a)) != 0 ? w : NULL;
}

static inline bool lg_bb_has(const void *p)
{
    return lg_bb_headered_word(p) != NULL;
}

/* Notes that the bitmap page of word w (a's) holds bits: the page bits
 * follow the leaf's words. Set once per page, never cleared; locked, as
 * one word of them spans 64 pages of many shards. */
static inline void lg_bb_note_page(uint64_t *w, uintptr_t a)
{
    size_t k = (a >> 10) & (LG_BB_LEAF_WORDS - 1);   /* w's index in its leaf */
    uint64_t *pages = w - k + LG_BB_LEAF_WORDS + (k >> 15);
    uint64_t bit = (uint64_t)1 << ((k >> 9) & 63);    /* 512 words a page */
    if (!(__atomic_load_n(pages, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(pages, bit, __ATOMIC_RELAXED);
}

/* One instruction each, never split by a signal handler on this thread.
 * Not locked: the caller owns the word (its shard's lock, or a process
 * with one thread). */
static inline void lg_bb_or(uint64_t *w, uint64_t bit)
{
    __asm__ volatile("orq %1, %0" : "+m"(*w) : "r"(bit));
}

static inline void lg_bb_andnot(uint64_t *w, uint64_t bit)
{
    __asm__ volatile("andq %1, %0" : "+m"(*w) : "r"(~bit));
}

/* What a headered block of size bytes asks the real allocator for. At
 * least 25 bytes: glibc's smallest chunk (24 usable bytes) would put the
 * block right where the next chunk's header starts, and glibc's own
 * pointers to that chunk (the top chunk, a bin) would look like pointers
 * to the block. From 25 bytes on, the next chunk starts at least 16 bytes
 * in, where find_block's filter (snapshot.c, is_next_chunk) knows it. */
static inline size_t lg_hdr_real_size(size_t size)
{
    return (size < 9 ? 9 : size) + LG_HDR_SIZE;
}

/* The meta word in the header of headered block p. */
static inline uint64_t *lg_hdr_meta(void *p)
{
    return (uint64_t *)((char *)p - LG_HDR_SIZE);
}

/* Where the real allocator's block of a live block starts: 16 bytes before
 * a headered block. Every reader of glibc's chunk header goes through here. */
static inline uintptr_t lg_real_block(uintptr_t a)
{
    return lg_bb_has((const void *)a) ? a - LG_HDR_SIZE : a;
}

#endif /* LG_BLOCKBITS_H */
