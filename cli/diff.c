/* diff.c - `leakgraph diff OLD NEW`: what grew or shrank between two
 * snapshots. OLD and NEW are traces (their last complete snapshot) or
 * TRACE#N (snapshot N of a trace, numbered from 1), so two snapshots of one
 * process and snapshots of two runs compare alike. Owns the aggregation:
 *   - the live heap in all (blocks the shim marked as libc/loader
 *     bookkeeping are left out, as in the reports);
 *   - per type: refcount objects and their blocks' bytes;
 *   - per allocating stack, compared by symbolized function names (never by
 *     address, so two runs at different bases compare): blocks and bytes;
 *   - garbage cycles in NEW whose shape (the closing path's types and
 *     fields, "A.b -> B, B.a -> A") OLD has fewer of.
 * Sections list the rows that changed, largest byte change first. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "analysis.h"
#include "baseline.h"
#include "commands.h"
#include "reports_util.h"

struct row {
    UT_hash_handle hh;
    char *key;                       /* type name, stack key or cycle shape */
    char *label;                     /* what the text report shows */
    char *function, *file;           /* stacks: the first user frame */
    int line;
    char **stack;                    /* stacks: function names */
    size_t nstack;
    int64_t count[2];                /* objects / blocks / cycles, old and new */
    int64_t bytes[2];
    int64_t members;                 /* cycles: objects in one */
};

struct side {
    const char *spec;
    struct lg_opened op;
    int64_t blocks, bytes, objects;
};

static int64_t delta_abs(const struct row *r)
{
    int64_t d = r->bytes[1] - r->bytes[0];

    return d < 0 ? -d : d;
}

static int by_change(struct row *a, struct row *b)
{
    int64_t da = delta_abs(a), db = delta_abs(b);

    if (da != db)
        return da < db ? 1 : -1;
    return strcmp(a->key, b->key);
}

static struct row *get_row(struct row **table, const char *key)
{
    struct row *r;

    HASH_FIND_STR(*table, key, r);
    if (r != NULL)
        return r;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->key = strdup(key);
    if (r->key == NULL) {
        free(r);
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, *table, r->key, strlen(r->key), r);
    return r;
}

static void free_rows(struct row **table)
{
    struct row *r, *tmp;

    HASH_ITER(hh, *table, r, tmp) {
        HASH_DEL(*table, r);
        free(r->key);
        free(r->label);
        free(r->function);
        free(r->file);
        for (size_t i = 0; i < r->nstack; i++)
            free(r->stack[i]);
        free(r->stack);
        free(r);
    }
}

/* The row of one stack (created with its label on first sight). */
static struct row *stack_row(struct row **table, struct side *sd, uint32_t stack,
                             struct lg_frame *frames)
{
    size_t n = lg_stack_frames(sd->op.snap, sd->op.sym, stack, frames, LG_MAX_FRAMES);
    char *key = lg_leak_key("", NULL, frames, n);
    const struct lg_frame *u;
    struct row *r;
    char label[1024];
    size_t used = 0;

    if (key == NULL)
        return NULL;
    r = get_row(table, key);
    free(key);
    if (r == NULL || r->label != NULL)
        return r;
    u = lg_first_user_frame(sd->op.snap, frames, n);
    label[0] = '\0';
    if (n == 0)
        snprintf(label, sizeof(label), "(no stack)");
    for (size_t i = 0; i < n && i < 5 && used < sizeof(label); i++) {
        const struct lg_frame *f = &frames[i];
        int w;

        if (f == u && f->file != NULL)
            w = snprintf(label + used, sizeof(label) - used, "%s%s (%s:%d)", i > 0 ? " < " : "",
                         f->function != NULL ? f->function : "??", f->file, f->line);
        else if (f->function != NULL)
            w = snprintf(label + used, sizeof(label) - used, "%s%s", i > 0 ? " < " : "",
                         f->function);
        else
            w = snprintf(label + used, sizeof(label) - used, "%s%s+0x%" PRIx64,
                         i > 0 ? " < " : "", f->module != NULL ? f->module : "?",
                         f->module_offset);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    r->label = strdup(label);
    if (u != NULL) {
        r->function = u->function != NULL ? strdup(u->function) : NULL;
        r->file = strdup(u->file);
        r->line = u->line;
    }
    r->stack = calloc(n > 0 ? n : 1, sizeof(*r->stack));
    for (size_t i = 0; r->stack != NULL && i < n; i++) {
        char buf[300];

        snprintf(buf, sizeof(buf), "%s%s", frames[i].function != NULL ? frames[i].function :
                 (frames[i].module != NULL ? frames[i].module : "?"),
                 frames[i].function != NULL ? "" : "!?");
        r->stack[r->nstack++] = strdup(buf);
    }
    return r;
}

static int aggregate(struct side *sd, int which, struct row **types, struct row **stacks,
                     struct row **cycles, struct lg_frame *frames)
{
    const struct lg_snap *s = sd->op.snap;
    const struct lg_analysis *a = sd->op.a;
    struct row **by_stack;
    char path[1024];

