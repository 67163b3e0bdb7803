/* lg_pack.h - the packed sections of trace format version 2, defined once
 * for the writer (preload/writer.c) and the readers (cli/trace_read.c,
 * tests/preload/trace_dump.c). Owns the per-record field tables, the one
 * record encoder (lg_pack_record) and decoder (lg_unpack_section), and the
 * stack table's (lg_pack_frame, lg_unpack_stacks; see STACKS below).
 * docs/trace-format.md "Packed sections (version 2)" is the same in prose.
 *
 * A packed section (BLOCKS, OBJECTS, EDGES, REGIONS, ROOTS, HISTORY in a
 * version 2 file) holds the same records as in version 1, encoded as
 *
 *   payload := count:u64 record[count] zero[0..7]
 *   record  := map:u8 varint[popcount(map)]
 *
 * Each field has a prediction from the two records before it in the
 * section (all zero before the first), by the field's rule in the table
 * below: PREV, the previous record's value; STRIDE, that value plus the
 * step between the two records before (the slots of a pointer array); AFTER,
 * the previous record's value plus another of its fields (a block's
 * address after the previous block's address and size). Bit i of map says
 * that field i differs from its prediction. For each set bit, in field
 * order, follows the field's residual: (value - prediction) modulo
 * 2^(8 * width), read as a signed integer of that width, zigzag-mapped
 * (0, -1, 1, -2 ... to 0, 1, 2, 3 ...) and written as unsigned LEB128 (7
 * bits a byte, least significant first, high bit set on every byte but the
 * last). Because residuals wrap at the field's width, a field's signedness
 * never matters: LG_NONE after 5 is -6, one byte.
 *
 * The encoding is canonical; a decoder rejects anything else: a set bit
 * whose residual is zero, a varint with a needless trailing zero byte, a
 * residual wider than its field, a map bit past the layout's fields, a
 * record or a varint that runs past the payload, and trailing bytes other
 * than fewer than 8 zeros. All functions are static: each user compiles its
 * own copy of the same code. */
#ifndef LG_PACK_H
#define LG_PACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lg_trace.h"

/* the encoder's pieces, inlined where a caller passes a constant layout */
#define LG_PACK_INLINE static inline __attribute__((always_inline))

#define LG_PACK_MAX_FIELDS 8            /* one map byte */
#define LG_PACK_MAX_RECORD 32           /* the largest record (lg_object, lg_region) */
#define LG_PACK_MAX_BYTES (1 + LG_PACK_MAX_FIELDS * 10)  /* one record, encoded */

enum lg_pack_rule {                     /* how a field is predicted */
    LG_PACK_PREV,                       /* the previous record's value */
    LG_PACK_STRIDE,                     /* previous + (previous - the one before) */
    LG_PACK_AFTER,                      /* previous + the previous record's field `with` */
};

struct lg_pack_field {
    uint8_t offset;                     /* in the record struct */
    uint8_t width;                      /* 4 or 8 bytes */
    uint8_t rule;                       /* enum lg_pack_rule */
    uint8_t with;                       /* LG_PACK_AFTER: that field's index */
};

struct lg_pack_layout {
    uint32_t tag;                       /* enum lg_section_tag */
    uint32_t size;                      /* sizeof the record */
    uint32_t nfields;
    struct lg_pack_field fields[LG_PACK_MAX_FIELDS];   /* map bit i is fields[i] */
};

#define LG_PACK_FIELD(type, name, rule, with) \
    {offsetof(struct type, name), sizeof(((struct type *)0)->name), rule, with}
#define LG_PACK_F(type, name) LG_PACK_FIELD(type, name, LG_PACK_PREV, 0)
#define LG_PACK_S(type, name) LG_PACK_FIELD(type, name, LG_PACK_STRIDE, 0)

/* Every byte of each record is in exactly one field (tests/cli checks).
 * preload/writer.c knows BLOCKS and EDGES by their places here. */
