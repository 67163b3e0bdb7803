/* gen_big_trace.c - writes a large synthetic trace for the CLI's scale
 * benchmark: gen_big_trace PATH [BLOCKS [EDGES]] (default 10M blocks, 20M
 * edges). Streams every section (two passes over a seeded generator, so
 * nothing of size BLOCKS or EDGES is held in memory except one counter per
 * object), and gives the analysis every kind of work:
 *   - 70% of the blocks are "live": roots point into them and their edges
 *     stay among them, so most are still reachable (some only through
 *     interior pointers: possibly lost);
 *   - 30% are "leaked": no root reaches them, their edges point anywhere,
 *     so they form lost structures with many strongly connected parts;
 *   - every 5th block holds a refcount object; an edge between two objects
 *     is precise (field "f<k>"), and each object's refcnt is its incoming
 *     precise edges, plus one for 1 in 100 leaked objects (reference
 *     leaks) and for live objects a root points at;
 *   - 1000 distinct allocating stacks of depth 8, 5% interior pointers.
 * It writes format version 1 (fixed-size records, as a reader maps them);
 * the shim writes version 2 (packed), which the reader decodes. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_trace.h"

static uint64_t nblocks = 10000000, nedges = 20000000;
#define NSTACKS 1000
#define DEPTH 8
#define NROOTS 2000
#define OBJ_EVERY 5

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static uint64_t live_end(void)
{
    return nblocks * 7 / 10;
}

static bool is_obj(uint64_t b)
{
    return b % OBJ_EVERY == 0;
}

static uint64_t addr(uint64_t b)
{
    return 0x10000000ull + b * 64;
}

/* edge k: from, to, interior? (same sequence in both passes) */
static void edge(struct rng *r, uint64_t k, uint32_t *from, uint32_t *to, bool *interior)
{
    uint64_t f = k % nblocks;                /* every block gets about E/B edges */
    uint64_t x = next(r);
    uint64_t t;
    if (f < live_end())
        t = x % live_end();
    else if ((x >> 40) % 4 == 0)
        t = live_end() + (x >> 8) % (nblocks - live_end());   /* leaked -> leaked, random */
    else if ((x >> 40) % 4 == 1 && is_obj(f) && f + OBJ_EVERY < nblocks)
        t = f + OBJ_EVERY;                                      /* next object: chains */
    else if ((x >> 40) % 4 == 2 && is_obj(f) && f >= live_end() + OBJ_EVERY)
        t = f - OBJ_EVERY;                                      /* previous object: cycles */
    else
        t = f + 1 + (x >> 8) % 16 < nblocks ? f + 1 + (x >> 8) % 16 : live_end();
    *from = (uint32_t)f;
    *to = (uint32_t)t;
    *interior = (x >> 20) % 20 == 0 && !(is_obj(f) && is_obj(t));
}

static void section(FILE *f, uint32_t tag, uint64_t len)
{
    struct lg_section_header h = {tag, 0, len};
    fwrite(&h, sizeof(h), 1, f);
}

static void pad(FILE *f, uint64_t n)
{
    static const char zero[8];
    fwrite(zero, 1, (8 - n % 8) % 8, f);
}

