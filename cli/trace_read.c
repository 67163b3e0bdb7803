/* trace_read.c - loads a trace file into the model of model.h. Owns the
 * mapping of the file, the copies of strings and module paths, and the
 * stack and module arrays; the record arrays and the stacks' frames point
 * into the map (version 1, fixed-size records) or are decoded from packed
 * sections into arrays each snapshot owns (version 2, lg_pack.h).
 *
 * Hostile input must never crash, hang or exhaust memory: every length and
 * count is checked against the bytes that remain BEFORE anything is
 * allocated, every loop advances through the file, and every index a record
 * holds (block, object, stack, string, region) is checked when its snapshot
 * ends, so the analysis can trust them. Errors are one line naming the file
 * and the offset. Start reading at lg_trace_load(). */
#include "model.h"
#include "lg_pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* the part of lg_proc_trace only the reader sees */
struct reader_priv {
    struct lg_proc_trace pub;
    void *map;
    size_t map_len;
};

struct reader {
    const char *path;
    const uint8_t *base;
    uint64_t size;
    char *err;
    size_t errlen;
    struct lg_proc_trace *t;
    uint32_t version;                 /* the file's format version */
};

static const char *section_name(uint32_t tag)
{
    switch (tag) {
    case LG_SEC_PROCESS: return "process header";
    case LG_SEC_SNAPSHOT_BEGIN: return "snapshot header";
    case LG_SEC_STRINGS: return "string table";
    case LG_SEC_MODULES: return "module map";
    case LG_SEC_STACKS: return "stack table";
    case LG_SEC_BLOCKS: return "block table";
    case LG_SEC_OBJECTS: return "object table";
    case LG_SEC_EDGES: return "edge table";
    case LG_SEC_REGIONS: return "region table";
    case LG_SEC_ROOTS: return "root table";
    case LG_SEC_HISTORY: return "history";
    case LG_SEC_SNAPSHOT_END: return "snapshot end";
    case LG_SEC_EPOCHS: return "epoch table";
    default: return "unknown section";
    }
}

static int fail(struct reader *r, int err, const char *fmt, ...)
{
    int n = snprintf(r->err, r->errlen, "%s: ", r->path);
    if (n < 0 || (size_t)n >= r->errlen)
        return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return err;
}

static int truncated(struct reader *r, const char *what)
{
    return fail(r, -EINVAL, "truncated at offset %llu (%s)", (unsigned long long)r->size, what);
}

const char *lg_snap_string(const struct lg_snap *s, uint32_t id)
{
    if (s == NULL || id == LG_NONE || id >= s->nstrings)
        return "?";
    return s->strings[id];
}

static char *copy_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* a length-prefixed string at *off inside [.., end) */
static int read_lstring(struct reader *r, uint64_t *off, uint64_t end, char **out,
                        const char *what)
{
    uint32_t len;
    if (end - *off < 4)
        return fail(r, -EINVAL, "corrupt %s at offset %llu (string runs past its section)",
                    what, (unsigned long long)*off);
    memcpy(&len, r->base + *off, 4);
    if (end - *off - 4 < len)
        return fail(r, -EINVAL, "corrupt %s at offset %llu (string of %u bytes runs past its section)",
                    what, (unsigned long long)*off, len);
    *out = copy_bytes(r->base + *off + 4, len);
    if (*out == NULL)
        return -ENOMEM;
    *off += 4 + (uint64_t)len;
    return 0;
}

static int read_process(struct reader *r, uint64_t off, uint64_t len)
{
    struct lg_proc_trace *t = r->t;
    uint64_t end = off + len;
    int err;
    if (len < sizeof(struct lg_process))
        return fail(r, -EINVAL, "corrupt process header at offset %llu", (unsigned long long)off);
    memcpy(&t->proc, r->base + off, sizeof(t->proc));
    off += sizeof(t->proc);
    err = read_lstring(r, &off, end, &t->exe, "process header");
    if (err < 0)
        return err;
    /* each argument needs at least its 4-byte length */
    if (t->proc.argc > (end - off) / 4)
        return fail(r, -EINVAL, "corrupt process header at offset %llu (argc %u is more than it holds)",
                    (unsigned long long)off, t->proc.argc);
    t->argv = calloc((size_t)t->proc.argc + 1, sizeof(char *));
    if (t->argv == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->proc.argc; i++) {
        err = read_lstring(r, &off, end, &t->argv[i], "process header");
        if (err < 0)
            return err;
    }
    return 0;
}

