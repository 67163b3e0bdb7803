/* test_trace_read.c - the trace reader (trace_read.c) on good, truncated,
 * foreign, newer, incomplete and hostile files: it loads what is valid and
 * answers everything else with one line naming the file and the offset,
 * never a crash, a hang or a huge allocation. One claim per test. */
#include "cli_test_util.h"
#include "lg_pack.h"

#include <fcntl.h>
#include <sys/stat.h>

static void small_trace(struct lg_tb *tb)
{
    lg_tb_arg(tb, "prog");
    lg_tb_arg(tb, "--flag");
    lg_tb_module(tb, "/bin/prog", 0x400000, 0x500000);
    uint32_t st = lg_tb_stack1(tb, 0x401000);
    uint32_t a = lg_tb_object(tb, "A", 32, 1, st), b = lg_tb_object(tb, "B", 32, 1, st);
    lg_tb_ref(tb, a, b, "b");
    lg_tb_ref(tb, b, a, "a");
    uint32_t c = lg_tb_block(tb, 100, st, 0);
    lg_tb_global(tb, c);
    lg_tb_history(tb, a, LG_HIST_NEW, st, 1);
}

/* write the small trace, return its bytes (caller frees) */
static uint8_t *small_bytes(const char *path, size_t *len)
{
    struct lg_tb *tb = lg_tb_new(4242, "/bin/prog");
    small_trace(tb);
    assert_int_equal(lg_tb_write(tb, path), 0);
    lg_tb_free(tb);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*len);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void put_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* load; returns rc and fills err */
static int try_load(const char *path, char *err, size_t errlen)
{
    struct lg_proc_trace *t = NULL;
    int rc = lg_trace_load(path, &t, err, errlen);
    lg_trace_free(t);
    return rc;
}

/* offset of the first section with this tag, or 0 */
static size_t find_section(const uint8_t *buf, size_t len, uint32_t tag)
{
    size_t off = sizeof(struct lg_file_header);
    while (off + sizeof(struct lg_section_header) <= len) {
        struct lg_section_header h;
        memcpy(&h, buf + off, sizeof(h));
        if (h.tag == tag)
            return off;
        off += sizeof(h) + h.length;
    }
    return 0;
}

/* A good trace loads with its process facts. */
static void test_trace_read_good_trace_loads(void **state)
{
    (void)state;
    char path[512], err[512];
    lg_test_path(path, sizeof(path), "good");
    struct lg_tb *tb = lg_tb_new(4242, "/bin/prog");
    small_trace(tb);
    assert_int_equal(lg_tb_write(tb, path), 0);
    struct lg_proc_trace *t;
    assert_int_equal(lg_trace_load(path, &t, err, sizeof(err)), 0);
    assert_true(t->proc.pid == 4242 && strcmp(t->exe, "/bin/prog") == 0 && t->proc.argc == 2 &&
                strcmp(t->argv[1], "--flag") == 0 && t->nsnaps == 1 && t->snaps[0].nblocks == 3 &&
                t->snaps[0].nedges == 2 && t->incomplete == NULL);
    lg_trace_free(t);
    lg_tb_free(tb);
    unlink(path);
}

/* Strings, modules and stacks come through intact. */
static void test_trace_read_tables_intact(void **state)
{
    (void)state;
    char path[512], err[512];
    lg_test_path(path, sizeof(path), "tables");
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    small_trace(tb);
    assert_int_equal(lg_tb_write(tb, path), 0);
    struct lg_proc_trace *t;
    assert_int_equal(lg_trace_load(path, &t, err, sizeof(err)), 0);
    const struct lg_snap *s = &t->snaps[0];
    assert_true(strcmp(lg_snap_string(s, s->objects[1].type_name), "B") == 0 &&
                strcmp(s->modules[0].path, "/bin/prog") == 0 && s->stacks[0].depth == 1 &&
                s->stacks[0].pcs[0] == 0x401000);
    lg_trace_free(t);
    lg_tb_free(tb);
    unlink(path);
}

