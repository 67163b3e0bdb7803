/* trace_builder.c - synthetic traces for the CLI's tests (trace_builder.h).
 * Owns growable arrays of every record kind and writes them out section by
 * section, each payload padded to 8 bytes, exactly as lg_trace.h lays out;
 * record sections packed with lg_pack.h's encoder in version 2. */
#include "trace_builder.h"
#include "lg_pack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC(T) struct { T *v; size_t n, cap; }

struct tb_mod {
    struct lg_module m;
    char *path;
    uint32_t unload;                  /* unload epoch, LG_NONE while loaded */
};

struct tb_stk {
    uint32_t depth;
    uint64_t *pcs;
    uint32_t epoch;                   /* the epoch it was recorded in */
};

struct lg_tb {
    struct lg_process proc;
    char *exe;
    VEC(char *) argv;
    struct lg_snapshot_begin begin;
    VEC(char *) strings;
    VEC(struct tb_mod) modules;
    VEC(struct tb_stk) stacks;
    VEC(struct lg_block) blocks;
    VEC(struct lg_object) objects;
    VEC(uint32_t) block_obj;          /* block -> object index or LG_NONE */
    VEC(struct lg_edge) edges;
    VEC(struct lg_region) regions;
    VEC(struct lg_root) roots;
    VEC(struct lg_history) history;
    uint32_t global_region;
    uint64_t next_addr;
    enum lg_tb_epochs_form epochs;
    uint32_t version;                 /* format version to write */
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "trace_builder: out of memory\n");
        abort();
    }
    return q;
}

#define PUSH(vec, item)                                                       \
    do {                                                                      \
        if ((vec).n == (vec).cap) {                                           \
            (vec).cap = (vec).cap ? (vec).cap * 2 : 16;                       \
            (vec).v = xrealloc((vec).v, (vec).cap * sizeof(*(vec).v));        \
        }                                                                     \
        (vec).v[(vec).n++] = (item);                                          \
    } while (0)

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

struct lg_tb *lg_tb_new(uint32_t pid, const char *exe)
{
    struct lg_tb *tb = xrealloc(NULL, sizeof(*tb));
    memset(tb, 0, sizeof(*tb));
    tb->proc.pid = pid;
    tb->proc.ppid = 1;
    tb->proc.start_time_ns = 1000000000ull;
    tb->exe = xstrdup(exe ? exe : "/usr/bin/prog");
    tb->begin.seq = 1;
    tb->begin.kind = LG_SNAP_EXIT;
    tb->begin.flags = LG_SNAPF_HISTORY;
    tb->begin.time_ns = 2000000000ull;
    tb->global_region = LG_NONE;
    tb->next_addr = 0x100000;
    tb->version = LG_TRACE_VERSION;
    return tb;
}

void lg_tb_free(struct lg_tb *tb)
{
    if (tb == NULL)
        return;
    free(tb->exe);
    for (size_t i = 0; i < tb->argv.n; i++)
        free(tb->argv.v[i]);
    for (size_t i = 0; i < tb->strings.n; i++)
        free(tb->strings.v[i]);
    for (size_t i = 0; i < tb->modules.n; i++)
        free(tb->modules.v[i].path);
    for (size_t i = 0; i < tb->stacks.n; i++)
        free(tb->stacks.v[i].pcs);
    free(tb->argv.v);
    free(tb->strings.v);
    free(tb->modules.v);
    free(tb->stacks.v);
    free(tb->blocks.v);
    free(tb->objects.v);
    free(tb->block_obj.v);
    free(tb->edges.v);
    free(tb->regions.v);
    free(tb->roots.v);
    free(tb->history.v);
    free(tb);
}

void lg_tb_arg(struct lg_tb *tb, const char *arg)
{
    PUSH(tb->argv, xstrdup(arg));
}

void lg_tb_snapshot_kind(struct lg_tb *tb, uint32_t kind, uint32_t signal)
{
    tb->begin.kind = kind;
    tb->begin.signal = signal;
}

void lg_tb_snapshot_flags(struct lg_tb *tb, uint32_t flags)
{
    tb->begin.flags = flags;
}

uint32_t lg_tb_string(struct lg_tb *tb, const char *s)
{
    for (size_t i = 0; i < tb->strings.n; i++)
        if (strcmp(tb->strings.v[i], s) == 0)
            return (uint32_t)i;
    PUSH(tb->strings, xstrdup(s));
    return (uint32_t)(tb->strings.n - 1);
}

uint32_t lg_tb_module(struct lg_tb *tb, const char *path, uint64_t start, uint64_t end)
{
    struct tb_mod m = {{start, start, end, (uint32_t)strlen(path), 0}, xstrdup(path), LG_NONE};
    PUSH(tb->modules, m);
    return (uint32_t)(tb->modules.n - 1);
}