static void free_snap(struct lg_snap *s)
{
    if (s->strings) {
        for (uint32_t i = 0; i < s->nstrings; i++)
            free((char *)s->strings[i]);
        free(s->strings);
    }
    if (s->modules) {
        for (uint32_t i = 0; i < s->nmodules; i++)
            free((char *)s->modules[i].path);
        free(s->modules);
    }
    free(s->stacks);
    free(s->stack_frames);
    if (s->owns_records) {
        free((void *)s->blocks);
        free((void *)s->objects);
        free((void *)s->edges);
        free((void *)s->regions);
        free((void *)s->roots);
        free((void *)s->history);
    }
    memset(s, 0, sizeof(*s));
}

static int read_strings(struct reader *r, struct lg_snap *s, uint64_t off, uint64_t len)
{
    uint64_t end = off + len;
    uint32_t count;
    if (len < 4)
        return fail(r, -EINVAL, "corrupt string table at offset %llu", (unsigned long long)off);
    memcpy(&count, r->base + off, 4);
    off += 4;
    if (count > (end - off) / 4)
        return fail(r, -EINVAL, "corrupt string table at offset %llu (%u strings cannot fit in %llu bytes)",
                    (unsigned long long)off - 4, count, (unsigned long long)len);
    s->strings = calloc(count ? count : 1, sizeof(char *));
    if (s->strings == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        int err = read_lstring(r, &off, end, (char **)&s->strings[i], "string table");
        if (err < 0)
            return err;
        s->nstrings = i + 1;
    }
    return 0;
}

static int read_modules(struct reader *r, struct lg_snap *s, uint64_t off, uint64_t len)
{
    uint64_t end = off + len, p = off;
    uint32_t n = 0;
    /* count first, checking every record, then allocate */
    while (end - p >= sizeof(struct lg_module)) {
        struct lg_module m;
        memcpy(&m, r->base + p, sizeof(m));
        uint64_t need = (uint64_t)m.path_len + m.build_id_len;
        if (end - p - sizeof(m) < need)
            return fail(r, -EINVAL, "corrupt module map at offset %llu (module runs past its section)",
                        (unsigned long long)p);
        p += sizeof(m) + need;
        n++;
    }
    /* what is left is padding (fewer than 8 bytes) */
    if (end - p >= 8)
        return fail(r, -EINVAL, "corrupt module map at offset %llu", (unsigned long long)p);
    s->modules = calloc(n ? n : 1, sizeof(*s->modules));
    if (s->modules == NULL)
        return -ENOMEM;
    p = off;
    for (uint32_t i = 0; i < n; i++) {
        struct lg_mod *m = &s->modules[i];
        memcpy(&m->m, r->base + p, sizeof(m->m));
        p += sizeof(m->m);
        m->path = copy_bytes(r->base + p, m->m.path_len);
        if (m->path == NULL)
            return -ENOMEM;
        s->nmodules = i + 1;
        p += m->m.path_len;
        m->build_id = m->m.build_id_len ? r->base + p : NULL;
        p += m->m.build_id_len;
    }
    return 0;
}