/* A file cut inside the edge table names the offset and the table. */
static void test_trace_read_truncated_names_offset(void **state)
{
    (void)state;
    char path[512], err[512], want[600];
    size_t len;
    lg_test_path(path, sizeof(path), "trunc");
    uint8_t *buf = small_bytes(path, &len);
    size_t edges = find_section(buf, len, LG_SEC_EDGES);
    assert_true(edges > 0);
    size_t cut = edges + sizeof(struct lg_section_header) + 8;
    put_file(path, buf, cut);
    assert_true(try_load(path, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "%s: truncated at offset %zu (edge table)", path, cut);
    assert_string_equal(err, want);
    free(buf);
    unlink(path);
}

/* Cut at every possible length, the reader fails cleanly with a message
 * naming the file (or, at the very end, loads). */
static void test_trace_read_every_truncation_fails_cleanly(void **state)
{
    (void)state;
    char path[512], err[512];
    size_t len;
    lg_test_path(path, sizeof(path), "everytrunc");
    uint8_t *buf = small_bytes(path, &len);
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        put_file(path, buf, cut);
        err[0] = '\0';
        if (try_load(path, err, sizeof(err)) == 0 || strncmp(err, path, strlen(path)) != 0)
            bad++;
    }
    assert_int_equal(bad, 0);
    free(buf);
    unlink(path);
}

