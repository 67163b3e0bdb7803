/* blockbits.h - headered blocks: the small blocks whose metadata sits in
 * a 16-byte header in front of them, and the address byte map that says
 * where they start (blockbits.c owns it). The allocator hooks give a
 * program asking for fewer than LG_HDR_MAX bytes the real allocation's
 * pointer + 16; the header holds the block's lg_meta word and a spare word.
 * A byte map of the address space marks where "a headered block of the
 * shim starts": free() tests it to tell such a block from one in lg_blocks
 * (large and aligned blocks) and from one the shim never saw. A byte
 * covers 32 bytes of address space, and says which 16-byte half the
 * block starts in (1 or 2): two headered blocks start at least 32 bytes
 * apart (each asks the real allocator for at least 25 bytes, at 16-byte
 * alignment). Two levels: a static top array of leaves, each leaf the map
 * of 1 GiB of address space (32 MiB of the shim's own address space,
 * mapped on first use with a compare-and-swap, touched only where blocks
 * are, never unmapped, so a free after the exit snapshot still finds its
 * byte), followed by one bit per 4 KiB page of the map that was ever
 * written, so a snapshot reads only those.
 *
 * A byte, not a bit: a byte is stored with one plain instruction that no
 * other thread's store to its neighbours can undo, so setting and clearing
 * take no lock and no locked instruction. (Bits needed the block shard's
 * lock: one exchange per malloc and per free, a third of the shim's cost
 * with stacks off.) The snapshot and fork see a still set through the gate
 * (gate.h): a hook changes a header and its byte only inside it. The map
 * costs 1/32 of the small blocks' address range (1/128 with bits). */
#ifndef LG_BLOCKBITS_H
#define LG_BLOCKBITS_H

#include "lg_shim.h"

#define LG_HDR_SIZE 16u                 /* keeps the program's pointer 16-aligned */
#define LG_HDR_MAX (32u << 10)          /* sizes below this get a header (never an
                                           mmap'd chunk at glibc's default threshold) */
#define LG_BB_ADDR_BITS 47              /* user addresses with 4-level paging */
#define LG_BB_LEAF_SHIFT 30             /* a leaf covers 1 GiB */
#define LG_BB_LEAVES (1u << (LG_BB_ADDR_BITS - LG_BB_LEAF_SHIFT))
#define LG_BB_GRANULE_SHIFT 5           /* a byte of the map: 32 bytes */
#define LG_BB_LEAF_BYTES ((size_t)1 << (LG_BB_LEAF_SHIFT - LG_BB_GRANULE_SHIFT))

extern _Atomic(uint8_t *) lg_bb_top[LG_BB_LEAVES];

uint8_t *lg_bb_leaf_make(uintptr_t a);  /* blockbits.c: the leaf of a, mapped if
                                           need be; NULL if out of memory. Keeps errno */
size_t lg_bb_count(void);               /* headered blocks; the gate closed */
struct lg_bpair;
size_t lg_bb_collect(struct lg_bpair *out, size_t max); /* address order, meta
                                           from each header; the gate closed */

/* The map byte of a, or NULL when its leaf does not exist. */
static inline uint8_t *lg_bb_byte(uintptr_t a)
{
    if (a >> LG_BB_ADDR_BITS)
        return NULL;
    uint8_t *leaf = atomic_load_explicit(&lg_bb_top[a >> LG_BB_LEAF_SHIFT], memory_order_acquire);
    if (leaf == NULL)
        return NULL;
    return leaf + ((a >> LG_BB_GRANULE_SHIFT) & (LG_BB_LEAF_BYTES - 1));
}

/* What a's byte holds when a headered block starts at a (16-aligned):
 * which half of its 32-byte granule. */
static inline uint8_t lg_bb_mark(uintptr_t a)
{
    return (uint8_t)(1 + ((a >> 4) & 1));
}

/* The map byte of p when p is a headered block of the shim's (the block as
 * the program sees it), else NULL. */
static inline uint8_t *lg_bb_headered_byte(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a & 15)
        return NULL;
    uint8_t *b = lg_bb_byte(a);
    return b != NULL && __atomic_load_n(b, __ATOMIC_RELAXED) == lg_bb_mark(a) ? b : NULL;
}

static inline bool lg_bb_has(const void *p)
{
    return lg_bb_headered_byte(p) != NULL;
}

/* Notes that the map page of byte b (a's) is in use: the page bits follow
 * the leaf's bytes. Set once per page, never cleared; locked, as one word
 * of them spans 64 pages that many threads write. */
static inline void lg_bb_note_page(uint8_t *b, uintptr_t a)
{
    size_t k = (a >> LG_BB_GRANULE_SHIFT) & (LG_BB_LEAF_BYTES - 1);   /* b's index */
    uint64_t *pages = (uint64_t *)(b - k + LG_BB_LEAF_BYTES) + (k >> 18);
    uint64_t bit = (uint64_t)1 << ((k >> 12) & 63);   /* 4096 bytes a page */
    if (!(__atomic_load_n(pages, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(pages, bit, __ATOMIC_RELAXED);
}

/* Marks and unmarks the start a of a block (b its byte): plain stores,
 * inside the gate. The release orders the header's stores before the mark
 * for a reader on another core. */
static inline void lg_bb_set(uint8_t *b, uintptr_t a)
{
    __atomic_store_n(b, lg_bb_mark(a), __ATOMIC_RELEASE);
}

static inline void lg_bb_clear(uint8_t *b)
{
    __atomic_store_n(b, 0, __ATOMIC_RELAXED);
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