static int read_stacks(struct reader *r, struct lg_snap *s, uint64_t off, uint64_t len)
{
    uint64_t end = off + len, p = off;
    uint32_t n = 0;
    while (end - p >= sizeof(struct lg_stack)) {
        struct lg_stack st;
        memcpy(&st, r->base + p, sizeof(st));
        if ((end - p - sizeof(st)) / 8 < st.depth)
            return fail(r, -EINVAL, "corrupt stack table at offset %llu (depth %u runs past its section)",
                        (unsigned long long)p, st.depth);
        p += sizeof(st) + (uint64_t)st.depth * 8;
        if (n == UINT32_MAX - 1)
            return fail(r, -EINVAL, "corrupt stack table at offset %llu (too many stacks)",
                        (unsigned long long)p);
        n++;
    }
    s->stacks = calloc(n ? n : 1, sizeof(*s->stacks));
    if (s->stacks == NULL)
        return -ENOMEM;
    p = off;
    for (uint32_t i = 0; i < n; i++) {
        struct lg_stack st;
        memcpy(&st, r->base + p, sizeof(st));
        s->stacks[i].depth = st.depth;
        s->stacks[i].pcs = (const uint64_t *)(r->base + p + sizeof(st));
        p += sizeof(st) + (uint64_t)st.depth * 8;
    }
    s->nstacks = n;
    return 0;
}

/* STACKS in version 2 (lg_pack.h): the frames are decoded into one array
 * the snapshot owns, at most one per payload byte, allocated before
 * decoding */
static int read_packed_stacks(struct reader *r, struct lg_snap *s, uint64_t off, uint64_t len)
{
    const uint8_t *p = r->base + off;
    uint64_t n, at = 0;
    int err = lg_pack_count(p, len, &n);
    if (err < 0)
        return fail(r, -EINVAL, "corrupt stack table at offset %llu (%s)",
                    (unsigned long long)off, lg_pack_strerror(err));
    if (n > UINT32_MAX - 1)
        return fail(r, -EINVAL, "corrupt stack table at offset %llu (too many stacks)",
                    (unsigned long long)off);
    uint32_t *depths = calloc(n ? n : 1, sizeof(*depths));
    s->stack_frames = calloc(len, sizeof(*s->stack_frames));
    s->stacks = calloc(n ? n : 1, sizeof(*s->stacks));
    if (depths == NULL || s->stack_frames == NULL || s->stacks == NULL) {
        free(depths);
        return -ENOMEM;
    }
    err = lg_unpack_stacks(p, len, n, depths, s->stack_frames, &at);
    if (err < 0) {
        free(depths);
        return fail(r, -EINVAL, "corrupt stack table at offset %llu (%s)",
                    (unsigned long long)(off + at), lg_pack_strerror(err));
    }
    const uint64_t *pc = s->stack_frames;
    for (uint64_t i = 0; i < n; i++) {
        s->stacks[i].depth = depths[i];
        s->stacks[i].pcs = pc;
        pc += depths[i];
    }
    s->nstacks = (uint32_t)n;
    free(depths);
    return 0;
}

/* EPOCHS: its counts must be those of the MODULES and STACKS read before
 * it in this snapshot; the arrays point into the map (4-byte aligned: every
 * section starts 8-aligned and the header is 8 bytes). */
static int read_epochs(struct reader *r, struct lg_snap *s, uint32_t seen, uint64_t off,
                       uint64_t len)
{
    struct lg_epochs e;
    unsigned long long at = (unsigned long long)off;

    if (!(seen & (1u << LG_SEC_MODULES)) || !(seen & (1u << LG_SEC_STACKS)))
        return fail(r, -EINVAL, "corrupt epoch table at offset %llu (before the module map "
                    "and the stack table)", at);
    if (len < sizeof(e))
        return fail(r, -EINVAL, "corrupt epoch table at offset %llu (no header)", at);
    memcpy(&e, r->base + off, sizeof(e));
    if (e.nmodules != s->nmodules)
        return fail(r, -EINVAL, "corrupt epoch table at offset %llu (%u module epochs for %u modules)",
                    at, e.nmodules, s->nmodules);
    if (e.nstacks != s->nstacks)
        return fail(r, -EINVAL, "corrupt epoch table at offset %llu (%u stack epochs for %u stacks)",
                    at, e.nstacks, s->nstacks);
    if ((len - sizeof(e)) / 4 < (uint64_t)e.nmodules + e.nstacks)
        return fail(r, -EINVAL, "corrupt epoch table at offset %llu (%llu bytes cannot hold %u "
                    "module and %u stack epochs)", at, (unsigned long long)len, e.nmodules,
                    e.nstacks);
    s->module_unload = (const uint32_t *)(r->base + off + sizeof(e));
    s->stack_epoch = s->module_unload + e.nmodules;
    return 0;
}