/* A file that is not a trace is called that. */
static void test_trace_read_foreign_file_rejected(void **state)
{
    (void)state;
    char path[512], err[512], want[600];
    lg_test_path(path, sizeof(path), "foreign");
    put_file(path, "#!/bin/sh\necho hello, this is not a trace\n", 42);
    assert_true(try_load(path, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "%s: not a leakgraph trace", path);
    assert_string_equal(err, want);
    unlink(path);
}

/* A newer format version is named with ours. */
static void test_trace_read_newer_version_rejected(void **state)
{
    (void)state;
    char path[512], err[512], want[600];
    size_t len;
    lg_test_path(path, sizeof(path), "newer");
    uint8_t *buf = small_bytes(path, &len);
    uint32_t v = 7;
    memcpy(buf + 8, &v, 4);
    put_file(path, buf, len);
    assert_true(try_load(path, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "%s: trace format version 7 is newer than this leakgraph (2)", path);
    assert_string_equal(err, want);
    free(buf);
    unlink(path);
}

/* A string count far beyond the section is refused before allocating. */
static void test_trace_read_huge_string_count_rejected(void **state)
{
    (void)state;
    char path[512], err[512];
    size_t len;
    lg_test_path(path, sizeof(path), "hugestr");
    uint8_t *buf = small_bytes(path, &len);
    size_t off = find_section(buf, len, LG_SEC_STRINGS);
    uint32_t huge = 0xffffffffu;
    memcpy(buf + off + sizeof(struct lg_section_header), &huge, 4);
    put_file(path, buf, len);
    assert_true(try_load(path, err, sizeof(err)) < 0 && strstr(err, "string table") != NULL);
    free(buf);
    unlink(path);
}

/* A stack depth far beyond the section is refused. */
static void test_trace_read_huge_stack_depth_rejected(void **state)
{
    (void)state;
    char path[512], err[512];
    size_t len;
    lg_test_path(path, sizeof(path), "hugestack");
    uint8_t *buf = small_bytes(path, &len);
    size_t off = find_section(buf, len, LG_SEC_STACKS);
    uint32_t huge = 0x7fffffffu;
    memcpy(buf + off + sizeof(struct lg_section_header), &huge, 4);
    put_file(path, buf, len);
    assert_true(try_load(path, err, sizeof(err)) < 0 && strstr(err, "stack table") != NULL);
    free(buf);
    unlink(path);
}

/* A section length beyond the end of the file is a truncation. */
static void test_trace_read_huge_section_length_rejected(void **state)
{
    (void)state;
    char path[512], err[512];
    size_t len;
    lg_test_path(path, sizeof(path), "hugelen");
    uint8_t *buf = small_bytes(path, &len);
    size_t off = find_section(buf, len, LG_SEC_BLOCKS);
    uint64_t huge = 0xfffffffffffffff8ull;
    memcpy(buf + off + 8, &huge, 8);
    put_file(path, buf, len);
    assert_true(try_load(path, err, sizeof(err)) < 0 && strstr(err, "truncated") != NULL);
    free(buf);
    unlink(path);
}

/* An edge naming a block that does not exist is refused (the analysis can
 * then trust every index). */
static void test_trace_read_edge_out_of_range_rejected(void **state)
{
    (void)state;
    char path[512], err[512];
    lg_test_path(path, sizeof(path), "badedge");
    struct lg_tb *tb = lg_tb_new(4242, "/bin/prog");
    uint32_t a = lg_tb_block(tb, 32, LG_NONE, 0);
    lg_tb_edge(tb, a, 99, LG_EDGE_START, 0, LG_NONE);
    assert_int_equal(lg_tb_write(tb, path), 0);
    lg_tb_free(tb);
    assert_true(try_load(path, err, sizeof(err)) < 0 && strstr(err, "edge 0") != NULL);
    unlink(path);
}

/* ---- version 1 and packed records (version 2) ------------------------------ */

/* Every field table of lg_pack.h covers its record, each byte once, and
 * predicts from fields it has. */
static void test_trace_read_pack_layouts_cover_records(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < LG_PACK_NLAYOUTS; i++) {
        const struct lg_pack_layout *l = &lg_pack_layouts[i];
        uint8_t covered[LG_PACK_MAX_RECORD] = {0};
        for (uint32_t k = 0; k < l->nfields; k++) {
            for (uint32_t b = 0; b < l->fields[k].width; b++)
                covered[l->fields[k].offset + b]++;
            bad += l->fields[k].rule == LG_PACK_AFTER && l->fields[k].with >= l->nfields;
        }
        for (uint32_t b = 0; b < l->size; b++)
            bad += covered[b] != 1;
    }
    assert_int_equal(bad, 0);
}

/* the small trace with extreme field values, written in this version */
static void extreme_trace(const char *path, uint32_t version)
{
    struct lg_tb *tb = lg_tb_new(4242, "/bin/prog");
    small_trace(tb);
    uint32_t st = lg_tb_stack1(tb, 0x402000);
    lg_tb_object(tb, "C", 16, -5, LG_NONE);
    uint32_t big = lg_tb_block_at(tb, 0xfffffffffffff000ull, 0xfff, st, LG_BLOCKF_LIBC);
    lg_tb_edge(tb, big, 0, LG_EDGE_INTERIOR, 0xfffffff8u, LG_NONE);
    lg_tb_history(tb, 0, LG_HIST_INCREF, LG_NONE, INT64_MAX);
    lg_tb_history(tb, 0, LG_HIST_DECREF, st, INT64_MIN);
    lg_tb_format_version(tb, version);
    assert_int_equal(lg_tb_write(tb, path), 0);
    lg_tb_free(tb);
}

/* The same trace written as version 1 and as version 2 loads to the same
 * records, field for field. */
static void test_trace_read_v1_and_v2_same_records(void **state)
{
    (void)state;
    char p1[512], p2[512], err[512];
    lg_test_path(p1, sizeof(p1), "v1");
    lg_test_path(p2, sizeof(p2), "v2");
    extreme_trace(p1, 1);
    extreme_trace(p2, 2);
    struct lg_proc_trace *t1, *t2;
    assert_int_equal(lg_trace_load(p1, &t1, err, sizeof(err)), 0);
    assert_int_equal(lg_trace_load(p2, &t2, err, sizeof(err)), 0);
    const struct lg_snap *a = &t1->snaps[0], *b = &t2->snaps[0];
#define SAME(f, n) (a->n == b->n && memcmp(a->f, b->f, a->n * sizeof(*a->f)) == 0)
    assert_true(a->nblocks == 5 && SAME(blocks, nblocks) && SAME(objects, nobjects) &&
                SAME(edges, nedges) && SAME(regions, nregions) && SAME(roots, nroots) &&
                SAME(history, nhistory) && !a->owns_records && b->owns_records);
#undef SAME
    lg_trace_free(t1);
    lg_trace_free(t2);
    unlink(p1);
    unlink(p2);
}

/* the payload of the first section with this tag (caller frees) */
static uint8_t *payload_of(struct lg_tb *tb, const char *name, uint32_t tag, size_t *plen)
{
    char path[512];
    lg_test_path(path, sizeof(path), name);
    assert_int_equal(lg_tb_write(tb, path), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len);
    assert_int_equal(fread(buf, 1, len, f), len);
    fclose(f);
    unlink(path);
    size_t at = find_section(buf, len, tag);
    struct lg_section_header h;
    assert_true(at > 0);
    memcpy(&h, buf + at, sizeof(h));
    uint8_t *p = malloc(h.length + 1);
    memcpy(p, buf + at + sizeof(h), h.length);
    *plen = h.length;
    free(buf);
    return p;
}

/* The BLOCKS example of docs/trace-format.md is what the encoder writes. */
static void test_trace_read_packed_blocks_example_bytes(void **state)
{
    (void)state;
    static const uint8_t want[32] = {3, 0, 0, 0, 0, 0, 0, 0,
                                     0x03, 0xa0, 0x80, 0x80, 0x80, 0xc2, 0xce, 0x3f, 0x60,
                                     0x0b, 0x20, 0x0f, 0x02,
                                     0x0d, 0x10, 0x01, 0x01};
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    lg_tb_block_at(tb, 0x7f3a10000010, 48, 0, 0);
    lg_tb_block_at(tb, 0x7f3a10000050, 40, 0, 1);
    lg_tb_block_at(tb, 0x7f3a10000080, 40, LG_NONE, 0);
    size_t len;
    uint8_t *p = payload_of(tb, "exblocks", LG_SEC_BLOCKS, &len);
    assert_true(len == sizeof(want) && memcmp(p, want, len) == 0);
    free(p);
    lg_tb_free(tb);
}

/* The STACKS example of docs/trace-format.md is what the encoder writes. */
static void test_trace_read_packed_stacks_example_bytes(void **state)
{
    (void)state;
    static const uint8_t want[32] = {2, 0, 0, 0, 0, 0, 0, 0,
                                     0x03, 0xec, 0xc4, 0x80, 0x04, 0x94, 0x03,
                                     0xa0, 0xae, 0x94, 0xfc, 0xff, 0xbf, 0x3f,
                                     0x03, 0x34, 0x00, 0x00};
    const uint64_t s0[] = {0x401136, 0x401200, 0x7f0000029d90};
    const uint64_t s1[] = {0x401150, 0x401200, 0x7f0000029d90};
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    lg_tb_stack(tb, s0, 3);
    lg_tb_stack(tb, s1, 3);
    size_t len;
    uint8_t *p = payload_of(tb, "exstacks", LG_SEC_STACKS, &len);
    assert_true(len == sizeof(want) && memcmp(p, want, len) == 0);
    free(p);
    lg_tb_free(tb);
}

/* The edges of an array of pointers to consecutive blocks are one map byte
 * each after the first two: the target and the offset follow their stride. */
static void test_trace_read_packed_pointer_array_one_byte_per_edge(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    uint32_t array = lg_tb_block(tb, 8 * 100, LG_NONE, 0);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t b = lg_tb_block(tb, 16, LG_NONE, 0);
        lg_tb_edge(tb, array, b, LG_EDGE_START, 8 * i, LG_NONE);
    }
    size_t len;
    uint8_t *p = payload_of(tb, "pkstride", LG_SEC_EDGES, &len);
    assert_true(len <= 8 + 16 + 98 + 7);   /* count, two records in full, 98 maps */
    free(p);
    lg_tb_free(tb);
}

