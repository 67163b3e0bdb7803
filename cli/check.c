/* check.c - `leakgraph check [OPTIONS] TRACE...`, the CI gate. Owns option
 * parsing, the combination of many traces into one list of leaks (a leak
 * found in several processes is one line, with its bytes summed), the
 * baseline comparison and the verdict.
 *
 * Passes, in order:
 *   1. every trace is opened at its last complete snapshot, analysed, and
 *      suppressions mark records; suppressed bytes are only counted.
 *   2. the records of the gated kinds (--fail-on) are merged by identity
 *      (lg_leak_key: kind, type, stack functions) into struct leak.
 *   3. with --baseline, a leak whose identity is in the baseline is known;
 *      baseline entries no trace showed are fixed.
 *   4. the verdict: the new leaks against the limits. Without --max-bytes
 *      and --max-cycles any new leak fails. --max-bytes N fails when the new
 *      leaks hold more than N bytes (their own and what they own);
 *      --max-cycles N fails when there are more than N new garbage cycles,
 *      and cycles are then judged by that count, not by their bytes.
 * A TRACE that is a directory stands for every *.trace file in it.
 * Exit: 0 pass, 1 fail, 2 usage, 3 unreadable trace. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <uthash.h>

#include "analysis.h"
#include "baseline.h"
#include "commands.h"
#include "reports_util.h"
#include "suppress.h"

struct leak {
    UT_hash_handle hh;
    char *key;
    enum lg_leak_kind kind;
    char *type;
    char *headline;                  /* of the first record seen */
    char *where;                     /* first user frame, or first named frame */
    const char *trace;               /* first trace it was seen in (argv) */
    char **stack;                    /* function names */
    size_t nstack;
    char *file;
    int line;
    char *function;
    uint64_t bytes, blocks, cycles;
    unsigned processes;              /* traces it appeared in */
    const char *last_trace;          /* the last of them (argv string) */
    bool known;
    struct leak *next_in_order;
};

struct check {
    enum lg_fail_on fail_on;
    bool has_max_bytes, has_max_cycles;
    uint64_t max_bytes, max_cycles;
    const char *baseline_path, *write_path, *output;
    bool json;
    char **supp_paths;
    size_t nsupp;
    struct lg_suppressions *supp;
    struct lg_baseline *baseline, *written;

    struct leak *by_key;
    struct leak *first, *last;       /* in order of first appearance */
    struct lg_amount suppressed;
    uint64_t new_leaks, new_bytes, new_blocks, new_cycles, new_noncycle;
    uint64_t known_leaks, fixed_leaks;
    char **traces;                   /* owned array; entries are argv or owned */
    size_t ntraces;
    char **owned;                    /* file names found in directories */
    size_t nowned;
    uint32_t *pids, *snap_seqs;
};

static int usage(const char *msg)
{
    if (msg != NULL) {              /* an error is one line; --help gives the usage */
        fprintf(stderr, "leakgraph check: %s (see leakgraph check --help)\n", msg);
        return LG_EXIT_USAGE;
    }
    fprintf(stderr,
            "usage: leakgraph check [--fail-on none|definite|possible|reachable] [--max-bytes N]\n"
            "                       [--max-cycles N] [--baseline FILE] [--write-baseline FILE]\n"
            "                       [--suppressions FILE]... [--format text|json] [--output FILE]\n"
            "                       TRACE|DIR...\n");
    return LG_EXIT_USAGE;
}

static bool kind_gated(enum lg_leak_kind k, enum lg_fail_on f)
{
    switch (k) {
    case LG_LEAK_DEFINITELY_LOST:
    case LG_LEAK_GARBAGE_CYCLE:
    case LG_LEAK_REFERENCE_LEAK:
        return f >= LG_FAIL_DEFINITE;
    case LG_LEAK_POSSIBLY_LOST:
        return f >= LG_FAIL_POSSIBLE;
    case LG_LEAK_INDIRECTLY_LOST:
    case LG_LEAK_STILL_REACHABLE:
        return f >= LG_FAIL_REACHABLE;
    }
    return false;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (s[0] == '\0' || s[0] == '-')
        return -EINVAL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno != 0 || *end != '\0' ? -EINVAL : 0;
}