    by_stack = calloc(s->nstacks + 1, sizeof(*by_stack));
    if (by_stack == NULL)
        return -ENOMEM;
    for (uint64_t i = 0; i < s->nblocks; i++) {
        const struct lg_block *b = &s->blocks[i];
        uint32_t st = b->stack < s->nstacks ? b->stack : s->nstacks;
        struct row *r;

        if (b->flags & LG_BLOCKF_LIBC)
            continue;
        sd->blocks++;
        sd->bytes += (int64_t)b->size;
        if (by_stack[st] == NULL)
            by_stack[st] = stack_row(stacks, sd, b->stack, frames);
        r = by_stack[st];
        if (r == NULL)
            goto fail;
        r->count[which]++;
        r->bytes[which] += (int64_t)b->size;
    }
    for (uint64_t i = 0; i < s->nobjects; i++) {
        const struct lg_object *o = &s->objects[i];
        struct row *r;

        if (s->blocks[o->block].flags & LG_BLOCKF_LIBC)
            continue;
        sd->objects++;
        r = get_row(types, lg_snap_string(s, o->type_name));
        if (r == NULL)
            goto fail;
        r->count[which]++;
        r->bytes[which] += (int64_t)s->blocks[o->block].size;
    }
    for (uint32_t c = 0; c < a->ncycles; c++) {
        struct row *r;

        lg_cycle_path_text(a, c, path, sizeof(path));
        r = get_row(cycles, path);
        if (r == NULL)
            goto fail;
        r->count[which]++;
        r->bytes[which] += (int64_t)a->cycles[c].self.bytes;
        r->members = a->cycles[c].nmembers;
    }
    free(by_stack);
    return 0;

fail:
    free(by_stack);
    return -ENOMEM;
}

static int diff_usage(const char *msg)
{
    if (msg != NULL) {              /* an error is one line; --help gives the usage */
        fprintf(stderr, "leakgraph diff: %s (see leakgraph diff --help)\n", msg);
        return LG_EXIT_USAGE;
    }
    fprintf(stderr, "usage: leakgraph diff [--format text|json] [--top N] [--output FILE] OLD NEW\n"
                    "       OLD, NEW: TRACE (its last complete snapshot) or TRACE#N (snapshot N)\n");
    return LG_EXIT_USAGE;
}

static void signed_col(FILE *out, int64_t v, const char *unit)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%+" PRId64 " %s", v, unit);
    fprintf(out, "  %18s", buf);
}

static void text_section(FILE *out, const char *title, struct row *table, const char *unit,
                         long top)
{
    long shown = 0, changed = 0;

    for (struct row *r = table; r != NULL; r = r->hh.next)
        changed += r->count[0] != r->count[1] || r->bytes[0] != r->bytes[1];
    fprintf(out, "%s:%s\n", title, changed == 0 ? " no change" : "");
    for (struct row *r = table; r != NULL; r = r->hh.next) {
        if (r->count[0] == r->count[1] && r->bytes[0] == r->bytes[1])
            continue;
        if (top > 0 && shown++ >= top) {
            fprintf(out, "  ... %ld more\n", changed - top);
            break;
        }
        signed_col(out, r->count[1] - r->count[0], unit);
        signed_col(out, r->bytes[1] - r->bytes[0], "bytes");
        fprintf(out, "  %s\n", r->label != NULL ? r->label : r->key);
    }
}