/* a fixed-size record array pointing into the map */
static int read_array(struct reader *r, uint64_t off, uint64_t len, size_t recsize,
                      const char *what, const void **out, uint64_t *count)
{
    if (len % recsize != 0)
        return fail(r, -EINVAL, "corrupt %s at offset %llu (%llu bytes is not a whole number of records)",
                    what, (unsigned long long)off, (unsigned long long)len);
    *out = r->base + off;
    *count = len / recsize;
    return 0;
}

/* a packed record section (version 2), decoded into an array the snapshot
 * owns; the count is checked against the payload before anything is
 * allocated, so the array is at most 32 times the section's size */
static int read_packed(struct reader *r, struct lg_snap *s, uint32_t tag, uint64_t off,
                       uint64_t len, const void **out, uint64_t *count)
{
    const struct lg_pack_layout *l = lg_pack_layout(tag);
    const uint8_t *p = r->base + off;
    uint64_t n, at = 0;
    int err = lg_pack_count(p, len, &n);
    if (err < 0)
        return fail(r, -EINVAL, "corrupt %s at offset %llu (%s)", section_name(tag),
                    (unsigned long long)off, lg_pack_strerror(err));
    void *a = calloc(n ? n : 1, l->size);
    if (a == NULL)
        return -ENOMEM;
    s->owns_records = true;
    *out = a;                         /* freed with the snapshot, even on error */
    err = lg_unpack_section(l, p, len, n, a, &at);
    if (err < 0)
        return fail(r, -EINVAL, "corrupt %s at offset %llu (%s)", section_name(tag),
                    (unsigned long long)(off + at), lg_pack_strerror(err));
    *count = n;
    return 0;
}

/* A record section: packed in version 2, an array in the map in version 1. */
static int read_records(struct reader *r, struct lg_snap *s, uint32_t tag, uint64_t off,
                        uint64_t len, size_t recsize, const void **out, uint64_t *count)
{
    if (r->version >= 2)
        return read_packed(r, s, tag, off, len, out, count);
    return read_array(r, off, len, recsize, section_name(tag), out, count);
}