uint32_t lg_tb_stack(struct lg_tb *tb, const uint64_t *pcs, uint32_t depth)
{
    struct tb_stk s = {depth, xrealloc(NULL, depth * sizeof(uint64_t)), 0};
    memcpy(s.pcs, pcs, depth * sizeof(uint64_t));
    PUSH(tb->stacks, s);
    return (uint32_t)(tb->stacks.n - 1);
}

uint32_t lg_tb_stack1(struct lg_tb *tb, uint64_t pc)
{
    return lg_tb_stack(tb, &pc, 1);
}

void lg_tb_module_unloaded(struct lg_tb *tb, uint32_t module, uint32_t epoch)
{
    tb->modules.v[module].unload = epoch;
    if (tb->epochs == LG_TB_EPOCHS_NONE)
        tb->epochs = LG_TB_EPOCHS_GOOD;
}

void lg_tb_stack_epoch(struct lg_tb *tb, uint32_t stack, uint32_t epoch)
{
    tb->stacks.v[stack].epoch = epoch;
    if (tb->epochs == LG_TB_EPOCHS_NONE)
        tb->epochs = LG_TB_EPOCHS_GOOD;
}

void lg_tb_format_version(struct lg_tb *tb, uint32_t version)
{
    tb->version = version;
}

void lg_tb_epochs_form(struct lg_tb *tb, enum lg_tb_epochs_form form)
{
    tb->epochs = form;
}

uint32_t lg_tb_block_at(struct lg_tb *tb, uint64_t address, uint64_t size,
                        uint32_t stack, uint32_t flags)
{
    if (tb->blocks.n > 0 && address <= tb->blocks.v[tb->blocks.n - 1].address) {
        fprintf(stderr, "trace_builder: blocks must be added by increasing address\n");
        abort();
    }
    struct lg_block b = {address, size, stack, flags};
    PUSH(tb->blocks, b);
    PUSH(tb->block_obj, LG_NONE);
    tb->next_addr = (address + size + 0xffff) & ~(uint64_t)0xffff;
    if (tb->next_addr <= address)
        tb->next_addr = address + 0x10000;
    return (uint32_t)(tb->blocks.n - 1);
}

uint32_t lg_tb_block(struct lg_tb *tb, uint64_t size, uint32_t stack, uint32_t flags)
{
    return lg_tb_block_at(tb, tb->next_addr, size, stack, flags);
}

uint32_t lg_tb_object(struct lg_tb *tb, const char *type, uint64_t size, int64_t refcnt,
                      uint32_t stack)
{
    uint32_t b = lg_tb_block(tb, size, stack, LG_BLOCKF_OBJECT);
    struct lg_object o = {tb->blocks.v[b].address, b, lg_tb_string(tb, type), refcnt,
                          LG_OBJF_GC_TRACKED, LG_WORLD_LIBREFCOUNT};
    PUSH(tb->objects, o);
    tb->block_obj.v[b] = (uint32_t)(tb->objects.n - 1);
    return b;
}

uint32_t lg_tb_object_index(const struct lg_tb *tb, uint32_t block)
{
    return block < tb->block_obj.n ? tb->block_obj.v[block] : LG_NONE;
}

void lg_tb_object_flags(struct lg_tb *tb, uint32_t block, uint32_t flags)
{
    uint32_t o = lg_tb_object_index(tb, block);
    if (o != LG_NONE)
        tb->objects.v[o].flags = flags;
}

uint64_t lg_tb_address(const struct lg_tb *tb, uint32_t block)
{
    return tb->blocks.v[block].address;
}

uint32_t lg_tb_edge(struct lg_tb *tb, uint32_t from, uint32_t to, uint32_t kind,
                    uint32_t offset, uint32_t field)
{
    struct lg_edge e = {from, to, offset, field, kind, 0};
    PUSH(tb->edges, e);
    return (uint32_t)(tb->edges.n - 1);
}

uint32_t lg_tb_ref(struct lg_tb *tb, uint32_t from, uint32_t to, const char *field)
{
    return lg_tb_edge(tb, from, to, LG_EDGE_PRECISE, LG_NONE,
                      field ? lg_tb_string(tb, field) : LG_NONE);
}

uint32_t lg_tb_ptr(struct lg_tb *tb, uint32_t from, uint32_t to)
{
    return lg_tb_edge(tb, from, to, LG_EDGE_START, 16, LG_NONE);
}

uint32_t lg_tb_interior(struct lg_tb *tb, uint32_t from, uint32_t to)
{
    return lg_tb_edge(tb, from, to, LG_EDGE_INTERIOR, 24, LG_NONE);
}