/* Stacks of every depth relation to the one before (deeper, shallower,
 * empty) load as written, in version 2 as in version 1. */
static void test_trace_read_packed_stacks_round_trip(void **state)
{
    (void)state;
    char path[512], err[512];
    const uint64_t a[] = {0x401000, 0x402000, 0x403000, 0x7f0000001000};
    const uint64_t b[] = {0x405000, 0x7f0000001000};
    const uint64_t c[] = {0xffffffffffffff00ull, 0x10, 0x401000, 0x402000, 0x403000, 0x1};
    lg_test_path(path, sizeof(path), "pkstacks");
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    lg_tb_stack(tb, a, 4);
    lg_tb_stack(tb, b, 2);
    lg_tb_stack(tb, a, 0);
    lg_tb_stack(tb, c, 6);
    lg_tb_stack(tb, a, 4);
    assert_int_equal(lg_tb_write(tb, path), 0);
    lg_tb_free(tb);
    struct lg_proc_trace *t;
    assert_int_equal(lg_trace_load(path, &t, err, sizeof(err)), 0);
    const struct lg_snap *s = &t->snaps[0];
    assert_true(s->nstacks == 5 && s->stacks[0].depth == 4 && s->stacks[1].depth == 2 &&
                s->stacks[2].depth == 0 && s->stacks[3].depth == 6 && s->stacks[4].depth == 4 &&
                memcmp(s->stacks[0].pcs, a, sizeof(a)) == 0 &&
                memcmp(s->stacks[1].pcs, b, sizeof(b)) == 0 &&
                memcmp(s->stacks[3].pcs, c, sizeof(c)) == 0 &&
                memcmp(s->stacks[4].pcs, a, sizeof(a)) == 0);
    lg_trace_free(t);
    unlink(path);
}