static void json_amount(FILE *out, const char *name, int64_t o, int64_t n)
{
    fprintf(out, "\"%s\": {\"old\": %" PRId64 ", \"new\": %" PRId64 ", \"delta\": %" PRId64 "}",
            name, o, n, n - o);
}

static void json_side(FILE *out, const struct side *sd)
{
    fputs("{\"trace\": ", out);
    lg_json_string(out, sd->op.trace->path);
    fprintf(out, ", \"pid\": %" PRIu32 ", \"snapshot\": %" PRIu32 ", \"blocks\": %" PRId64
            ", \"bytes\": %" PRId64 ", \"objects\": %" PRId64 "}", sd->op.trace->proc.pid,
            sd->op.snap->begin.seq, sd->blocks, sd->bytes, sd->objects);
}

static void print_json(FILE *out, struct side *sd, struct row *types, struct row *stacks,
                       struct row *cycles)
{
    bool first = true;

    fputs("{\"format\": 1, \"old\": ", out);
    json_side(out, &sd[0]);
    fputs(", \"new\": ", out);
    json_side(out, &sd[1]);
    fputs(",\n \"by_type\": [", out);
    for (struct row *r = types; r != NULL; r = r->hh.next) {
        if (r->count[0] == r->count[1] && r->bytes[0] == r->bytes[1])
            continue;
        fputs(first ? "\n  {\"type\": " : ",\n  {\"type\": ", out);
        first = false;
        lg_json_string(out, r->key);
        fputs(", ", out);
        json_amount(out, "objects", r->count[0], r->count[1]);
        fputs(", ", out);
        json_amount(out, "bytes", r->bytes[0], r->bytes[1]);
        fputc('}', out);
    }
    fputs("],\n \"by_stack\": [", out);
    first = true;
    for (struct row *r = stacks; r != NULL; r = r->hh.next) {
        if (r->count[0] == r->count[1] && r->bytes[0] == r->bytes[1])
            continue;
        fputs(first ? "\n  {\"stack\": [" : ",\n  {\"stack\": [", out);
        first = false;
        for (size_t i = 0; i < r->nstack; i++) {
            fputs(i > 0 ? ", " : "", out);
            lg_json_string(out, r->stack[i]);
        }
        fputs("], \"function\": ", out);
        lg_json_string(out, r->function);
        fputs(", \"file\": ", out);
        lg_json_string(out, r->file);
        fprintf(out, ", \"line\": %d, ", r->line);
        json_amount(out, "blocks", r->count[0], r->count[1]);
        fputs(", ", out);
        json_amount(out, "bytes", r->bytes[0], r->bytes[1]);
        fputc('}', out);
    }
    fputs("],\n \"new_cycles\": [", out);
    first = true;
    for (struct row *r = cycles; r != NULL; r = r->hh.next) {
        if (r->count[1] <= r->count[0])
            continue;
        fputs(first ? "\n  {\"cycle\": " : ",\n  {\"cycle\": ", out);
        first = false;
        lg_json_string(out, r->key);
        fprintf(out, ", \"new\": %" PRId64 ", \"old\": %" PRId64 ", \"objects\": %" PRId64
                ", \"bytes\": %" PRId64 "}", r->count[1] - r->count[0], r->count[0], r->members,
                r->bytes[1] - r->bytes[0]);
    }
    fputs("]}\n", out);
}

static void print_text(FILE *out, struct side *sd, struct row *types, struct row *stacks,
                       struct row *cycles, long top)
{
    bool any = false;