static void put_str(FILE *f, const char *s)
{
    uint32_t n = (uint32_t)strlen(s);
    fwrite(&n, 4, 1, f);
    fwrite(s, 1, n, f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_big_trace PATH [BLOCKS [EDGES]]\n");
        return 2;
    }
    if (argc > 2)
        nblocks = strtoull(argv[2], NULL, 10);
    if (argc > 3)
        nedges = strtoull(argv[3], NULL, 10);
    if (nblocks < 100 || nblocks > 0x7ffffff0ull || nedges > 0xfffffff0ull) {
        fprintf(stderr, "gen_big_trace: BLOCKS from 100 to 2^31, EDGES below 2^32\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "wb");
    if (f == NULL) {
        fprintf(stderr, "gen_big_trace: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 22);
    uint64_t nobjs = (nblocks + OBJ_EVERY - 1) / OBJ_EVERY;
    uint32_t *incoming = calloc(nobjs, sizeof(uint32_t));
    uint8_t *rooted = calloc(nobjs, 1);
    if (incoming == NULL || rooted == NULL)
        return 1;

    /* pass 1: incoming precise edges per object, and which objects roots hold */
    struct rng r = {0x243f6a8885a308d3ull};
    uint64_t nprecise = 0;
    for (uint64_t k = 0; k < nedges; k++) {
        uint32_t from, to;
        bool interior;
        edge(&r, k, &from, &to, &interior);
        if (is_obj(from) && is_obj(to)) {
            incoming[to / OBJ_EVERY]++;
            nprecise++;
        }
    }
    struct rng rr = {0x13198a2e03707344ull};
    for (int i = 0; i < NROOTS; i++) {
        uint64_t b = next(&rr) % live_end();
        if (is_obj(b))
            rooted[b / OBJ_EVERY] = 1;
    }

    struct lg_file_header fh;
    memcpy(fh.magic, LG_TRACE_MAGIC, LG_TRACE_MAGIC_LEN);
    fh.version = 1;                     /* fixed-size records: the reader maps them,
                                           which is what this bench measures */
    fh.header_size = sizeof(fh);
    fwrite(&fh, sizeof(fh), 1, f);

    /* PROCESS */
    struct lg_process proc = {777, 1, 1000000000ull, 1, 0};
    const char *exe = "/usr/bin/bigprog";
    uint64_t plen = sizeof(proc) + 4 + strlen(exe) + 4 + 7;
    section(f, LG_SEC_PROCESS, (plen + 7) / 8 * 8);
    fwrite(&proc, sizeof(proc), 1, f);
    put_str(f, exe);
    put_str(f, "bigprog");
    pad(f, plen);

    struct lg_snapshot_begin begin = {1, LG_SNAP_EXIT, 0, 0, 2000000000ull};
    section(f, LG_SEC_SNAPSHOT_BEGIN, sizeof(begin));
    fwrite(&begin, sizeof(begin), 1, f);

    /* STRINGS: type names T0..T9, fields f0..f3, "[stack]", the exe */
    char names[16][16];
    int nstr = 0;
    uint64_t slen = 4;
    for (int i = 0; i < 10; i++)
        snprintf(names[nstr++], 16, "T%d", i);
    for (int i = 0; i < 4; i++)
        snprintf(names[nstr++], 16, "f%d", i);
    snprintf(names[nstr++], 16, "[stack]");
    snprintf(names[nstr++], 16, "bigprog");
    for (int i = 0; i < nstr; i++)
        slen += 4 + strlen(names[i]);
    section(f, LG_SEC_STRINGS, (slen + 7) / 8 * 8);
    uint32_t ns = (uint32_t)nstr;
    fwrite(&ns, 4, 1, f);
    for (int i = 0; i < nstr; i++)
        put_str(f, names[i]);
    pad(f, slen);

    /* MODULES: the program */
    struct lg_module m = {0x400000, 0x400000, 0x800000, (uint32_t)strlen(exe), 0};
    uint64_t mlen = sizeof(m) + strlen(exe);
    section(f, LG_SEC_MODULES, (mlen + 7) / 8 * 8);
    fwrite(&m, sizeof(m), 1, f);
    fwrite(exe, 1, strlen(exe), f);
    pad(f, mlen);

    /* STACKS */
    section(f, LG_SEC_STACKS, (uint64_t)NSTACKS * (8 + DEPTH * 8));
    for (uint64_t i = 0; i < NSTACKS; i++) {
        struct lg_stack st = {DEPTH, 0};
        fwrite(&st, sizeof(st), 1, f);
        for (int d = 0; d < DEPTH; d++) {
            uint64_t pc = 0x401000 + (i * 7 + (uint64_t)d * 131) % 0x300000;
            fwrite(&pc, 8, 1, f);
        }
    }

    /* BLOCKS */
    section(f, LG_SEC_BLOCKS, nblocks * sizeof(struct lg_block));
    for (uint64_t b = 0; b < nblocks; b++) {
        struct lg_block blk = {addr(b), 16 + (b * 37) % 48, (uint32_t)((b * 2654435761u) % NSTACKS),
                               is_obj(b) ? LG_BLOCKF_OBJECT : 0};
        fwrite(&blk, sizeof(blk), 1, f);
    }

    /* OBJECTS */
    section(f, LG_SEC_OBJECTS, nobjs * sizeof(struct lg_object));
    for (uint64_t o = 0; o < nobjs; o++) {
        uint64_t b = o * OBJ_EVERY;
        int64_t refcnt = incoming[o] + rooted[o];
        if (b >= live_end() && o % 100 == 7)
            refcnt++;                               /* a reference leak */
        struct lg_object obj = {addr(b), (uint32_t)b, (uint32_t)(o % 10), refcnt,
                                LG_OBJF_GC_TRACKED, LG_WORLD_LIBREFCOUNT};
        fwrite(&obj, sizeof(obj), 1, f);
    }

    /* EDGES: pass 2, the same sequence */
    section(f, LG_SEC_EDGES, nedges * sizeof(struct lg_edge));
    r.s = 0x243f6a8885a308d3ull;
    for (uint64_t k = 0; k < nedges; k++) {
        uint32_t from, to;
        bool interior;
        edge(&r, k, &from, &to, &interior);
        struct lg_edge e = {from, to, 8, LG_NONE, interior ? LG_EDGE_INTERIOR : LG_EDGE_START, 0};
        if (is_obj(from) && is_obj(to)) {
            e.kind = LG_EDGE_PRECISE;
            e.offset = LG_NONE;
            e.field = 10 + (uint32_t)(k % 4);
        }
        fwrite(&e, sizeof(e), 1, f);
    }

    /* REGIONS and ROOTS */
    struct lg_region reg = {0x7ffff0000000ull, 0x7ffff0100000ull, LG_REGION_STACK, 14, 777, LG_NONE};
    section(f, LG_SEC_REGIONS, sizeof(reg));
    fwrite(&reg, sizeof(reg), 1, f);
    section(f, LG_SEC_ROOTS, (uint64_t)NROOTS * sizeof(struct lg_root));
    rr.s = 0x13198a2e03707344ull;
    for (int i = 0; i < NROOTS; i++) {
        uint64_t b = next(&rr) % live_end();
        struct lg_root root = {reg.start + 8 * (uint64_t)i, 0, (uint32_t)b,
                               i % 50 == 49 ? LG_EDGE_INTERIOR : LG_EDGE_START, 0};
        fwrite(&root, sizeof(root), 1, f);
    }

    /* HISTORY: NEW + INCREF for the reference-leaked objects */
    uint64_t nhist = 0;
    for (uint64_t o = 0; o < nobjs; o++)
        if (o * OBJ_EVERY >= live_end() && o % 100 == 7)
            nhist += 2;
    section(f, LG_SEC_HISTORY, nhist * sizeof(struct lg_history));
    for (uint64_t o = 0; o < nobjs; o++)
        if (o * OBJ_EVERY >= live_end() && o % 100 == 7) {
            struct lg_history h1 = {(uint32_t)o, LG_HIST_NEW, (uint32_t)(o % NSTACKS), 0, 1};
            struct lg_history h2 = {(uint32_t)o, LG_HIST_INCREF, (uint32_t)((o + 1) % NSTACKS), 0, 2};
            fwrite(&h1, sizeof(h1), 1, f);
            fwrite(&h2, sizeof(h2), 1, f);
        }

    struct lg_snapshot_end end = {nblocks, nobjs, nedges, NROOTS};
    section(f, LG_SEC_SNAPSHOT_END, sizeof(end));
    fwrite(&end, sizeof(end), 1, f);
    free(incoming);
    free(rooted);
    if (fclose(f) != 0) {
        fprintf(stderr, "gen_big_trace: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    fprintf(stderr, "gen_big_trace: %llu blocks, %llu objects, %llu edges (%llu precise) -> %s\n",
            (unsigned long long)nblocks, (unsigned long long)nobjs, (unsigned long long)nedges,
            (unsigned long long)nprecise, argv[1]);
    return 0;
}
