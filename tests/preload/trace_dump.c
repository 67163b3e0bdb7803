/* trace_dump.c - a small reader for the shim's tests: walks a trace file,
 * checks its framing (magic, version, section order, lengths multiple of 8,
 * record counts against SNAPSHOT_END) and prints, per snapshot, one line of
 * counts plus a reachability summary: blocks no root reaches through any
 * edge ("lost"), ignoring LG_BLOCKF_LIBC blocks. Not the CLI: just enough to
 * check what the shim wrote.
 *   trace_dump FILE [CHECK...]   CHECK is key=N, key>=N or key<=N on the
 *                                last snapshot's counts; exit 1 if one fails
 * Keys: snapshots kind seq blocks objects edges precise start interior
 * regions roots history stacks modules strings lost_blocks lost_bytes
 * truncated immortal fields:<name> types:<name> sizes:<bytes> (counts per
 * name or size) lost:<bytes> (lost blocks of that size) hist_incref[:<type>] hist_decref[:<type>]
 * module:<file name> (modules of that name) region_kind:<k> roots_kind:<k>
 * unmatched_increfs:<type> (increfs no later decref of the same object from
 * the same first frame outside librefcount and the shim pairs with);
 * snapshots and max_size_all (the largest block of any snapshot) count the
 * whole trace.
 * Reads format version 2 (record sections and stacks packed, decoded with
 * lg_pack.h into the version 1 layout) and version 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_pack.h"
#include "lg_trace.h"

#define MAX_KEYS 8192                  /* sizes:N and lost:N are a key each */

static long long max_size_all;

struct kv {
    char key[128];
    long long val;
};
static struct kv kvs[MAX_KEYS];
static int nkv;

static void set(const char *k, long long v)
{
    for (int i = 0; i < nkv; i++)
        if (strcmp(kvs[i].key, k) == 0) {
            kvs[i].val = v;
            return;
        }
    if (nkv == MAX_KEYS) {              /* never drop a fact silently */
        fprintf(stderr, "trace_dump: more than %d facts; raise MAX_KEYS\n", MAX_KEYS);
        exit(2);
    }
    snprintf(kvs[nkv].key, sizeof kvs[nkv].key, "%s", k);
    kvs[nkv++].val = v;
}

static long long get(const char *k)
{
    for (int i = 0; i < nkv; i++)
        if (strcmp(kvs[i].key, k) == 0)
            return kvs[i].val;
    return 0;
}

static void add(const char *k, long long d)
{
    set(k, get(k) + d);
}

static int fail(const char *why, long off)
{
    fprintf(stderr, "trace_dump: %s at offset %ld\n", why, off);
    return 2;
}

/* the decoded arrays of the last packed section of each tag (static, so
 * they stay reachable until exit) */
static void *unpacked[LG_SEC_EPOCHS + 1];

/* a packed STACKS payload rewritten as version 1 lays it out */
static int unpack_stacks(char **p, uint64_t *len, long off)
{
    uint64_t n, at, k = 0;
    if (lg_pack_count((const uint8_t *)*p, *len, &n) < 0)
        return fail("bad packed stack count", off);
    uint32_t *depths = calloc(n + 1, sizeof *depths);
    uint64_t *frames = calloc(*len, sizeof *frames);
    int err = lg_unpack_stacks((const uint8_t *)*p, *len, n, depths, frames, &at);
    if (err < 0) {
        fprintf(stderr, "trace_dump: %s\n", lg_pack_strerror(err));
        return fail("bad packed stack table", off + 16 + (long)at);
    }
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++)
        total += depths[i];
    free(unpacked[LG_SEC_STACKS]);
    char *q = unpacked[LG_SEC_STACKS] = calloc(n * 8 + total * 8 + 8, 1);
    *p = q;
    for (uint64_t i = 0; i < n; i++) {
        struct lg_stack s = {depths[i], 0};
        memcpy(q, &s, sizeof s);
        memcpy(q + sizeof s, frames + k, 8 * (size_t)depths[i]);
        q += sizeof s + 8 * (size_t)depths[i];
        k += depths[i];
    }
    *len = (uint64_t)(q - *p);
    free(depths);
    free(frames);
    return 0;
}