/* A stack deeper than the bytes left in its section is refused before its
 * frames are read. */
static void test_trace_read_packed_stack_depth_past_payload_rejected(void **state)
{
    (void)state;
    char path[512], err[512], want[700];
    size_t len;
    lg_test_path(path, sizeof(path), "pkdepth");
    uint8_t *buf = small_bytes(path, &len);
    size_t at = find_section(buf, len, LG_SEC_STACKS) + sizeof(struct lg_section_header);
    buf[at + 8] = 0x7f;                 /* stack 0: depth 127 */
    put_file(path, buf, len);
    assert_true(try_load(path, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "%s: corrupt stack table at offset %zu (record runs past its section)",
             path, at + 8);
    assert_string_equal(err, want);
    free(buf);
    unlink(path);
}

/* The trace with its BLOCKS payload replaced by these bytes (a multiple of
 * 8); *body is the payload's file offset. */
static void blocks_payload(const char *path, const uint8_t *payload, size_t plen, size_t *body)
{
    size_t len;
    uint8_t *buf = small_bytes(path, &len);
    size_t at = find_section(buf, len, LG_SEC_BLOCKS);
    assert_true(at > 0 && plen % 8 == 0);
    struct lg_section_header h;
    memcpy(&h, buf + at, sizeof(h));
    size_t rest = at + sizeof(h) + h.length;
    h.length = plen;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fwrite(buf, 1, at, f) == at && fwrite(&h, sizeof(h), 1, f) == 1 &&
                fwrite(payload, 1, plen, f) == plen &&
                fwrite(buf + rest, 1, len - rest, f) == len - rest);
    fclose(f);
    free(buf);
    *body = at + sizeof(h);
}

/* loading a trace whose BLOCKS payload is these bytes fails with
 * "corrupt block table at offset <body + at> (why)" */