static const struct lg_pack_layout lg_pack_layouts[] = {
    {LG_SEC_BLOCKS, sizeof(struct lg_block), 4,
     {LG_PACK_FIELD(lg_block, address, LG_PACK_AFTER, 1), LG_PACK_F(lg_block, size),
      LG_PACK_F(lg_block, stack), LG_PACK_F(lg_block, flags)}},
    {LG_SEC_OBJECTS, sizeof(struct lg_object), 6,
     {LG_PACK_F(lg_object, address), LG_PACK_F(lg_object, block),
      LG_PACK_F(lg_object, type_name), LG_PACK_F(lg_object, refcnt),
      LG_PACK_F(lg_object, flags), LG_PACK_F(lg_object, world)}},
    {LG_SEC_EDGES, sizeof(struct lg_edge), 6,
     {LG_PACK_F(lg_edge, from), LG_PACK_S(lg_edge, to), LG_PACK_S(lg_edge, offset),
      LG_PACK_F(lg_edge, field), LG_PACK_F(lg_edge, kind), LG_PACK_F(lg_edge, reserved)}},
    {LG_SEC_REGIONS, sizeof(struct lg_region), 6,
     {LG_PACK_F(lg_region, start), LG_PACK_F(lg_region, end), LG_PACK_F(lg_region, kind),
      LG_PACK_F(lg_region, name), LG_PACK_F(lg_region, thread), LG_PACK_F(lg_region, module)}},
    {LG_SEC_ROOTS, sizeof(struct lg_root), 5,
     {LG_PACK_S(lg_root, slot), LG_PACK_F(lg_root, region), LG_PACK_F(lg_root, to),
      LG_PACK_F(lg_root, kind), LG_PACK_F(lg_root, reserved)}},
    {LG_SEC_HISTORY, sizeof(struct lg_history), 5,
     {LG_PACK_F(lg_history, object), LG_PACK_F(lg_history, event), LG_PACK_F(lg_history, stack),
      LG_PACK_F(lg_history, reserved), LG_PACK_F(lg_history, refcnt_after)}},
};
#define LG_PACK_NLAYOUTS (sizeof(lg_pack_layouts) / sizeof(lg_pack_layouts[0]))

_Static_assert(sizeof(struct lg_object) <= LG_PACK_MAX_RECORD, "record too large to pack");
_Static_assert(sizeof(struct lg_region) <= LG_PACK_MAX_RECORD, "record too large to pack");

/* The layout of a section that version 2 packs, or NULL. */
static inline const struct lg_pack_layout *lg_pack_layout(uint32_t tag)
{
    for (size_t i = 0; i < LG_PACK_NLAYOUTS; i++)
        if (lg_pack_layouts[i].tag == tag)
            return &lg_pack_layouts[i];
    return NULL;
}

LG_PACK_INLINE uint64_t lg_pack_get(const uint8_t *rec, struct lg_pack_field f)
{
    if (f.width == 8) {
        uint64_t v;
        memcpy(&v, rec + f.offset, 8);
        return v;
    }
    uint32_t v;
    memcpy(&v, rec + f.offset, 4);
    return v;
}

LG_PACK_INLINE void lg_pack_set(uint8_t *rec, struct lg_pack_field f, uint64_t v)
{
    if (f.width == 8) {
        memcpy(rec + f.offset, &v, 8);
    } else {
        uint32_t w = (uint32_t)v;
        memcpy(rec + f.offset, &w, 4);
    }
}

enum lg_pack_error {
    LG_PACK_OK = 0,
    LG_PACK_E_COUNT = -1,               /* count larger than the payload can hold */
    LG_PACK_E_SHORT = -2,               /* a record runs past the payload */
    LG_PACK_E_MAP = -3,                 /* a map bit past the layout's fields */
    LG_PACK_E_ZERO = -4,                /* a field marked changed with a zero residual */
    LG_PACK_E_OVERLONG = -5,            /* a varint with a needless trailing zero byte */
    LG_PACK_E_RANGE = -6,               /* a residual wider than its field */
    LG_PACK_E_TRAILING = -7,            /* bytes after the records besides zero padding */
};

/* Unsigned LEB128 of v into out (10 bytes at most); returns its length. */
LG_PACK_INLINE size_t lg_pack_uleb(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* The canonical unsigned LEB128 at p[*off] (p holds len bytes) into *v,
 * advancing *off: 0, LG_PACK_E_SHORT, LG_PACK_E_OVERLONG or LG_PACK_E_RANGE
 * (more than 64 bits). */
static inline int lg_unpack_uleb(const uint8_t *p, uint64_t len, uint64_t *off, uint64_t *v)
{
    uint64_t z = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (*off >= len)
            return LG_PACK_E_SHORT;
        uint8_t b = p[(*off)++];
        if (shift == 63 && b > 1)
            return LG_PACK_E_RANGE;     /* a 10th byte holds bit 63 only */
        z |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0)
                return LG_PACK_E_OVERLONG;
            break;
        }
    }
    *v = z;
    return LG_PACK_OK;
}

LG_PACK_INLINE uint64_t lg_pack_zigzag(uint64_t d)        /* d: a 64-bit delta */
{
    return (d << 1) ^ (0 - (d >> 63));
}

static inline uint64_t lg_unpack_zigzag(uint64_t z)      /* wraps at any width */
{
    return (z >> 1) ^ (0 - (z & 1));
}