uint32_t lg_tb_region(struct lg_tb *tb, uint32_t kind, const char *name,
                      uint64_t start, uint64_t end, uint32_t module)
{
    struct lg_region r = {start, end, kind, lg_tb_string(tb, name), 0, module};
    PUSH(tb->regions, r);
    return (uint32_t)(tb->regions.n - 1);
}

uint32_t lg_tb_root(struct lg_tb *tb, uint32_t region, uint32_t to, uint32_t kind)
{
    const struct lg_region *r = &tb->regions.v[region];
    struct lg_root root = {r->start + 8 * (tb->roots.n % 512), region, to, kind, 0};
    PUSH(tb->roots, root);
    return (uint32_t)(tb->roots.n - 1);
}

static uint32_t global_region(struct lg_tb *tb)
{
    if (tb->global_region == LG_NONE)
        tb->global_region = lg_tb_region(tb, LG_REGION_MODULE_DATA, tb->exe,
                                         0x600000, 0x601000, LG_NONE);
    return tb->global_region;
}

uint32_t lg_tb_global(struct lg_tb *tb, uint32_t to)
{
    return lg_tb_root(tb, global_region(tb), to, LG_EDGE_START);
}

uint32_t lg_tb_global_interior(struct lg_tb *tb, uint32_t to)
{
    return lg_tb_root(tb, global_region(tb), to, LG_EDGE_INTERIOR);
}

void lg_tb_history(struct lg_tb *tb, uint32_t block, uint32_t event, uint32_t stack,
                   int64_t refcnt_after)
{
    struct lg_history h = {lg_tb_object_index(tb, block), event, stack, 0, refcnt_after};
    PUSH(tb->history, h);
}

/* ---- writing ------------------------------------------------------------ */

struct wbuf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct wbuf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        while (b->n + n > b->cap)
            b->cap = b->cap ? b->cap * 2 : 4096;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_u32(struct wbuf *b, uint32_t v)
{
    put(b, &v, 4);
}

static void put_str(struct wbuf *b, const char *s)
{
    put_u32(b, (uint32_t)strlen(s));
    put(b, s, strlen(s));
}

/* one section from a payload buffer: header, payload, zero padding to 8 */
static void section(struct wbuf *out, uint32_t tag, const struct wbuf *payload)
{
    static const uint8_t zero[8];
    size_t pad = (8 - payload->n % 8) % 8;
    struct lg_section_header h = {tag, 0, payload->n + pad};
    put(out, &h, sizeof(h));
    if (payload->n)
        put(out, payload->p, payload->n);
    put(out, zero, pad);
}

static void section_raw(struct wbuf *out, uint32_t tag, const void *data, size_t n)
{
    struct wbuf p = {(uint8_t *)data, n, n};
    section(out, tag, &p);
}

/* a record section: packed (version 2) or the array as it is (version 1) */
static void records(struct lg_tb *tb, struct wbuf *out, uint32_t tag, const void *recs,
                    size_t n, size_t size)
{
    if (tb->version < 2) {
        section_raw(out, tag, recs, n * size);
        return;
    }
    const struct lg_pack_layout *l = lg_pack_layout(tag);
    struct wbuf p = {0};
    struct lg_pack_state st;
    uint8_t rec[LG_PACK_MAX_BYTES];
    uint64_t count = n;
    memset(&st, 0, sizeof(st));
    put(&p, &count, sizeof(count));
    for (size_t i = 0; i < n; i++)
        put(&p, rec, lg_pack_record(l, &st, (const uint8_t *)recs + i * size, rec));
    section(out, tag, &p);
    free(p.p);
}

/* EPOCHS in the form tb->epochs asks for */
static void epochs(struct lg_tb *tb, struct wbuf *out)
{
    struct wbuf p = {0};
    uint32_t nmod = (uint32_t)tb->modules.n;

    if (tb->epochs == LG_TB_EPOCHS_FEWER_MODULES && nmod > 0)
        nmod--;
    put_u32(&p, nmod);
    put_u32(&p, (uint32_t)tb->stacks.n);
    if (tb->epochs != LG_TB_EPOCHS_SHORT) {
        for (uint32_t i = 0; i < nmod; i++)
            put_u32(&p, tb->modules.v[i].unload);
        for (size_t i = 0; i < tb->stacks.n; i++)
            put_u32(&p, tb->stacks.v[i].epoch);
    }
    section(out, LG_SEC_EPOCHS, &p);
    if (tb->epochs == LG_TB_EPOCHS_TWICE)
        section(out, LG_SEC_EPOCHS, &p);
    free(p.p);
}