static int push_trace(struct check *c, char *path)
{
    char **grown = realloc(c->traces, (c->ntraces + 1) * sizeof(*grown));

    if (grown == NULL)
        return -ENOMEM;
    c->traces = grown;
    c->traces[c->ntraces++] = path;
    return 0;
}

static int is_trace_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return n > 6 && strcmp(d->d_name + n - 6, ".trace") == 0;
}

/* A TRACE argument: a file, or a directory whose *.trace files (sorted by
 * name) are all read, so that CI need not pass thousands of names. */
static int add_trace_arg(struct check *c, char *arg)
{
    struct dirent **names;
    struct stat st;
    int n, rc = 0;

    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode))
        return push_trace(c, arg);
    n = scandir(arg, &names, is_trace_name, alphasort);
    if (n < 0)
        return push_trace(c, arg);   /* reading it fails later, with the reason */
    for (int i = 0; i < n; i++) {
        size_t len = strlen(arg) + strlen(names[i]->d_name) + 2;
        char *path = rc == 0 ? malloc(len) : NULL;
        char **grown = path != NULL ? realloc(c->owned, (c->nowned + 1) * sizeof(*grown)) : NULL;

        if (grown == NULL) {
            free(path);
            rc = -ENOMEM;
        } else {
            c->owned = grown;
            snprintf(path, len, "%s/%s", arg, names[i]->d_name);
            c->owned[c->nowned++] = path;
            rc = push_trace(c, path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int parse_args(struct check *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "fail-on", required_argument, NULL, 'f' },
        { "max-bytes", required_argument, NULL, 'b' },
        { "max-cycles", required_argument, NULL, 'c' },
        { "baseline", required_argument, NULL, 'B' },
        { "write-baseline", required_argument, NULL, 'W' },
        { "suppressions", required_argument, NULL, 's' },
        { "format", required_argument, NULL, 'F' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char msg[256];
    int o;

    c->fail_on = LG_FAIL_DEFINITE;
    optind = 0;                      /* reinitialise: main may have used getopt */
    opterr = 0;
    while ((o = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            if (strcmp(optarg, "none") == 0)
                c->fail_on = LG_FAIL_NONE;
            else if (strcmp(optarg, "definite") == 0)
                c->fail_on = LG_FAIL_DEFINITE;
            else if (strcmp(optarg, "possible") == 0)
                c->fail_on = LG_FAIL_POSSIBLE;
            else if (strcmp(optarg, "reachable") == 0)
                c->fail_on = LG_FAIL_REACHABLE;
            else {
                snprintf(msg, sizeof(msg), "--fail-on %s: expected none, definite, possible or reachable",
                         optarg);
                return usage(msg);
            }
            break;
        case 'b':
            if (parse_u64(optarg, &c->max_bytes) < 0) {
                snprintf(msg, sizeof(msg), "--max-bytes %s: not a number of bytes", optarg);
                return usage(msg);
            }
            c->has_max_bytes = true;
            break;
        case 'c':
            if (parse_u64(optarg, &c->max_cycles) < 0) {
                snprintf(msg, sizeof(msg), "--max-cycles %s: not a number", optarg);
                return usage(msg);
            }
            c->has_max_cycles = true;
            break;
        case 'B':
            c->baseline_path = optarg;
            break;
        case 'W':
            c->write_path = optarg;
            break;
        case 's': {
            char **grown = realloc(c->supp_paths, (c->nsupp + 1) * sizeof(*grown));

            if (grown == NULL)
                return usage("out of memory");
            c->supp_paths = grown;
            grown[c->nsupp++] = optarg;
            break;
        }
        case 'F':
            if (strcmp(optarg, "text") == 0)
                c->json = false;
            else if (strcmp(optarg, "json") == 0)
                c->json = true;
            else {
                snprintf(msg, sizeof(msg), "--format %s: check writes text or json", optarg);
                return usage(msg);
            }
            break;
        case 'o':
            c->output = optarg;
            break;
        case 'h':
            usage(NULL);
            return -1;               /* help: exit 0 */
        default:
            snprintf(msg, sizeof(msg), "unknown or incomplete option '%s'", argv[optind - 1]);
            return usage(msg);
        }
    }
    if (optind >= argc)
        return usage("no trace given");
    for (int i = optind; i < argc; i++)
        if (add_trace_arg(c, argv[i]) < 0)
            return usage("out of memory");
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void describe_where(const struct lg_snap *s, const struct lg_frame *f, size_t n,
                           struct leak *l)
{
    const struct lg_frame *u = lg_where_frame(s, f, n);
    char buf[1024];

    if (u == NULL) {
        l->where = strdup("(no stack)");
        return;
    }
    if (u->file != NULL)
        snprintf(buf, sizeof(buf), "%s (%s:%d)", u->function != NULL ? u->function : "??",
                 u->file, u->line);
    else if (u->function != NULL)
        snprintf(buf, sizeof(buf), "%s (%s)", u->function, u->module != NULL ? u->module : "?");
    else
        snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, u->module != NULL ? u->module : "?",
                 u->module_offset);
    l->where = strdup(buf);
    l->function = dup_or_null(u->function);
    l->file = dup_or_null(u->file);
    l->line = u->line;
}

/* Pass 2 for one record: merge it into the leak with its identity. */
static int add_record(struct check *c, const struct lg_opened *op, const struct lg_record *r,
                      const char *trace, struct lg_frame *frames)
{
    size_t n = lg_stack_frames(op->snap, op->sym, r->stack, frames, LG_MAX_FRAMES);
    const char *type = lg_record_type(op->a, r);
    const char *kind = lg_leak_kind_name(r->kind);
    char *key = lg_leak_key(kind, type, frames, n);
    char headline[1024];
    struct leak *l;

    if (key == NULL)
        return -ENOMEM;
    if (c->written != NULL &&
        lg_baseline_add(c->written, kind, type, frames, n, r->self.bytes + r->owned.bytes,
                        r->self.blocks + r->owned.blocks) < 0) {
        free(key);
        return -ENOMEM;
    }
    HASH_FIND_STR(c->by_key, key, l);
    if (l == NULL) {
        l = calloc(1, sizeof(*l));
        if (l == NULL) {
            free(key);
            return -ENOMEM;
        }
        l->key = key;
        l->kind = r->kind;
        l->type = dup_or_null(type);
        lg_record_headline(op->a, r, headline, sizeof(headline));
        l->headline = strdup(headline);
        l->trace = trace;
        describe_where(op->snap, frames, n, l);
        l->stack = calloc(n > 0 ? n : 1, sizeof(*l->stack));
        for (size_t i = 0; l->stack != NULL && i < n; i++) {
            char buf[300];

            if (frames[i].function != NULL)
                l->stack[l->nstack++] = strdup(frames[i].function);
            else {
                snprintf(buf, sizeof(buf), "%s!?", frames[i].module ? frames[i].module : "");
                l->stack[l->nstack++] = strdup(buf);
            }
        }
        l->known = c->baseline != NULL && lg_baseline_mark(c->baseline, key);
        HASH_ADD_KEYPTR(hh, c->by_key, l->key, strlen(l->key), l);
        if (c->last != NULL)
            c->last->next_in_order = l;
        else
            c->first = l;
        c->last = l;
    } else {
        free(key);
    }
    l->bytes += r->self.bytes + r->owned.bytes;
    l->blocks += r->self.blocks + r->owned.blocks;
    if (r->kind == LG_LEAK_GARBAGE_CYCLE)
        l->cycles += r->count;
    if (l->last_trace != trace) {    /* two records of one process count once */
        l->processes++;
        l->last_trace = trace;
    }
    return 0;
}

static int check_trace(struct check *c, size_t i, struct lg_frame *frames)
{
    struct lg_opened op;
    char err[1024];
    int rc;

    rc = lg_open_snapshot(c->traces[i], false, &op, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "leakgraph: %s\n", err);
        return lg_open_exit_code(rc);
    }
    if (op.trace->incomplete != NULL)
        fprintf(stderr, "leakgraph: %s: %s; checking snapshot %" PRIu32 "\n", c->traces[i],
                op.trace->incomplete, op.snap->begin.seq);
    c->pids[i] = op.trace->proc.pid;
    c->snap_seqs[i] = op.snap->begin.seq;
    lg_suppress_records(c->supp, op.a, op.sym);
    for (uint32_t k = 0; k < op.a->nrecords; k++) {
        const struct lg_record *r = &op.a->records[k];

        if (r->suppressed) {
            c->suppressed.bytes += r->self.bytes + r->owned.bytes;
            c->suppressed.blocks += r->self.blocks + r->owned.blocks;
            continue;
        }
        if (!kind_gated(r->kind, c->fail_on))
            continue;
        if (add_record(c, &op, r, c->traces[i], frames) < 0) {
            fprintf(stderr, "leakgraph: out of memory\n");
            lg_opened_close(&op);
            return LG_EXIT_TRACE;
        }
    }
    lg_print_symbolizer_warnings(op.sym);
    lg_opened_close(&op);
    return 0;
}

static bool verdict_fails(struct check *c)
{
    bool fails = false;
    uint64_t bytes = 0, noncycle = 0;

    for (struct leak *l = c->first; l != NULL; l = l->next_in_order) {
        if (l->known)
            continue;
        c->new_leaks++;
        c->new_blocks += l->blocks;
        c->new_cycles += l->cycles;
        c->new_bytes += l->bytes;
        if (l->kind != LG_LEAK_GARBAGE_CYCLE || !c->has_max_cycles) {
            bytes += l->bytes;
            noncycle++;
        }
    }
    c->new_noncycle = noncycle;
    if (c->has_max_bytes)
        fails = bytes > c->max_bytes;
    else
        fails = noncycle > 0;
    if (c->has_max_cycles && c->new_cycles > c->max_cycles)
        fails = true;
    return fails;
}

static const char *fail_on_word(enum lg_fail_on f)
{
    static const char *const w[] = { "none", "definite", "possible", "reachable" };

    return w[f];
}

static void print_text(FILE *out, struct check *c, bool fails)
{
    const char *plural_s;

    for (struct leak *l = c->first; l != NULL; l = l->next_in_order) {
        if (l->known)
            continue;
        fprintf(out, "%s: %s at %s", c->baseline != NULL ? "new" : "leak", l->headline, l->where);
        if (l->processes > 1)
            fprintf(out, " [%u processes, %" PRIu64 " bytes in all]", l->processes, l->bytes);
        else
            fprintf(out, " [%s]", l->trace);
        fputc('\n', out);
    }
    for (size_t i = 0; c->baseline != NULL && i < lg_baseline_count(c->baseline); i++) {
        const struct lg_baseline_entry *e = lg_baseline_entry(c->baseline, i);

        if (e->seen)
            continue;
        c->fixed_leaks++;
        fprintf(out, "fixed: %s%s%s at ", e->kind, e->type != NULL ? " " : "",
                e->type != NULL ? e->type : "");
        for (size_t j = 0; j < e->nstack && j < 6; j++)
            fprintf(out, "%s%s", j > 0 ? " < " : "", e->stack[j]);
        fputc('\n', out);
    }
    plural_s = c->new_leaks == 1 ? "" : "s";
    fprintf(out, "leakgraph check: %s: %" PRIu64 " %sleak%s (%" PRIu64 " bytes in %" PRIu64
            " blocks, %" PRIu64 " garbage cycles) failing on %s",
            fails ? "FAIL" : "PASS", c->new_leaks, c->baseline != NULL ? "new " : "", plural_s,
            c->new_bytes, c->new_blocks, c->new_cycles, fail_on_word(c->fail_on));
    if (c->has_max_bytes)
        fprintf(out, ", max %" PRIu64 " bytes", c->max_bytes);
    if (c->has_max_cycles)
        fprintf(out, ", max %" PRIu64 " cycles", c->max_cycles);
    if (c->baseline != NULL)
        fprintf(out, "; %" PRIu64 " known, %" PRIu64 " fixed", c->known_leaks, c->fixed_leaks);
    fprintf(out, "; suppressed: %" PRIu64 " bytes in %" PRIu64 " blocks; %zu trace%s\n",
            c->suppressed.bytes, c->suppressed.blocks, c->ntraces, c->ntraces == 1 ? "" : "s");
}

static void print_leak_json(FILE *out, const struct leak *l)
{
    fputs("{\"status\": ", out);
    lg_json_string(out, l->known ? "known" : "new");
    fputs(", \"kind\": ", out);
    lg_json_string(out, lg_leak_kind_name(l->kind));
    fputs(", \"type\": ", out);
    lg_json_string(out, l->type);
    fprintf(out, ", \"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64 ", \"garbage_cycles\": %" PRIu64
            ", \"processes\": %u, \"message\": ", l->bytes, l->blocks, l->cycles, l->processes);
    lg_json_string(out, l->headline);
    fputs(", \"function\": ", out);
    lg_json_string(out, l->function);
    fputs(", \"file\": ", out);
    lg_json_string(out, l->file);
    fprintf(out, ", \"line\": %d, \"trace\": ", l->line);
    lg_json_string(out, l->trace);
    fputs(", \"stack\": [", out);
    for (size_t j = 0; j < l->nstack; j++) {
        fputs(j > 0 ? ", " : "", out);
        lg_json_string(out, l->stack[j]);
    }
    fputs("]}", out);
}

static void print_json(FILE *out, struct check *c, bool fails)
{
    bool first = true;

    fprintf(out, "{\"format\": 1, \"verdict\": \"%s\", \"fail_on\": \"%s\", \"limits\": {\"max_bytes\": ",
            fails ? "fail" : "pass", fail_on_word(c->fail_on));
    if (c->has_max_bytes)
        fprintf(out, "%" PRIu64, c->max_bytes);
    else
        fputs("null", out);
    fputs(", \"max_cycles\": ", out);
    if (c->has_max_cycles)
        fprintf(out, "%" PRIu64, c->max_cycles);
    else
        fputs("null", out);
    fprintf(out, "},\n \"totals\": {\"new\": {\"leaks\": %" PRIu64 ", \"bytes\": %" PRIu64
            ", \"blocks\": %" PRIu64 ", \"garbage_cycles\": %" PRIu64 "}, \"known\": %" PRIu64
            ", \"fixed\": %" PRIu64 ", \"suppressed\": {\"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64
            "}},\n \"traces\": [",
            c->new_leaks, c->new_bytes, c->new_blocks, c->new_cycles, c->known_leaks,
            c->fixed_leaks, c->suppressed.bytes, c->suppressed.blocks);
    for (size_t i = 0; i < c->ntraces; i++) {
        fprintf(out, "%s{\"path\": ", i > 0 ? ", " : "");
        lg_json_string(out, c->traces[i]);
        fprintf(out, ", \"pid\": %" PRIu32 ", \"snapshot\": %" PRIu32 "}", c->pids[i],
                c->snap_seqs[i]);
    }
    fputs("],\n \"leaks\": [", out);
    for (struct leak *l = c->first; l != NULL; l = l->next_in_order) {
        fputs(first ? "\n  " : ",\n  ", out);
        first = false;
        print_leak_json(out, l);
    }
    fputs("],\n \"fixed\": [", out);
    first = true;
    for (size_t i = 0; c->baseline != NULL && i < lg_baseline_count(c->baseline); i++) {
        const struct lg_baseline_entry *e = lg_baseline_entry(c->baseline, i);

        if (e->seen)
            continue;
        fputs(first ? "\n  {\"kind\": " : ",\n  {\"kind\": ", out);
        first = false;
        lg_json_string(out, e->kind);
        fputs(", \"type\": ", out);
        lg_json_string(out, e->type);
        fputs(", \"stack\": [", out);
        for (size_t j = 0; j < e->nstack; j++) {
            fputs(j > 0 ? ", " : "", out);
            lg_json_string(out, e->stack[j]);
        }
        fputs("]}", out);
    }
    fputs("]}\n", out);
}

static void free_check(struct check *c)
{
    struct leak *l, *tmp;

    HASH_ITER(hh, c->by_key, l, tmp) {
        HASH_DEL(c->by_key, l);
        free(l->key);
        free(l->type);
        free(l->headline);
        free(l->where);
        free(l->file);
        free(l->function);
        for (size_t i = 0; i < l->nstack; i++)
            free(l->stack[i]);
        free(l->stack);
        free(l);
    }
    lg_suppressions_free(c->supp);
    lg_baseline_free(c->baseline);
    lg_baseline_free(c->written);
    free(c->supp_paths);
    for (size_t i = 0; i < c->nowned; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c->traces);
    free(c->pids);
    free(c->snap_seqs);
}

int lg_cmd_check(int argc, char **argv)
{
    struct check c = { 0 };
    struct lg_frame *frames = NULL;
    char err[1024];
    FILE *out = stdout;
    bool fails;
    int rc;

    rc = parse_args(&c, argc, argv);
    if (rc != 0) {
        free_check(&c);
        return rc < 0 ? LG_EXIT_OK : rc;
    }
    rc = LG_EXIT_USAGE;
    c.supp = lg_suppressions_new();
    c.pids = calloc(c.ntraces, sizeof(*c.pids));
    c.snap_seqs = calloc(c.ntraces, sizeof(*c.snap_seqs));
    frames = malloc(LG_MAX_FRAMES * sizeof(*frames));
    if (c.supp == NULL || c.pids == NULL || c.snap_seqs == NULL || frames == NULL) {
        fprintf(stderr, "leakgraph check: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < c.nsupp; i++) {
        if (lg_suppressions_add_file(c.supp, c.supp_paths[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "leakgraph check: %s\n", err);
            goto out;
        }
    }
    if (c.baseline_path != NULL && lg_baseline_load(c.baseline_path, &c.baseline, err,
                                                    sizeof(err)) < 0) {
        fprintf(stderr, "leakgraph check: %s\n", err);
        goto out;
    }
    if (c.write_path != NULL && (c.written = lg_baseline_new()) == NULL) {
        fprintf(stderr, "leakgraph check: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < c.ntraces; i++) {
        rc = check_trace(&c, i, frames);
        if (rc != 0)
            goto out;
    }
    if (c.write_path != NULL) {
        if (lg_baseline_write(c.written, c.write_path, err, sizeof(err)) < 0) {
            fprintf(stderr, "leakgraph check: %s\n", err);
            rc = LG_EXIT_USAGE;
            goto out;
        }
        /* without --baseline the leaks just written are the known ones */
        if (c.baseline == NULL)
            for (struct leak *l = c.first; l != NULL; l = l->next_in_order)
                l->known = true;
    }
    for (struct leak *l = c.first; l != NULL; l = l->next_in_order)
        c.known_leaks += l->known;
    fails = verdict_fails(&c);
    if (c.output != NULL) {
        out = fopen(c.output, "w");
        if (out == NULL) {
            fprintf(stderr, "leakgraph check: %s: %s\n", c.output, strerror(errno));
            rc = LG_EXIT_USAGE;
            goto out;
        }
    }
    if (c.json) {
        /* count the fixed ones first: the text printer counts as it prints */
        for (size_t i = 0; c.baseline != NULL && i < lg_baseline_count(c.baseline); i++)
            c.fixed_leaks += !lg_baseline_entry(c.baseline, i)->seen;
        print_json(out, &c, fails);
    } else {
        print_text(out, &c, fails);
    }
    rc = lg_finish_output(out, "check", c.output);
    if (rc == 0)
        rc = fails ? LG_EXIT_GATE : LG_EXIT_OK;
out:
    free(frames);
    free_check(&c);
    return rc;
}