/* The two records before the next one of a section; zero it at the start. */
struct lg_pack_state {
    uint8_t prev[LG_PACK_MAX_RECORD];
    uint8_t prev2[LG_PACK_MAX_RECORD];
};

/* Field i's prediction for the next record (wider than the field: the
 * caller keeps the field's low bits). */
LG_PACK_INLINE uint64_t lg_pack_predict(const struct lg_pack_layout *l, uint32_t i,
                                        const struct lg_pack_state *st)
{
    struct lg_pack_field f = l->fields[i];
    uint64_t p = lg_pack_get(st->prev, f);
    switch (f.rule) {
    case LG_PACK_STRIDE:
        return p + (p - lg_pack_get(st->prev2, f));
    case LG_PACK_AFTER:
        return p + lg_pack_get(st->prev, l->fields[f.with]);
    default:
        return p;
    }
}

LG_PACK_INLINE void lg_pack_advance(const struct lg_pack_layout *l, struct lg_pack_state *st,
                                    const void *rec)
{
    memcpy(st->prev2, st->prev, sizeof(st->prev));
    memcpy(st->prev, rec, l->size);
}

/* Encodes rec after the records in *st into out, which holds
 * LG_PACK_MAX_BYTES, and advances *st. Returns the bytes written. */
LG_PACK_INLINE size_t lg_pack_record(const struct lg_pack_layout *l, struct lg_pack_state *st,
                                     const void *rec, uint8_t *out)
{
    uint8_t *p = out + 1, map = 0;
    /* unrolled, a constant l folds to straight-line code per layout; GCC
     * left the loop reading the field table (BLOCKS 28 -> 18 ms for 3.2M) */
#pragma GCC unroll 8
    for (uint32_t i = 0; i < l->nfields; i++) {
        struct lg_pack_field f = l->fields[i];
        uint64_t d = lg_pack_get(rec, f) - lg_pack_predict(l, i, st), z;
        if (f.width == 8) {
            if (d == 0)
                continue;
            z = lg_pack_zigzag(d);
        } else {
            uint32_t d32 = (uint32_t)d;
            if (d32 == 0)
                continue;
            z = (uint32_t)((d32 << 1) ^ (0u - (d32 >> 31)));   /* zigzag, 32 bits */
        }
        map |= (uint8_t)(1u << i);
        p += lg_pack_uleb(z, p);
    }
    out[0] = map;
    lg_pack_advance(l, st, rec);
    return (size_t)(p - out);
}

/* The reason, as the reader's one-line messages put it in parentheses. */
static inline const char *lg_pack_strerror(int err)
{
    switch (err) {
    case LG_PACK_E_COUNT: return "record count larger than the section holds";
    case LG_PACK_E_SHORT: return "record runs past its section";
    case LG_PACK_E_MAP: return "field bit past the record's fields";
    case LG_PACK_E_ZERO: return "field marked changed by zero";
    case LG_PACK_E_OVERLONG: return "overlong varint";
    case LG_PACK_E_RANGE: return "value does not fit its field";
    case LG_PACK_E_TRAILING: return "bytes after the records are not zero padding";
    default: return "bad packed record";
    }
}

/* The record count of a packed payload of len bytes: 0, or LG_PACK_E_COUNT
 * when the payload has no count or the count exceeds what its bytes can
 * hold (every record takes at least its map byte), so a caller may allocate
 * *count records (at most len * LG_PACK_MAX_RECORD bytes). */
static inline int lg_pack_count(const uint8_t *payload, uint64_t len, uint64_t *count)
{
    if (len < 8)
        return LG_PACK_E_COUNT;
    memcpy(count, payload, 8);
    if (*count > len - 8)
        return LG_PACK_E_COUNT;
    return LG_PACK_OK;
}

/* After the records at off: fewer than 8 zero bytes, else
 * LG_PACK_E_TRAILING with *err_off at the first byte at fault. */
static inline int lg_unpack_padding(const uint8_t *payload, uint64_t len, uint64_t off,
                                    uint64_t *err_off)
{
    *err_off = off;
    if (len - off >= 8)
        return LG_PACK_E_TRAILING;
    for (; off < len; off++)
        if (payload[off] != 0) {
            *err_off = off;
            return LG_PACK_E_TRAILING;
        }
    return LG_PACK_OK;
}

/* Decodes the count records of a packed payload of len bytes (count from
 * lg_pack_count) into out, an array of count records of l->size bytes.
 * 0, or an enum lg_pack_error with *err_off set to the payload offset of
 * the record (or, for LG_PACK_E_TRAILING, of the byte) at fault. */