static void snapshot(struct lg_tb *tb, struct wbuf *out, uint32_t seq, bool with_end)
{
    struct wbuf p = {0};
    struct lg_snapshot_begin begin = tb->begin;
    begin.seq = seq;
    section_raw(out, LG_SEC_SNAPSHOT_BEGIN, &begin, sizeof(begin));

    put_u32(&p, (uint32_t)tb->strings.n);
    for (size_t i = 0; i < tb->strings.n; i++)
        put_str(&p, tb->strings.v[i]);
    section(out, LG_SEC_STRINGS, &p);
    if (tb->epochs == LG_TB_EPOCHS_BEFORE_MODULES)
        epochs(tb, out);

    p.n = 0;
    for (size_t i = 0; i < tb->modules.n; i++) {
        put(&p, &tb->modules.v[i].m, sizeof(struct lg_module));
        put(&p, tb->modules.v[i].path, tb->modules.v[i].m.path_len);
    }
    section(out, LG_SEC_MODULES, &p);

    p.n = 0;
    if (tb->version < 2) {
        for (size_t i = 0; i < tb->stacks.n; i++) {
            struct lg_stack s = {tb->stacks.v[i].depth, 0};
            put(&p, &s, sizeof(s));
            put(&p, tb->stacks.v[i].pcs, s.depth * sizeof(uint64_t));
        }
    } else {
        uint64_t count = tb->stacks.n, last = 0;
        const uint64_t *prev = NULL;
        uint32_t prevdepth = 0;
        uint8_t v[10];
        put(&p, &count, sizeof(count));
        for (size_t i = 0; i < tb->stacks.n; i++) {
            const struct tb_stk *s = &tb->stacks.v[i];
            put(&p, v, lg_pack_uleb(s->depth, v));
            for (uint32_t k = 0; k < s->depth; k++)
                put(&p, v, lg_pack_frame(prev, prevdepth, s->depth, k, s->pcs[k], &last, v));
            prev = s->pcs;
            prevdepth = s->depth;
        }
    }
    section(out, LG_SEC_STACKS, &p);
    free(p.p);
    if (tb->epochs != LG_TB_EPOCHS_NONE && tb->epochs != LG_TB_EPOCHS_BEFORE_MODULES)
        epochs(tb, out);

    records(tb, out, LG_SEC_BLOCKS, tb->blocks.v, tb->blocks.n, sizeof(struct lg_block));
    records(tb, out, LG_SEC_OBJECTS, tb->objects.v, tb->objects.n, sizeof(struct lg_object));
    records(tb, out, LG_SEC_EDGES, tb->edges.v, tb->edges.n, sizeof(struct lg_edge));
    records(tb, out, LG_SEC_REGIONS, tb->regions.v, tb->regions.n, sizeof(struct lg_region));
    records(tb, out, LG_SEC_ROOTS, tb->roots.v, tb->roots.n, sizeof(struct lg_root));
    records(tb, out, LG_SEC_HISTORY, tb->history.v, tb->history.n, sizeof(struct lg_history));
    if (with_end) {
        struct lg_snapshot_end end = {tb->blocks.n, tb->objects.n, tb->edges.n, tb->roots.n};
        section_raw(out, LG_SEC_SNAPSHOT_END, &end, sizeof(end));
    }
}

int lg_tb_write_ex(struct lg_tb *tb, const char *path, unsigned copies, bool cut_last)
{
    struct wbuf out = {0}, p = {0};
    struct lg_file_header fh;
    memcpy(fh.magic, LG_TRACE_MAGIC, LG_TRACE_MAGIC_LEN);
    fh.version = tb->version;
    fh.header_size = sizeof(fh);
    put(&out, &fh, sizeof(fh));

    struct lg_process proc = tb->proc;
    proc.argc = (uint32_t)tb->argv.n;
    put(&p, &proc, sizeof(proc));
    put_str(&p, tb->exe);
    for (size_t i = 0; i < tb->argv.n; i++)
        put_str(&p, tb->argv.v[i]);
    section(&out, LG_SEC_PROCESS, &p);
    free(p.p);

    for (unsigned i = 1; i <= copies; i++)
        snapshot(tb, &out, i, !(cut_last && i == copies));

    int err = 0;
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        err = -errno;
        goto out;
    }
    if (fwrite(out.p, 1, out.n, f) != out.n)
        err = -EIO;
    if (fclose(f) != 0 && err == 0)
        err = -errno;
out:
    free(out.p);
    return err;
}

int lg_tb_write(struct lg_tb *tb, const char *path)
{
    return lg_tb_write_ex(tb, path, 1, false);
}