static void expect_packed_error(const char *name, const uint8_t *payload, size_t plen, size_t at,
                                const char *why)
{
    char path[512], err[512], want[700];
    size_t body;
    lg_test_path(path, sizeof(path), name);
    blocks_payload(path, payload, plen, &body);
    assert_true(try_load(path, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "%s: corrupt block table at offset %zu (%s)", path, body + at, why);
    assert_string_equal(err, want);
    unlink(path);
}

/* A record count beyond one byte per record of the payload is refused
 * before anything is allocated. */
static void test_trace_read_packed_count_too_large_rejected(void **state)
{
    (void)state;
    const uint8_t p[16] = {9, 0, 0, 0, 0, 0, 0, 0};   /* 9 records in 8 bytes */
    expect_packed_error("pkcount", p, sizeof(p), 0, "record count larger than the section holds");
}

/* A packed section too short to hold its count is refused. */
static void test_trace_read_packed_no_count_rejected(void **state)
{
    (void)state;
    const uint8_t p[8] = {0};
    expect_packed_error("pknocount", p, 0, 0, "record count larger than the section holds");
}

/* A varint still running at the end of the payload is refused. */
static void test_trace_read_packed_varint_past_payload_rejected(void **state)
{
    (void)state;
    const uint8_t p[16] = {8, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
    expect_packed_error("pkpast", p, sizeof(p), 8, "record runs past its section");
}

/* A varint with a needless trailing zero byte is refused. */
static void test_trace_read_packed_overlong_varint_rejected(void **state)
{
    (void)state;
    const uint8_t p[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x82, 0x00};
    expect_packed_error("pkoverlong", p, sizeof(p), 8, "overlong varint");
}

/* A delta of 2^32 in a 4-byte field (the stack id) is refused. */
static void test_trace_read_packed_value_too_wide_rejected(void **state)
{
    (void)state;
    const uint8_t p[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x80, 0x80, 0x80, 0x80, 0x10};
    expect_packed_error("pkwide", p, sizeof(p), 8, "value does not fit its field");
}

/* A varint past 64 bits in an 8-byte field (the address) is refused. */
static void test_trace_read_packed_value_past_64_bits_rejected(void **state)
{
    (void)state;
    const uint8_t p[24] = {1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
                           0xff, 0xff, 0xff, 0xff, 0x02};
    expect_packed_error("pk64", p, sizeof(p), 8, "value does not fit its field");
}

/* A map bit past the record's fields (a block has 4) is refused. */
static void test_trace_read_packed_unknown_field_bit_rejected(void **state)
{
    (void)state;
    const uint8_t p[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0x10};
    expect_packed_error("pkbit", p, sizeof(p), 8, "field bit past the record's fields");
}

/* A field marked changed by a zero delta is refused (one encoding per
 * record). */
static void test_trace_read_packed_zero_delta_rejected(void **state)
{
    (void)state;
    const uint8_t p[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
    expect_packed_error("pkzero", p, sizeof(p), 8, "field marked changed by zero");
}

/* A non-zero byte after the records is refused, at its offset. */
static void test_trace_read_packed_trailing_garbage_rejected(void **state)
{
    (void)state;
    const uint8_t p[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 7};
    expect_packed_error("pktrail", p, sizeof(p), 12, "bytes after the records are not zero padding");
}

/* Eight zero bytes after the records are more than padding. */
static void test_trace_read_packed_long_padding_rejected(void **state)
{
    (void)state;
    const uint8_t p[24] = {1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02};
    expect_packed_error("pkpad", p, sizeof(p), 10, "bytes after the records are not zero padding");
}

/* A last snapshot without its end marker: the complete ones load, and the
 * trace says it is incomplete. */
static void test_trace_read_incomplete_last_snapshot_kept_complete(void **state)
{
    (void)state;
    char path[512], err[512];
    lg_test_path(path, sizeof(path), "incomplete");
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    small_trace(tb);
    assert_int_equal(lg_tb_write_ex(tb, path, 3, true), 0);
    struct lg_proc_trace *t;
    assert_int_equal(lg_trace_load(path, &t, err, sizeof(err)), 0);
    assert_true(t->nsnaps == 2 && t->snaps[1].begin.seq == 2 && t->incomplete != NULL);
    lg_trace_free(t);
    lg_tb_free(tb);
    unlink(path);
}

/* A trace whose only snapshot is cut short is an error. */
static void test_trace_read_only_snapshot_incomplete_fails(void **state)
{
    (void)state;
    char path[512], err[512];
    lg_test_path(path, sizeof(path), "onlyincomplete");
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    small_trace(tb);
    assert_int_equal(lg_tb_write_ex(tb, path, 1, true), 0);
    assert_true(try_load(path, err, sizeof(err)) < 0 && strstr(err, "cut short") != NULL);
    lg_tb_free(tb);
    unlink(path);
}

/* A missing file says so. */
static void test_trace_read_missing_file_says_so(void **state)
{
    (void)state;
    char err[512];
    assert_true(try_load("/nonexistent/x.trace", err, sizeof(err)) < 0);
    assert_string_equal(err, "/nonexistent/x.trace: No such file or directory");
}

/* Random byte corruption never crashes the reader or the analysis. */
static void test_trace_read_random_corruption_survives(void **state)
{
    (void)state;
    char path[512], err[512];
    size_t len;
    lg_test_path(path, sizeof(path), "fuzz");
    uint8_t *orig = small_bytes(path, &len);
    uint8_t *buf = malloc(len);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int loaded = 0;
    for (int round = 0; round < 2000; round++) {
        memcpy(buf, orig, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(seed >> 33) % len;
            buf[at] = (uint8_t)(seed >> 17);
        }
        put_file(path, buf, len);
        struct lg_proc_trace *t = NULL;
        if (lg_trace_load(path, &t, err, sizeof(err)) == 0) {
            struct lg_analysis *a = NULL;
            struct lg_analysis_options opt = {.reach_paths = true};
            if (lg_analyze(&t->snaps[t->nsnaps - 1], &opt, &a) == 0)
                loaded++;
            lg_analysis_free(a);
        }
        lg_trace_free(t);
    }
    assert_true(loaded > 0);               /* some corruptions are harmless */
    free(buf);
    free(orig);
    unlink(path);
}

/* ---- EPOCHS --------------------------------------------------------------- */

/* Two modules at one address (the first unloaded in epoch 1), the second
 * stack recorded in epoch 1, EPOCHS written in the given form. Returns the
 * file's bytes (caller frees) and the offset of the first EPOCHS section. */
static uint8_t *epoch_bytes(const char *path, enum lg_tb_epochs_form form, size_t *len,
                            size_t *epochs_at)
{
    struct lg_tb *tb = lg_tb_new(4242, "/bin/prog");
    lg_tb_module(tb, "/bin/prog", 0x400000, 0x500000);
    uint32_t a = lg_tb_module(tb, "/lib/liba.so", 0x7f0000000000, 0x7f0000010000);
    lg_tb_module(tb, "/lib/libb.so", 0x7f0000000000, 0x7f0000010000);
    lg_tb_module_unloaded(tb, a, 1);
    uint32_t s0 = lg_tb_stack1(tb, 0x7f0000001000), s1 = lg_tb_stack1(tb, 0x7f0000001000);
    lg_tb_stack_epoch(tb, s1, 1);
    lg_tb_block(tb, 10, s0, 0);
    lg_tb_block(tb, 20, s1, 0);
    lg_tb_epochs_form(tb, form);
    assert_int_equal(lg_tb_write(tb, path), 0);
    lg_tb_free(tb);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*len);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    fclose(f);
    *epochs_at = find_section(buf, *len, LG_SEC_EPOCHS);
    assert_true(*epochs_at > 0);
    return buf;
}

/* the error loading an epoch trace of this form, checked against want
 * (printf format taking the path, then the offset) */
static void expect_epoch_error(const char *name, enum lg_tb_epochs_form form, const char *want_fmt,
                               bool at_second)
{
    char path[512], err[512], want[700];
    size_t len, at;
    lg_test_path(path, sizeof(path), name);
    uint8_t *buf = epoch_bytes(path, form, &len, &at);
    if (at_second) {
        struct lg_section_header h;
        memcpy(&h, buf + at, sizeof(h));
        at += sizeof(h) + h.length;
    } else {
        at += sizeof(struct lg_section_header);   /* the reader names the payload */
    }
    assert_true(try_load(path, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), want_fmt, path, at);
    assert_string_equal(err, want);
    free(buf);
    unlink(path);
}

/* A trace with EPOCHS loads with each module's unload epoch and each stack's
 * recording epoch. */
static void test_trace_read_epochs_arrays_read(void **state)
{
    (void)state;
    char path[512], err[512];
    size_t len, at;
    lg_test_path(path, sizeof(path), "epochs");
    free(epoch_bytes(path, LG_TB_EPOCHS_GOOD, &len, &at));
    struct lg_proc_trace *t;
    assert_int_equal(lg_trace_load(path, &t, err, sizeof(err)), 0);
    const struct lg_snap *s = &t->snaps[0];
    assert_true(s->module_unload != NULL && s->stack_epoch != NULL &&
                s->module_unload[0] == LG_NONE && s->module_unload[1] == 1 &&
                s->module_unload[2] == LG_NONE && s->stack_epoch[0] == 0 &&
                s->stack_epoch[1] == 1);
    lg_trace_free(t);
    unlink(path);
}

/* A trace without EPOCHS loads with no epoch arrays. */
static void test_trace_read_no_epochs_arrays_null(void **state)
{
    (void)state;
    char path[512], err[512];
    size_t len;
    lg_test_path(path, sizeof(path), "noepochs");
    free(small_bytes(path, &len));
    struct lg_proc_trace *t;
    assert_int_equal(lg_trace_load(path, &t, err, sizeof(err)), 0);
    assert_true(t->snaps[0].module_unload == NULL && t->snaps[0].stack_epoch == NULL);
    lg_trace_free(t);
    unlink(path);
}

/* EPOCHS with fewer module epochs than modules is rejected, counts named. */
static void test_trace_read_epochs_count_mismatch_rejected(void **state)
{
    (void)state;
    expect_epoch_error("epochcount", LG_TB_EPOCHS_FEWER_MODULES,
                       "%s: corrupt epoch table at offset %zu (2 module epochs for 3 modules)",
                       false);
}

/* EPOCHS whose payload stops after its header is rejected. */
static void test_trace_read_epochs_short_payload_rejected(void **state)
{
    (void)state;
    expect_epoch_error("epochshort", LG_TB_EPOCHS_SHORT,
                       "%s: corrupt epoch table at offset %zu (8 bytes cannot hold 3 module and "
                       "2 stack epochs)", false);
}

/* EPOCHS before MODULES and STACKS is rejected. */
static void test_trace_read_epochs_before_modules_rejected(void **state)
{
    (void)state;
    expect_epoch_error("epochfirst", LG_TB_EPOCHS_BEFORE_MODULES,
                       "%s: corrupt epoch table at offset %zu (before the module map and the "
                       "stack table)", false);
}

/* A second EPOCHS in one snapshot is rejected. */
static void test_trace_read_epochs_twice_rejected(void **state)
{
    (void)state;
    expect_epoch_error("epochtwice", LG_TB_EPOCHS_TWICE,
                       "%s: corrupt trace at offset %zu (second epoch table in snapshot 1)", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_read_good_trace_loads),
        cmocka_unit_test(test_trace_read_tables_intact),
        cmocka_unit_test(test_trace_read_truncated_names_offset),
        cmocka_unit_test(test_trace_read_every_truncation_fails_cleanly),
        cmocka_unit_test(test_trace_read_foreign_file_rejected),
        cmocka_unit_test(test_trace_read_newer_version_rejected),
        cmocka_unit_test(test_trace_read_huge_string_count_rejected),
        cmocka_unit_test(test_trace_read_huge_stack_depth_rejected),
        cmocka_unit_test(test_trace_read_huge_section_length_rejected),
        cmocka_unit_test(test_trace_read_edge_out_of_range_rejected),
        cmocka_unit_test(test_trace_read_pack_layouts_cover_records),
        cmocka_unit_test(test_trace_read_v1_and_v2_same_records),
        cmocka_unit_test(test_trace_read_packed_blocks_example_bytes),
        cmocka_unit_test(test_trace_read_packed_stacks_example_bytes),
        cmocka_unit_test(test_trace_read_packed_stacks_round_trip),
        cmocka_unit_test(test_trace_read_packed_pointer_array_one_byte_per_edge),
        cmocka_unit_test(test_trace_read_packed_stack_depth_past_payload_rejected),
        cmocka_unit_test(test_trace_read_packed_count_too_large_rejected),
        cmocka_unit_test(test_trace_read_packed_no_count_rejected),
        cmocka_unit_test(test_trace_read_packed_varint_past_payload_rejected),
        cmocka_unit_test(test_trace_read_packed_overlong_varint_rejected),
        cmocka_unit_test(test_trace_read_packed_value_too_wide_rejected),
        cmocka_unit_test(test_trace_read_packed_value_past_64_bits_rejected),
        cmocka_unit_test(test_trace_read_packed_unknown_field_bit_rejected),
        cmocka_unit_test(test_trace_read_packed_zero_delta_rejected),
        cmocka_unit_test(test_trace_read_packed_trailing_garbage_rejected),
        cmocka_unit_test(test_trace_read_packed_long_padding_rejected),
        cmocka_unit_test(test_trace_read_incomplete_last_snapshot_kept_complete),
        cmocka_unit_test(test_trace_read_only_snapshot_incomplete_fails),
        cmocka_unit_test(test_trace_read_missing_file_says_so),
        cmocka_unit_test(test_trace_read_random_corruption_survives),
        cmocka_unit_test(test_trace_read_epochs_arrays_read),
        cmocka_unit_test(test_trace_read_no_epochs_arrays_null),
        cmocka_unit_test(test_trace_read_epochs_count_mismatch_rejected),
        cmocka_unit_test(test_trace_read_epochs_short_payload_rejected),
        cmocka_unit_test(test_trace_read_epochs_before_modules_rejected),
        cmocka_unit_test(test_trace_read_epochs_twice_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