static inline int lg_unpack_section(const struct lg_pack_layout *l, const uint8_t *payload,
                                    uint64_t len, uint64_t count, void *out, uint64_t *err_off)
{
    struct lg_pack_state st;
    uint8_t *rec = out;
    uint64_t off = 8;
    memset(&st, 0, sizeof(st));
    for (uint64_t n = 0; n < count; n++, rec += l->size) {
        *err_off = off;
        if (off >= len)
            return LG_PACK_E_SHORT;
        uint8_t map = payload[off++];
        if (map >> l->nfields)
            return LG_PACK_E_MAP;
        for (uint32_t i = 0; i < l->nfields; i++) {
            struct lg_pack_field f = l->fields[i];
            lg_pack_set(rec, f, lg_pack_predict(l, i, &st));
            if (!(map & (1u << i)))
                continue;
            uint64_t z;
            int err = lg_unpack_uleb(payload, len, &off, &z);
            if (err < 0)
                return err;
            if (z == 0)
                return LG_PACK_E_ZERO;
            if (f.width == 4 && z > UINT32_MAX)
                return LG_PACK_E_RANGE;
            lg_pack_set(rec, f, lg_pack_get(rec, f) + lg_unpack_zigzag(z));
        }
        lg_pack_advance(l, &st, rec);
    }
    return lg_unpack_padding(payload, len, off, err_off);
}

/* ---- STACKS -------------------------------------------------------------------
 * A version 2 STACKS section holds the same stacks as version 1, as
 *
 *   payload := count:u64 stack[count] zero[0..7]
 *   stack   := depth:uleb128 frame[depth]           (innermost frame first)
 *   frame   := zigzag-uleb128 of (pc - ref) modulo 2^64
 *
 * where ref (lg_stack_ref) is the frame of the previous stack at the same
 * distance from the outermost frame, or, where the previous stack is not
 * that deep, the frame coded just before this one (0 before the first).
 * Stacks share their outer frames, so most frames are one zero byte; every
 * frame takes at least a byte, so a payload of len bytes holds at most len
 * frames and a reader can allocate them before decoding. */

static inline uint64_t lg_stack_ref(const uint64_t *prev, uint32_t prevdepth, uint32_t depth,
                                    uint32_t i, uint64_t last)
{
    uint32_t j = depth - 1 - i;         /* distance from the outermost frame */
    return j < prevdepth ? prev[prevdepth - 1 - j] : last;
}

/* Encodes frame i of a stack of depth frames (pc) after the previous stack
 * (prevdepth frames; *last the frame coded before, 0 at the section's
 * start) into out (10 bytes at most); returns its length. */
static inline size_t lg_pack_frame(const uint64_t *prev, uint32_t prevdepth, uint32_t depth,
                                   uint32_t i, uint64_t pc, uint64_t *last, uint8_t *out)
{
    uint64_t ref = lg_stack_ref(prev, prevdepth, depth, i, *last);
    *last = pc;
    return lg_pack_uleb(lg_pack_zigzag(pc - ref), out);
}

/* Decodes the count stacks (lg_pack_count) of a packed STACKS payload of len
 * bytes: depths[count], and every frame, stack after stack, into frames,
 * which holds len uint64_t. 0, or an enum lg_pack_error with *err_off at the
 * stack at fault. */
static inline int lg_unpack_stacks(const uint8_t *payload, uint64_t len, uint64_t count,
                                   uint32_t *depths, uint64_t *frames, uint64_t *err_off)
{
    const uint64_t *prev = frames;
    uint64_t off = 8, last = 0, *pc = frames;
    uint32_t prevdepth = 0;
    for (uint64_t n = 0; n < count; n++) {
        uint64_t depth, z;
        *err_off = off;
        int err = lg_unpack_uleb(payload, len, &off, &depth);
        if (err < 0)
            return err;
        if (depth > UINT32_MAX)
            return LG_PACK_E_RANGE;
        if (depth > len - off)          /* each frame takes a byte at least */
            return LG_PACK_E_SHORT;
        for (uint32_t i = 0; i < depth; i++) {
            err = lg_unpack_uleb(payload, len, &off, &z);
            if (err < 0)
                return err;
            pc[i] = lg_stack_ref(prev, prevdepth, (uint32_t)depth, i, last) + lg_unpack_zigzag(z);
            last = pc[i];
        }
        depths[n] = (uint32_t)depth;
        prev = pc;
        prevdepth = (uint32_t)depth;
        pc += depth;
    }
    return lg_unpack_padding(payload, len, off, err_off);
}

#endif /* LG_PACK_H */