    fprintf(out, "leakgraph diff: %s (pid %" PRIu32 ", snapshot %" PRIu32 ") -> %s (pid %" PRIu32
            ", snapshot %" PRIu32 ")\n", sd[0].spec, sd[0].op.trace->proc.pid,
            sd[0].op.snap->begin.seq, sd[1].spec, sd[1].op.trace->proc.pid,
            sd[1].op.snap->begin.seq);
    fprintf(out, "live heap: %+" PRId64 " blocks, %+" PRId64 " bytes, %+" PRId64 " objects (%"
            PRId64 " -> %" PRId64 " bytes in %" PRId64 " -> %" PRId64 " blocks)\n",
            sd[1].blocks - sd[0].blocks, sd[1].bytes - sd[0].bytes,
            sd[1].objects - sd[0].objects, sd[0].bytes, sd[1].bytes, sd[0].blocks, sd[1].blocks);
    text_section(out, "by type", types, "objects", top);
    text_section(out, "by allocating stack", stacks, "blocks", top);
    fputs("new garbage cycles:", out);
    for (struct row *r = cycles; r != NULL; r = r->hh.next) {
        if (r->count[1] <= r->count[0])
            continue;
        fprintf(out, "\n  %" PRId64 " x %s (%" PRId64 " objects each)", r->count[1] - r->count[0],
                r->key, r->members);
        any = true;
    }
    fputs(any ? "\n" : " none\n", out);
}

int lg_cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'F' },
        { "output", required_argument, NULL, 'o' },
        { "top", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct side sd[2] = { { 0 }, { 0 } };
    struct row *types = NULL, *stacks = NULL, *cycles = NULL;
    struct lg_frame *frames = NULL;
    const char *specs[2] = { NULL, NULL }, *output = NULL;
    char err[1024], msg[256], *end;
    bool json = false;
    long top = 20;
    int nspecs = 0, o, rc;
    FILE *out = stdout;

    optind = 0;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "-ho:", opts, NULL)) != -1) {
        switch (o) {
        case 1:
            if (nspecs == 2)
                return diff_usage("give exactly two snapshots, OLD and NEW");
            specs[nspecs++] = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "text") == 0)
                json = false;
            else {
                snprintf(msg, sizeof(msg), "--format %s: diff writes text or json", optarg);
                return diff_usage(msg);
            }
            break;
        case 't':
            top = strtol(optarg, &end, 10);
            if (*end != '\0' || top < 0) {
                snprintf(msg, sizeof(msg), "--top %s: not a count (0 shows every row)", optarg);
                return diff_usage(msg);
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            diff_usage(NULL);
            return LG_EXIT_OK;
        default:
            snprintf(msg, sizeof(msg), "unknown or incomplete option '%s'", argv[optind - 1]);
            return diff_usage(msg);
        }
    }
    if (nspecs != 2)
        return diff_usage("give exactly two snapshots, OLD and NEW");
    frames = malloc(LG_MAX_FRAMES * sizeof(*frames));
    if (frames == NULL)
        return LG_EXIT_TRACE;
    for (int i = 0; i < 2; i++) {
        sd[i].spec = specs[i];
        rc = lg_open_snapshot(specs[i], false, &sd[i].op, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "leakgraph: %s\n", err);
            rc = lg_open_exit_code(rc);
            goto out;
        }
        if (aggregate(&sd[i], i, &types, &stacks, &cycles, frames) < 0) {
            fprintf(stderr, "leakgraph: out of memory\n");
            rc = LG_EXIT_TRACE;
            goto out;
        }
    }
    HASH_SORT(types, by_change);
    HASH_SORT(stacks, by_change);
    HASH_SORT(cycles, by_change);
    if (output != NULL && (out = fopen(output, "w")) == NULL) {
        fprintf(stderr, "leakgraph diff: %s: %s\n", output, strerror(errno));
        rc = LG_EXIT_USAGE;
        goto out;
    }
    if (json)
        print_json(out, sd, types, stacks, cycles);
    else
        print_text(out, sd, types, stacks, cycles, top);
    for (int i = 0; i < 2; i++)
        lg_print_symbolizer_warnings(sd[i].op.sym);
    rc = lg_finish_output(out, "diff", output);
out:
    free_rows(&types);
    free_rows(&stacks);
    free_rows(&cycles);
    free(frames);
    lg_opened_close(&sd[0].op);
    lg_opened_close(&sd[1].op);
    return rc;
}
