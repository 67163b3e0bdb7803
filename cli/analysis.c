/* analysis.c - runs the analysis of one snapshot (lg_analyze) and answers
 * questions about its result: names of kinds, the gate, paths from roots,
 * suppressed totals, which module a pc is in. Owns struct lg_analysis and
 * every array hung on it; the passes live in classify.c, refcycles.c,
 * increfs.c and records.c, the graphs in graph.c.
 *
 * Passes, in order: block -> object map; canonical stacks (equal frames in
 * the same modules, one id); the block graph; memcheck classes
 * (classify.c); the object graph and the refcount verdicts (refcycles.c);
 * unmatched increfs (increfs.c); loss records (records.c); the summary. */
#include "graph.h"
#include "modules_lookup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[LG_NKINDS] = {
    "definitely_lost", "indirectly_lost", "possibly_lost",
    "still_reachable", "garbage_cycle", "reference_leak",
};
static const char *const kind_words[LG_NKINDS] = {
    "definitely lost", "indirectly lost", "possibly lost",
    "still reachable", "garbage cycle", "reference leak",
};

const char *lg_leak_kind_name(enum lg_leak_kind k)
{
    return (unsigned)k < LG_NKINDS ? kind_names[k] : "?";
}

const char *lg_leak_kind_words(enum lg_leak_kind k)
{
    return (unsigned)k < LG_NKINDS ? kind_words[k] : "?";
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static bool pc_in_module_named(const struct lg_snap *s, uint64_t pc, const char *const *names)
{
    for (uint32_t i = 0; i < s->nmodules; i++) {
        const struct lg_mod *m = &s->modules[i];
        if (pc < m->m.start || pc >= m->m.end)
            continue;
        const char *b = base_name(m->path);
        for (const char *const *n = names; *n; n++)
            if (strncmp(b, *n, strlen(*n)) == 0)
                return true;
        return false;
    }
    return false;
}

bool lg_pc_in_runtime(const struct lg_snap *s, uint64_t pc)
{
    static const char *const names[] = {"librefcount", NULL};
    return pc_in_module_named(s, pc, names);
}

bool lg_pc_in_shim(const struct lg_snap *s, uint64_t pc)
{
    static const char *const names[] = {"libleakgraph", "libunwind", NULL};
    return pc_in_module_named(s, pc, names);
}

/* ---- canonical stacks: one open-addressing table over the stack table --
 * Without epochs, equal frames make one stack. With epochs, equal addresses
 * may lie in different modules (one unloaded, another loaded at its place),
 * so each frame also carries the identity of the module lg_module_of()
 * gives it: two stacks are one when, frame by frame, the addresses are equal
 * and the modules are the same module or the same file at the same base. */

/* the module a frame's return address lies in, as the symbolizer sees it */
static uint32_t frame_module(const struct lg_snap *s, uint32_t stack, uint64_t pc)
{
    return lg_module_of(s, stack, pc > 0 ? pc - 1 : pc);
}

/* by_module: per module, the hash of its file identity; NULL when no module
 * was unloaded (then no two modules overlap and addresses alone decide) */
static uint64_t hash_stack(const struct lg_snap *s, uint32_t stack, const uint64_t *by_module)
{
    const struct lg_stk *st = &s->stacks[stack];
    uint64_t h = 0xcbf29ce484222325ull ^ st->depth;
    for (uint32_t i = 0; i < st->depth; i++) {
        h ^= st->pcs[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
        if (by_module != NULL) {
            uint32_t m = frame_module(s, stack, st->pcs[i]);
            h ^= m == LG_NONE ? 0 : by_module[m];
            h *= 0x100000001b3ull;
            h ^= h >> 29;
        }
    }
    return h;
}

static bool same_stack(const struct lg_snap *s, uint32_t a, uint32_t b, bool by_module)
{
    const struct lg_stk *x = &s->stacks[a], *y = &s->stacks[b];
    if (x->depth != y->depth || memcmp(x->pcs, y->pcs, x->depth * sizeof(uint64_t)) != 0)
        return false;
    if (!by_module)
        return true;
    for (uint32_t i = 0; i < x->depth; i++)
        if (!lg_same_module_file(s, frame_module(s, a, x->pcs[i]), frame_module(s, b, y->pcs[i])))
            return false;
    return true;
}

/* The file-identity hash of every module, when some module was unloaded
 * (the only case where equal addresses may lie in different modules);
 * NULL otherwise, or out of memory (*err). */
static uint64_t *module_hashes(const struct lg_snap *s, int *err)
{
    if (!lg_snap_has_unloaded(s))
        return NULL;
    uint64_t *h = malloc(s->nmodules * sizeof *h);
    if (h == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    for (uint32_t i = 0; i < s->nmodules; i++)
        h[i] = lg_module_file_hash(s, i);
    return h;
}

static int canon_stacks(struct lg_analysis *a)
{
    const struct lg_snap *s = a->snap;
    int err = 0;
    uint64_t *by_module = module_hashes(s, &err);
    if (err < 0)
        return err;
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)s->nstacks)
        cap <<= 1;
    uint32_t *table = malloc(cap * sizeof(uint32_t));
    a->canon_stack = malloc((s->nstacks ? s->nstacks : 1) * sizeof(uint32_t));
    if (table == NULL || a->canon_stack == NULL) {
        free(table);
        free(by_module);
        return -ENOMEM;
    }
    memset(table, 0xff, cap * sizeof(uint32_t));
    for (uint32_t i = 0; i < s->nstacks; i++) {
        uint64_t h = hash_stack(s, i, by_module) & (cap - 1);
        for (;;) {
            uint32_t j = table[h];
            if (j == LG_NONE) {
                table[h] = i;
                a->canon_stack[i] = i;
                break;
            }
            if (same_stack(s, i, j, by_module != NULL)) {
                a->canon_stack[i] = j;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    free(table);
    free(by_module);
    return 0;
}

/* ---- progress ------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(const struct lg_analysis_options *opt, double t0, const char *what,
                     uint64_t nblocks)
{
    if (opt == NULL || !opt->progress)
        return;
    fprintf(stderr, "\rleakgraph: %llu blocks: %-28s %6.1fs", (unsigned long long)nblocks,
            what, now() - t0);
    if (strcmp(what, "done") == 0)
        fprintf(stderr, "\n");
    fflush(stderr);
}

int lg_analyze(const struct lg_snap *s, const struct lg_analysis_options *opt,
               struct lg_analysis **out)
{
    struct lg_csr bg = {0}, og = {0};
    double t0 = now();
    int err = -ENOMEM;
    struct lg_analysis *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (a == NULL)
        return -ENOMEM;
    a->snap = s;
    a->nblocks = s->nblocks;
    if (s->nblocks >= LG_ADJ_INDEX || s->nobjects >= UINT32_MAX || s->nedges >= UINT32_MAX) {
        err = -E2BIG;
        goto fail;
    }
    uint64_t nb = s->nblocks ? s->nblocks : 1, no = s->nobjects ? s->nobjects : 1;
    a->block_class = malloc(nb);
    a->block_flags = calloc(nb, 1);
    a->block_object = malloc(nb * sizeof(uint32_t));
    a->block_owner = malloc(nb * sizeof(uint32_t));
    a->external = malloc(no * sizeof(int64_t));
    if (!a->block_class || !a->block_flags || !a->block_object || !a->block_owner || !a->external)
        goto fail;
    memset(a->block_object, 0xff, nb * sizeof(uint32_t));
    memset(a->block_owner, 0xff, nb * sizeof(uint32_t));
    for (uint64_t o = 0; o < s->nobjects; o++)
        a->block_object[s->objects[o].block] = (uint32_t)o;

    progress(opt, t0, "stacks", s->nblocks);
    if ((err = canon_stacks(a)) < 0)
        goto fail;
    progress(opt, t0, "block graph", s->nblocks);
    if ((err = lg_csr_blocks(s, &bg, opt && opt->reach_paths)) < 0)
        goto fail;
    progress(opt, t0, "memcheck classes", s->nblocks);
    if ((err = lg_classify(a, &bg, opt && opt->reach_paths)) < 0)
        goto fail;
    progress(opt, t0, "object graph", s->nblocks);
    if ((err = lg_csr_objects(a, &og)) < 0)
        goto fail;
    progress(opt, t0, "garbage and cycles", s->nblocks);
    if ((err = lg_refcount_pass(a, &bg, &og)) < 0)
        goto fail;
    lg_csr_free(&bg);
    lg_csr_free(&og);
    progress(opt, t0, "increfs", s->nblocks);
    if ((err = lg_pair_increfs(a, opt)) < 0)
        goto fail;
    progress(opt, t0, "loss records", s->nblocks);
    if ((err = lg_build_records(a)) < 0)
        goto fail;
    lg_analysis_update_suppressed(a);
    progress(opt, t0, "done", s->nblocks);
    *out = a;
    return 0;
fail:
    lg_csr_free(&bg);
    lg_csr_free(&og);
    lg_analysis_free(a);
    return err;
}

void lg_analysis_free(struct lg_analysis *a)
{
    if (a == NULL)
        return;
    free(a->block_class);
    free(a->block_flags);
    free(a->block_object);
    free(a->block_owner);
    free(a->external);
    free(a->canon_stack);
    free(a->cycles);
    free(a->cycle_members);
    free(a->cycle_edges);
    free(a->cycle_next);
    free(a->refleaks);
    free(a->increfs);
    free(a->refleak_next);
    free(a->records);
    free(a->record_of_key);
    free(a->reach_via);
    free(a->clique_bytes);
    free(a->clique_blocks);
    free(a);
}

void lg_analysis_update_suppressed(struct lg_analysis *a)
{
    const struct lg_snap *s = a->snap;
    memset(a->summary.cls, 0, sizeof(a->summary.cls));
    memset(&a->summary.suppressed, 0, sizeof(a->summary.suppressed));
    for (uint64_t b = 0; b < s->nblocks; b++) {
        uint32_t r = lg_block_record(a, (uint32_t)b);
        struct lg_amount *am = r != LG_NONE && a->records[r].suppressed
            ? &a->summary.suppressed : &a->summary.cls[a->block_class[b]];
        am->bytes += s->blocks[b].size;
        am->blocks++;
    }
}

bool lg_gate_fails(const struct lg_analysis *a, enum lg_fail_on fail_on)
{
    for (uint32_t r = 0; r < a->nrecords; r++) {
        const struct lg_record *rec = &a->records[r];
        if (rec->suppressed)
            continue;
        switch (rec->kind) {
        case LG_LEAK_DEFINITELY_LOST:
        case LG_LEAK_GARBAGE_CYCLE:
        case LG_LEAK_REFERENCE_LEAK:
            if (fail_on >= LG_FAIL_DEFINITE)
                return true;
            break;
        case LG_LEAK_POSSIBLY_LOST:
            if (fail_on >= LG_FAIL_POSSIBLE)
                return true;
            break;
        case LG_LEAK_INDIRECTLY_LOST:
        case LG_LEAK_STILL_REACHABLE:
            if (fail_on >= LG_FAIL_REACHABLE)
                return true;
            break;
        }
    }
    return false;
}

long lg_reach_path(const struct lg_analysis *a, uint32_t block, uint32_t *root,
                   uint32_t *edges, size_t max)
{
    if (a->reach_via == NULL || block >= a->nblocks || a->reach_via[block] == UINT64_MAX)
        return -1;
    /* walk back to the root, counting; then walk again writing from the end */
    long n = 0;
    uint32_t b = block;
    uint64_t via;
    while (((via = a->reach_via[b]) & 1) == 0) {
        uint32_t e = (uint32_t)(via >> 1);
        b = a->snap->edges[e].from;
        n++;
        if ((uint64_t)n > a->nblocks)
            return -1;                /* cannot happen: BFS parents form a tree */
        if (a->reach_via[b] == UINT64_MAX)
            return -1;
    }
    *root = (uint32_t)(via >> 1);
    long i = n;
    b = block;
    while (((via = a->reach_via[b]) & 1) == 0) {
        uint32_t e = (uint32_t)(via >> 1);
        i--;
        if ((size_t)i < max)
            edges[i] = e;
        b = a->snap->edges[e].from;
    }
    return n;
}