/* Every index a record holds must be in range; blocks must be sorted. */
static int check_snap(struct reader *r, struct lg_snap *s, uint64_t off)
{
#define BAD(...) fail(r, -EINVAL, __VA_ARGS__)
    unsigned long long at = (unsigned long long)off;
    if (s->nblocks > UINT32_MAX - 1 || s->nobjects > UINT32_MAX - 1 ||
        s->nedges > UINT32_MAX - 1 || s->nroots > UINT32_MAX - 1 ||
        s->nregions > UINT32_MAX - 1 || s->nhistory > UINT32_MAX - 1)
        return BAD("snapshot %u ending at offset %llu has more than 2^32 records in a table",
                   s->begin.seq, at);
    for (uint64_t i = 0; i < s->nblocks; i++) {
        const struct lg_block *b = &s->blocks[i];
        if (i > 0 && b->address <= s->blocks[i - 1].address)
            return BAD("snapshot %u: block %llu is out of address order (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, at);
        if (b->stack != LG_NONE && b->stack >= s->nstacks)
            return BAD("snapshot %u: block %llu names stack %u of %u (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, b->stack, s->nstacks, at);
    }
    for (uint64_t i = 0; i < s->nobjects; i++) {
        const struct lg_object *o = &s->objects[i];
        if (o->block >= s->nblocks)
            return BAD("snapshot %u: object %llu is in block %u of %llu (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, o->block,
                       (unsigned long long)s->nblocks, at);
    }
    for (uint64_t i = 0; i < s->nedges; i++) {
        const struct lg_edge *e = &s->edges[i];
        if (e->from >= s->nblocks || e->to >= s->nblocks)
            return BAD("snapshot %u: edge %llu joins blocks %u and %u of %llu (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, e->from, e->to,
                       (unsigned long long)s->nblocks, at);
        if (e->kind < LG_EDGE_PRECISE || e->kind > LG_EDGE_INTERIOR)
            return BAD("snapshot %u: edge %llu has unknown kind %u (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, e->kind, at);
    }
    for (uint64_t i = 0; i < s->nregions; i++) {
        const struct lg_region *g = &s->regions[i];
        if (g->module != LG_NONE && g->module >= s->nmodules)
            return BAD("snapshot %u: region %llu names module %u of %u (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, g->module, s->nmodules, at);
    }
    for (uint64_t i = 0; i < s->nroots; i++) {
        const struct lg_root *g = &s->roots[i];
        if (g->to >= s->nblocks || g->region >= s->nregions)
            return BAD("snapshot %u: root %llu names block %u / region %u (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, g->to, g->region, at);
    }
    for (uint64_t i = 0; i < s->nhistory; i++) {
        const struct lg_history *h = &s->history[i];
        if (h->object >= s->nobjects || (h->stack != LG_NONE && h->stack >= s->nstacks))
            return BAD("snapshot %u: history event %llu names object %u / stack %u (snapshot ending at offset %llu)",
                       s->begin.seq, (unsigned long long)i, h->object, h->stack, at);
    }
    return 0;
#undef BAD
}

static int add_snap(struct lg_proc_trace *t, struct lg_snap *s)
{
    struct lg_snap *n = realloc(t->snaps, (t->nsnaps + 1) * sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    t->snaps = n;
    t->snaps[t->nsnaps++] = *s;
    memset(s, 0, sizeof(*s));
    return 0;
}

/* Walk the sections. Returns 0, or a negative errno with r->err set; the
 * complete snapshots read so far stay in r->t either way. */
static int walk(struct reader *r, uint64_t off)
{
    struct lg_snap cur;
    bool open = false;
    bool have_process = false;
    uint32_t seen = 0;                /* bit per section tag in the open snapshot */
    int err = 0;

    memset(&cur, 0, sizeof(cur));
    while (off < r->size) {
        struct lg_section_header h;
        if (r->size - off < sizeof(h)) {
            err = truncated(r, open ? "snapshot" : "section header");
            goto out;
        }
        memcpy(&h, r->base + off, sizeof(h));
        uint64_t body = off + sizeof(h);
        if (h.length > r->size - body) {
            err = truncated(r, section_name(h.tag));
            goto out;
        }
        if (h.length % 8 != 0) {
            err = fail(r, -EINVAL, "corrupt %s at offset %llu (length %llu is not a multiple of 8)",
                       section_name(h.tag), (unsigned long long)off, (unsigned long long)h.length);
            goto out;
        }
        if (!have_process && h.tag != LG_SEC_PROCESS) {
            err = fail(r, -EINVAL, "corrupt trace at offset %llu (expected the process header, found %s)",
                       (unsigned long long)off, section_name(h.tag));
            goto out;
        }
        bool in_snap = h.tag >= LG_SEC_STRINGS && h.tag <= LG_SEC_EPOCHS;
        if (in_snap && !open) {
            err = fail(r, -EINVAL, "corrupt trace at offset %llu (%s outside a snapshot)",
                       (unsigned long long)off, section_name(h.tag));
            goto out;
        }
        if (in_snap && h.tag != LG_SEC_SNAPSHOT_END) {
            if (seen & (1u << h.tag)) {
                err = fail(r, -EINVAL, "corrupt trace at offset %llu (second %s in snapshot %u)",
                           (unsigned long long)off, section_name(h.tag), cur.begin.seq);
                goto out;
            }
            seen |= 1u << h.tag;
        }
        const void *arr = NULL;
        switch (h.tag) {
        case LG_SEC_PROCESS:
            if (have_process) {
                err = fail(r, -EINVAL, "corrupt trace at offset %llu (second process header)",
                           (unsigned long long)off);
                goto out;
            }
            err = read_process(r, body, h.length);
            have_process = true;
            break;
        case LG_SEC_SNAPSHOT_BEGIN:
            if (open) {
                err = fail(r, -EINVAL, "snapshot %u was cut short at offset %llu (a new snapshot begins)",
                           cur.begin.seq, (unsigned long long)off);
                goto out;
            }
            if (h.length < sizeof(cur.begin)) {
                err = fail(r, -EINVAL, "corrupt snapshot header at offset %llu", (unsigned long long)off);
                goto out;
            }
            memcpy(&cur.begin, r->base + body, sizeof(cur.begin));
            open = true;
            seen = 0;
            break;
        case LG_SEC_STRINGS:
            err = read_strings(r, &cur, body, h.length);
            break;
        case LG_SEC_MODULES:
            err = read_modules(r, &cur, body, h.length);
            break;
        case LG_SEC_STACKS:
            if (r->version >= 2)
                err = read_packed_stacks(r, &cur, body, h.length);
            else
                err = read_stacks(r, &cur, body, h.length);
            break;
        case LG_SEC_EPOCHS:
            err = read_epochs(r, &cur, seen, body, h.length);
            break;
        case LG_SEC_BLOCKS:
            err = read_records(r, &cur, h.tag, body, h.length, sizeof(struct lg_block),
                               &arr, &cur.nblocks);
            cur.blocks = arr;
            break;
        case LG_SEC_OBJECTS:
            err = read_records(r, &cur, h.tag, body, h.length, sizeof(struct lg_object),
                               &arr, &cur.nobjects);
            cur.objects = arr;
            break;
        case LG_SEC_EDGES:
            err = read_records(r, &cur, h.tag, body, h.length, sizeof(struct lg_edge),
                               &arr, &cur.nedges);
            cur.edges = arr;
            break;
        case LG_SEC_REGIONS:
            err = read_records(r, &cur, h.tag, body, h.length, sizeof(struct lg_region),
                               &arr, &cur.nregions);
            cur.regions = arr;
            break;
        case LG_SEC_ROOTS:
            err = read_records(r, &cur, h.tag, body, h.length, sizeof(struct lg_root),
                               &arr, &cur.nroots);
            cur.roots = arr;
            break;
        case LG_SEC_HISTORY:
            err = read_records(r, &cur, h.tag, body, h.length, sizeof(struct lg_history),
                               &arr, &cur.nhistory);
            cur.history = arr;
            break;
        case LG_SEC_SNAPSHOT_END: {
            struct lg_snapshot_end e;
            if (h.length < sizeof(e)) {
                err = fail(r, -EINVAL, "corrupt snapshot end at offset %llu", (unsigned long long)off);
                goto out;
            }
            memcpy(&e, r->base + body, sizeof(e));
            if (e.blocks != cur.nblocks || e.objects != cur.nobjects || e.edges != cur.nedges ||
                e.roots != cur.nroots) {
                err = fail(r, -EINVAL, "snapshot %u at offset %llu: counts do not match its end marker",
                           cur.begin.seq, (unsigned long long)off);
                goto out;
            }
            err = check_snap(r, &cur, off);
            if (err < 0)
                goto out;
            cur.complete = true;
            err = add_snap(r->t, &cur);
            open = false;
            break;
        }
        default:
            break;                    /* unknown tags are skipped */
        }
        if (err < 0)
            goto out;
        off = body + h.length;
    }
    if (!have_process)
        err = truncated(r, "process header");
    else if (open)
        err = fail(r, -EINVAL, "snapshot %u was cut short at offset %llu (no end marker)",
                   cur.begin.seq, (unsigned long long)r->size);
out:
    free_snap(&cur);
    return err;
}

int lg_trace_load(const char *path, struct lg_proc_trace **out, char *err, size_t errlen)
{
    struct reader r = {.path = path, .err = err, .errlen = errlen};
    struct reader_priv *priv = NULL;
    struct stat st;
    int rc, fd;

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        return fail(&r, rc, "%s", strerror(-rc));
    }
    if (fstat(fd, &st) < 0) {
        rc = fail(&r, -errno, "%s", strerror(errno));
        goto fail_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fail(&r, -EINVAL, "not a regular file");
        goto fail_close;
    }
    if (st.st_size == 0) {          /* what a full disk or an early kill leaves */
        rc = fail(&r, -EINVAL, "empty file, not a leakgraph trace");
        goto fail_close;
    }
    if ((uint64_t)st.st_size < LG_TRACE_MAGIC_LEN) {
        rc = fail(&r, -EINVAL, "not a leakgraph trace");
        goto fail_close;
    }
    priv = calloc(1, sizeof(*priv));
    if (priv == NULL) {
        rc = fail(&r, -ENOMEM, "out of memory");
        goto fail_close;
    }
    priv->map_len = (size_t)st.st_size;
    priv->map = mmap(NULL, priv->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    rc = priv->map == MAP_FAILED ? -errno : 0;
    close(fd);
    if (rc < 0) {
        priv->map = NULL;
        rc = fail(&r, rc, "cannot map: %s", strerror(-rc));
        goto fail_free;
    }
    r.base = priv->map;
    r.size = priv->map_len;
    r.t = &priv->pub;
    priv->pub.path = strdup(path);
    if (priv->pub.path == NULL) {
        rc = fail(&r, -ENOMEM, "out of memory");
        goto fail_free;
    }

    struct lg_file_header fh;
    if (memcmp(r.base, LG_TRACE_MAGIC, LG_TRACE_MAGIC_LEN) != 0) {
        rc = fail(&r, -EINVAL, "not a leakgraph trace");
        goto fail_free;
    }
    if (r.size < sizeof(fh)) {
        rc = truncated(&r, "file header");
        goto fail_free;
    }
    memcpy(&fh, r.base, sizeof(fh));
    r.version = fh.version;
    if (fh.version > LG_TRACE_VERSION && fh.version < 0x10000) {
        rc = fail(&r, -EPROTO, "trace format version %u is newer than this leakgraph (%u)",
                  fh.version, LG_TRACE_VERSION);
        goto fail_free;
    }
    if (fh.version == 0 || fh.header_size < sizeof(fh) || fh.header_size % 8 != 0) {
        rc = fail(&r, -EINVAL, "corrupt file header at offset 0 (version %u, header size %u)",
                  fh.version, fh.header_size);
        goto fail_free;
    }
    if (fh.header_size > r.size) {
        rc = truncated(&r, "file header");
        goto fail_free;
    }
    rc = walk(&r, fh.header_size);
    if (rc == 0 && priv->pub.nsnaps == 0)
        rc = truncated(&r, "no snapshot");
    if (rc < 0) {
        if (priv->pub.nsnaps == 0 || rc == -ENOMEM)
            goto fail_free;
        /* keep the complete snapshots; say why the rest is missing */
        const char *msg = err + strlen(path) + 2;
        priv->pub.incomplete = strdup(strlen(err) > strlen(path) + 2 ? msg : "cut short");
        if (priv->pub.incomplete == NULL) {
            rc = -ENOMEM;
            goto fail_free;
        }
    }
    *out = &priv->pub;
    return 0;

fail_free:
    lg_trace_free(&priv->pub);
    return rc;
fail_close:
    close(fd);
    return rc;
}

void lg_trace_free(struct lg_proc_trace *t)
{
    if (t == NULL)
        return;
    struct reader_priv *priv = (struct reader_priv *)t;
    for (uint32_t i = 0; i < t->nsnaps; i++)
        free_snap(&t->snaps[i]);
    free(t->snaps);
    if (t->argv) {
        for (uint32_t i = 0; i < t->proc.argc; i++)
            free(t->argv[i]);
        free(t->argv);
    }
    free(t->exe);
    free(t->path);
    free(t->incomplete);
    if (priv->map)
        munmap(priv->map, priv->map_len);
    free(priv);
}