/* a packed payload decoded into records of the version 1 structs: *p and
 * *len then describe the array, as in a version 1 trace */
static int unpack(uint32_t tag, char **p, uint64_t *len, long off)
{
    if (tag == LG_SEC_STACKS)
        return unpack_stacks(p, len, off);
    const struct lg_pack_layout *l = lg_pack_layout(tag);
    uint64_t n, at;
    if (lg_pack_count((const uint8_t *)*p, *len, &n) < 0)
        return fail("bad packed record count", off);
    free(unpacked[tag]);
    unpacked[tag] = calloc(n + 1, l->size);
    int err = lg_unpack_section(l, (const uint8_t *)*p, *len, n, unpacked[tag], &at);
    if (err < 0) {
        fprintf(stderr, "trace_dump: %s\n", lg_pack_strerror(err));
        return fail("bad packed section", off + 16 + (long)at);
    }
    *p = unpacked[tag];
    *len = n * l->size;
    return 0;
}

static uint64_t key_of(const uint64_t *keys, size_t n, uint32_t stack)
{
    return keys != NULL && stack < n ? keys[stack] : 0;
}

struct strtab {
    char **s;
    uint32_t n;
};

static void analyse(const struct lg_block *b, size_t nb, const struct lg_edge *e, size_t ne,
                    const struct lg_root *r, size_t nr)
{
    char *seen = calloc(nb + 1, 1);
    uint32_t *queue = malloc((nb + 1) * sizeof *queue);
    size_t *first = calloc(nb + 2, sizeof *first);
    uint32_t *adj = malloc((ne + 1) * sizeof *adj);
    size_t qh = 0, qt = 0;
    for (size_t i = 0; i < ne; i++)
        if (e[i].from < nb)
            first[e[i].from + 1]++;
    for (size_t i = 0; i < nb; i++)
        first[i + 1] += first[i];
    size_t *fill = calloc(nb + 1, sizeof *fill);
    for (size_t i = 0; i < ne; i++)
        if (e[i].from < nb && e[i].to < nb)
            adj[first[e[i].from] + fill[e[i].from]++] = e[i].to;
    for (size_t i = 0; i < nr; i++)
        if (r[i].to < nb && !seen[r[i].to]) {
            seen[r[i].to] = 1;
            queue[qt++] = r[i].to;
        }
    for (size_t i = 0; i < nb; i++)
        if ((b[i].flags & LG_BLOCKF_LIBC) && !seen[i]) {
            seen[i] = 1;
            queue[qt++] = (uint32_t)i;
        }
    while (qh < qt) {
        uint32_t x = queue[qh++];
        for (size_t k = first[x]; k < first[x] + fill[x]; k++)
            if (!seen[adj[k]]) {
                seen[adj[k]] = 1;
                queue[qt++] = adj[k];
            }
    }
    long long lb = 0, lbytes = 0;
    for (size_t i = 0; i < nb; i++)
        if (!seen[i]) {
            lb++;
            lbytes += (long long)b[i].size;
            char k[64];
            snprintf(k, sizeof k, "lost:%llu", (unsigned long long)b[i].size);
            add(k, 1);
            if (getenv("TRACE_DUMP_VERBOSE"))
                fprintf(stderr, "lost block %#llx size %llu stack %u\n",
                        (unsigned long long)b[i].address, (unsigned long long)b[i].size,
                        b[i].stack);
        }
    set("lost_blocks", lb);
    set("lost_bytes", lbytes);
    free(seen);
    free(queue);
    free(first);
    free(adj);
    free(fill);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: trace_dump FILE [key=N|key>=N|key<=N ...]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 8);
    if (fread(data, 1, (size_t)size, f) != (size_t)size)
        return fail("short read", 0);
    fclose(f);
    struct lg_file_header *fh = (void *)data;
    if (size < 16 || memcmp(fh->magic, LG_TRACE_MAGIC, 8) != 0 || (fh->version != LG_TRACE_VERSION && fh->version != 1))
        return fail("bad header", 0);
    long off = (long)fh->header_size;
    int expect = LG_SEC_PROCESS, snapshots = 0;
    struct strtab st = {0};
    const struct lg_block *blocks = NULL;
    const struct lg_edge *edges = NULL;
    const struct lg_root *roots = NULL;
    const struct lg_object *objects = NULL;
    const struct lg_region *regions = NULL;
    uint64_t skip[8][2], *stack_key = NULL;   /* runtime and shim modules */
    int nskip = 0;
    size_t nstacks = 0;
    size_t nb = 0, ne = 0, nr = 0, no = 0;
    while (off < size) {
        if (off + 16 > size)
            return fail("truncated section header", off);
        struct lg_section_header *sh = (void *)(data + off);
        char *p = data + off + 16;
        uint64_t len = sh->length;
        if (len % 8 || off + 16 + (long)len > size)
            return fail("bad section length", off);
        if (sh->tag == LG_SEC_EPOCHS && expect == LG_SEC_BLOCKS)
            expect = LG_SEC_EPOCHS;     /* optional, between STACKS and BLOCKS */
        if (sh->tag != (uint32_t)expect)
            return fail("section out of order", off);
        if (fh->version >= 2 && (lg_pack_layout(sh->tag) != NULL || sh->tag == LG_SEC_STACKS) &&
            unpack(sh->tag, &p, &len, off))
            return 2;
        switch (sh->tag) {
        case LG_SEC_PROCESS:
            set("pid", ((struct lg_process *)p)->pid);
            expect = LG_SEC_SNAPSHOT_BEGIN;
            break;
        case LG_SEC_SNAPSHOT_BEGIN: {
            struct lg_snapshot_begin *b = (void *)p;
            nkv = 0;
            snapshots++;
            set("seq", b->seq);
            set("kind", b->kind);
            set("signal", b->signal);
            set("flags", b->flags);
            break;
        }
        case LG_SEC_EPOCHS: {           /* unloaded modules; stacks of later epochs */
            struct lg_epochs *e = (void *)p;
            if (len < sizeof *e || (len - sizeof *e) / 4 < (uint64_t)e->nmodules + e->nstacks)
                return fail("epoch table overrun", off);
            const uint32_t *u = (const uint32_t *)(e + 1);
            long long unloaded = 0, later = 0;
            for (uint32_t i = 0; i < e->nmodules; i++)
                unloaded += u[i] != LG_NONE;
            for (uint32_t i = 0; i < e->nstacks; i++)
                later += u[e->nmodules + i] != 0;
            set("unloaded_modules", unloaded);
            set("later_epoch_stacks", later);
            break;
        }
        case LG_SEC_STRINGS: {
            uint32_t n = *(uint32_t *)p;
            char *q = p + 4;
            st.s = calloc(n + 1, sizeof *st.s);
            st.n = n;
            for (uint32_t i = 0; i < n; i++) {
                uint32_t l = *(uint32_t *)q;
                st.s[i] = strndup(q + 4, l);
                q += 4 + l;
                if (q > p + len)
                    return fail("string table overrun", off);
            }
            set("strings", n);
            break;
        }
        case LG_SEC_MODULES: {
            char *q = p;
            long n = 0;
            nskip = 0;
            while (q + sizeof(struct lg_module) <= p + len) {
                struct lg_module *m = (void *)q;
                if (m->path_len == 0 && m->build_id_len == 0 && m->base == 0 && m->end == 0)
                    break;
                char path[512], k[600];
                snprintf(path, sizeof path, "%.*s", (int)m->path_len, q + sizeof *m);
                const char *slash = strrchr(path, '/');
                snprintf(k, sizeof k, "module:%s", slash ? slash + 1 : path);
                add(k, 1);
                if ((strstr(path, "librefcount") || strstr(path, "libleakgraph")) && nskip < 8) {
                    skip[nskip][0] = m->start;
                    skip[nskip++][1] = m->end;
                }
                q += sizeof *m + m->path_len + m->build_id_len;
                n++;
            }
            set("modules", n);
            break;
        }
        case LG_SEC_STACKS: {
            char *q = p;
            long n = 0;
            free(stack_key);
            stack_key = calloc(len / 8 + 1, sizeof *stack_key);
            while (q + 8 <= p + len) {
                struct lg_stack *s = (void *)q;
                const uint64_t *fr = (const uint64_t *)(q + 8);
                for (uint32_t k = 0; k < s->depth; k++) {
                    int in = 0;
                    for (int m = 0; m < nskip; m++)
                        in |= fr[k] >= skip[m][0] && fr[k] < skip[m][1];
                    if (!in) {
                        stack_key[n] = fr[k];
                        break;
                    }
                }
                q += 8 + 8 * (size_t)s->depth;
                n++;
            }
            set("stacks", n);
            nstacks = (size_t)n;
            break;
        }
        case LG_SEC_BLOCKS:
            blocks = (void *)p;
            nb = len / sizeof *blocks;
            set("blocks", (long long)nb);
            for (size_t i = 1; i < nb; i++)
                if (blocks[i].address <= blocks[i - 1].address)
                    return fail("blocks not sorted", off);
            for (size_t i = 0; i < nb; i++) {
                char k[64];
                snprintf(k, sizeof k, "sizes:%llu", (unsigned long long)blocks[i].size);
                add(k, 1);
                if ((long long)blocks[i].size > max_size_all)
                    max_size_all = (long long)blocks[i].size;
                if (blocks[i].flags & LG_BLOCKF_LIBC)
                    add("libc_blocks", 1);
            }
            break;
        case LG_SEC_OBJECTS:
            objects = (void *)p;
            no = len / sizeof *objects;
            set("objects", (long long)no);
            for (size_t i = 0; i < no; i++) {
                char k[160];
                const char *t = objects[i].type_name < st.n ? st.s[objects[i].type_name] : "?";
                snprintf(k, sizeof k, "types:%s", t);
                add(k, 1);
                if (objects[i].flags & LG_OBJF_IMMORTAL)
                    add("immortal", 1);
                if (objects[i].flags & LG_OBJF_HISTORY_TRUNCATED)
                    add("truncated", 1);
                if (objects[i].block >= nb)
                    add("objects_without_block", 1);
            }
            break;
        case LG_SEC_EDGES:
            edges = (void *)p;
            ne = len / sizeof *edges;
            set("edges", (long long)ne);
            for (size_t i = 0; i < ne; i++) {
                if (edges[i].from >= nb || edges[i].to >= nb)
                    return fail("edge out of range", off);
                if (edges[i].kind == LG_EDGE_PRECISE) {
                    char k[160];
                    const char *fn = edges[i].field < st.n ? st.s[edges[i].field] : "(none)";
                    snprintf(k, sizeof k, "fields:%s", fn);
                    add(k, 1);
                    add("precise", 1);
                } else if (edges[i].kind == LG_EDGE_START)
                    add("start", 1);
                else
                    add("interior", 1);
            }
            break;
        case LG_SEC_REGIONS: {
            const struct lg_region *r = (void *)p;
            regions = r;
            size_t n = len / sizeof *r;
            set("regions", (long long)n);
            for (size_t i = 0; i < n; i++) {
                char k[64];
                snprintf(k, sizeof k, "region_kind:%u", r[i].kind);
                add(k, 1);
            }
            break;
        }
        case LG_SEC_ROOTS:
            roots = (void *)p;
            nr = len / sizeof *roots;
            set("roots", (long long)nr);
            for (size_t i = 0; i < nr && regions; i++) {
                char k[64];
                snprintf(k, sizeof k, "roots_kind:%u", regions[roots[i].region].kind);
                add(k, 1);
            }
            for (size_t i = 0; i < nr && getenv("TRACE_DUMP_ROOTS"); i++) {
                const struct lg_region *r = regions + roots[i].region;
                fprintf(stderr, "root %#llx region %u kind %u %s -> %#llx size %llu\n",
                        (unsigned long long)roots[i].slot, roots[i].region, r->kind,
                        r->name < st.n ? st.s[r->name] : "?",
                        (unsigned long long)blocks[roots[i].to].address,
                        (unsigned long long)blocks[roots[i].to].size);
            }
            break;
        case LG_SEC_HISTORY: {
            const struct lg_history *h = (void *)p;
            size_t n = len / sizeof *h;
            set("history", (long long)n);
            char *used = calloc(n + 1, 1);
            for (size_t i = 0; i < n; i++) {
                if (h[i].object >= no)
                    return fail("history object out of range", off);
                const char *ev = h[i].event == LG_HIST_NEW ? "hist_new" :
                                 h[i].event == LG_HIST_INCREF ? "hist_incref" : "hist_decref";
                char k[200];
                uint32_t tn = objects[h[i].object].type_name;
                const char *t = tn < st.n ? st.s[tn] : "?";
                add(ev, 1);
                snprintf(k, sizeof k, "%s:%s", ev, t);
                add(k, 1);
                if (h[i].event != LG_HIST_DECREF)
                    continue;
                /* pair with the latest earlier unpaired incref of this object
                 * whose first frame outside the runtime is the same */
                for (size_t j = i; j-- > 0 && h[j].object == h[i].object;)
                    if (!used[j] && h[j].event == LG_HIST_INCREF &&
                        key_of(stack_key, nstacks, h[j].stack) == key_of(stack_key, nstacks, h[i].stack)) {
                        used[i] = used[j] = 1;
                        break;
                    }
            }
            for (size_t i = 0; i < n; i++)
                if (h[i].event == LG_HIST_INCREF && !used[i]) {
                    char k[200];
                    uint32_t tn = objects[h[i].object].type_name;
                    snprintf(k, sizeof k, "unmatched_increfs:%s", tn < st.n ? st.s[tn] : "?");
                    add(k, 1);
                }
            free(used);
            break;
        }
        case LG_SEC_SNAPSHOT_END: {
            struct lg_snapshot_end *e = (void *)p;
            if (e->blocks != nb || e->objects != no || e->edges != ne || e->roots != nr)
                return fail("snapshot end counts differ", off);
            analyse(blocks, nb, edges, ne, roots, nr);
            set("complete", 1);
            printf("snapshot");
            for (int i = 0; i < nkv; i++)
                printf(" %s=%lld", kvs[i].key, kvs[i].val);
            printf("\n");
            break;
        }
        }
        expect = sh->tag == LG_SEC_SNAPSHOT_END ? LG_SEC_SNAPSHOT_BEGIN
               : sh->tag == LG_SEC_PROCESS ? LG_SEC_SNAPSHOT_BEGIN
               : sh->tag == LG_SEC_EPOCHS ? LG_SEC_BLOCKS : (int)sh->tag + 1;
        off += 16 + (long)sh->length;
    }
    if (expect != LG_SEC_SNAPSHOT_BEGIN)
        printf("incomplete snapshot\n");
    set("snapshots", snapshots);
    set("max_size_all", max_size_all);
    printf("snapshots=%d max_size_all=%lld\n", snapshots, max_size_all);
    int bad = 0;
    for (int i = 2; i < argc; i++) {
        char key[160];
        const char *op = strpbrk(argv[i], "=<>");
        if (!op || (size_t)(op - argv[i]) >= sizeof key)
            return fail("bad check", 0);
        memcpy(key, argv[i], (size_t)(op - argv[i]));
        key[op - argv[i]] = 0;
        long long want, have = get(key);
        int ok;
        if (op[0] == '>' && op[1] == '=')
            want = atoll(op + 2), ok = have >= want;
        else if (op[0] == '<' && op[1] == '=')
            want = atoll(op + 2), ok = have <= want;
        else
            want = atoll(op + 1), ok = have == want;
        if (!ok) {
            fprintf(stderr, "trace_dump: %s: have %lld\n", argv[i], have);
            bad = 1;
        }
    }
    return bad;
}
