/* report.c - `leakgraph report TRACE...` and the pipeline `run` shares:
 * read every trace (a bad one gets one line and exit 3, the good ones are
 * still reported), analyse the last complete snapshot of each, apply the
 * suppressions, render all processes in one report, decide the gate. Owns
 * the loaded traces, analyses and symbolizers until the report is written. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "render.h"
#include "sarif.h"
#include "suppress.h"

/* the SARIF renderer is the reports helper's; absent, --format sarif says so */
int lg_render_sarif(FILE *out, const struct lg_sarif_input *in, size_t n, bool show_reachable)
    __attribute__((weak));

int lg_opts_load_suppressions(struct lg_cli_opts *o)
{
    char err[512];
    if (o->nsuppressions == 0)
        return 0;
    o->supp = lg_suppressions_new();
    if (o->supp == NULL) {
        fprintf(stderr, "leakgraph: %s\n", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < o->nsuppressions; i++)
        if (lg_suppressions_add_file(o->supp, o->suppressions[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "leakgraph: %s\n", err);
            return -1;
        }
    return 0;
}

void lg_opts_free(struct lg_cli_opts *o)
{
    if (o->supp)
        lg_suppressions_free(o->supp);
    o->supp = NULL;
}

/* pairing key for increfs: the function a frame is in (its name's hash) */
static uint64_t site_of_pc(void *arg, uint32_t stack, uint64_t pc)
{
    struct lg_frame f[16];
    size_t n = lg_symbolize_in(arg, stack, pc, f, 16);
    const char *fn = n ? f[n - 1].function : NULL;
    if (fn == NULL)
        return pc;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)fn; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h | 1;                       /* never 0, the "no stack" key */
}

struct loaded {
    struct lg_proc_trace *t;
    struct lg_report_proc rp;
    struct lg_analysis *a;
};

static int by_start(const void *x, const void *y)
{
    const struct loaded *a = x, *b = y;
    if (a->t->proc.start_time_ns != b->t->proc.start_time_ns)
        return a->t->proc.start_time_ns < b->t->proc.start_time_ns ? -1 : 1;
    return a->t->proc.pid < b->t->proc.pid ? -1 : a->t->proc.pid > b->t->proc.pid;
}

void lg_report_traces(const struct lg_cli_opts *o, char *const *paths, size_t n, FILE *out,
                      uint32_t signal_pid, int end_signal, struct lg_report_result *res)
{
    struct loaded *l = calloc(n ? n : 1, sizeof(*l));
    struct lg_report_proc *rp = calloc(n ? n : 1, sizeof(*rp));
    struct lg_sarif_input *si = calloc(n ? n : 1, sizeof(*si));
    size_t nl = 0;
    char err[1024];

    memset(res, 0, sizeof(*res));
    if (l == NULL || rp == NULL || si == NULL) {
        res->status = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct loaded *x = &l[nl];
        int rc = lg_trace_load(paths[i], &x->t, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "leakgraph: %s\n", err);
            res->any_bad_trace = true;
            continue;
        }
        uint32_t last_kind = x->t->snaps[x->t->nsnaps - 1].begin.kind;
        if (x->t->incomplete)
            fprintf(stderr, "leakgraph: %s: %s; reporting snapshot %u, the last complete one\n",
                    paths[i], x->t->incomplete, x->t->snaps[x->t->nsnaps - 1].begin.seq);
        else if (last_kind == LG_SNAP_SIGNAL || last_kind == LG_SNAP_REQUEST)
            /* cut at a snapshot's end: a process always ends with an exit or
             * fatal snapshot, so it was killed (SIGKILL) or left by _exit() */
            fprintf(stderr, "leakgraph: %s: no exit snapshot (the process was killed or called "
                    "_exit()); reporting snapshot %u, the last one written\n",
                    paths[i], x->t->snaps[x->t->nsnaps - 1].begin.seq);
        const struct lg_snap *snap = &x->t->snaps[x->t->nsnaps - 1];
        x->rp.trace = x->t;
        x->rp.snap = snap;
        x->rp.sym = lg_symbolizer_new(snap);
        struct lg_analysis_options ao = {
            .reach_paths = o->show_reachable,
            .progress = isatty(STDERR_FILENO),
            .site_fn = x->rp.sym ? site_of_pc : NULL,
            .site_arg = x->rp.sym,
        };
        rc = lg_analyze(snap, &ao, &x->a);
        if (rc < 0) {
            fprintf(stderr, "leakgraph: %s: cannot analyse: %s\n", paths[i], strerror(-rc));
            if (x->rp.sym)
                lg_symbolizer_free(x->rp.sym);
            lg_trace_free(x->t);
            res->any_bad_trace = true;
            continue;
        }
        if (o->supp)
            lg_suppress_records(o->supp, x->a, x->rp.sym);
        x->rp.a = x->a;
        if (signal_pid && x->t->proc.pid == signal_pid)
            x->rp.end_signal = end_signal;
        else if (snap->begin.kind == LG_SNAP_FATAL)
            x->rp.end_signal = (int)snap->begin.signal;
        if (lg_gate_fails(x->a, o->fail_on))
            res->gate_fails = true;
        nl++;
    }
    res->reported = nl;
    qsort(l, nl, sizeof(*l), by_start);
    for (size_t i = 0; i < nl; i++) {
        rp[i] = l[i].rp;
        si[i].trace = l[i].t;
        si[i].a = l[i].a;
        si[i].sym = l[i].rp.sym;
    }
    struct lg_render_opts ro = {o->show_reachable, o->max_records, o->fail_on};
    switch (o->format) {
    case LG_FORMAT_TEXT:
        res->status = lg_render_text(out, rp, nl, &ro);
        break;
    case LG_FORMAT_JSON:
        res->status = lg_render_json(out, rp, nl, &ro);
        break;
    case LG_FORMAT_SARIF:
        if (lg_render_sarif == NULL) {
            fprintf(stderr, "leakgraph: --format sarif is not built into this leakgraph\n");
            res->status = -ENOSYS;
        } else {
            res->status = lg_render_sarif(out, si, nl, o->show_reachable);
        }
        break;
    }
    if (res->status < 0 && res->status != -ENOSYS)
        fprintf(stderr, "leakgraph: %s: cannot write the report: %s\n",
                o->output ? o->output : "stdout", strerror(-res->status));
out:
    for (size_t i = 0; l && i < nl; i++) {
        lg_analysis_free(l[i].a);
        if (l[i].rp.sym)
            lg_symbolizer_free(l[i].rp.sym);
        lg_trace_free(l[i].t);
    }
    free(l);
    free(rp);
    free(si);
}

static const char report_usage[] =
    "usage: leakgraph report [--format text|json|sarif] [--output FILE] [--suppressions FILE]\n"
    "                        [--show-reachable] [--max-records N] TRACE...\n";

int lg_cmd_report(int argc, char **argv)
{
    struct lg_cli_opts o;
    char **paths = calloc((size_t)argc + 1, sizeof(char *));
    size_t n = 0;
    int i = 1, status = LG_EXIT_USAGE;
    bool only_paths = false;
    FILE *out = NULL;

    lg_opts_init(&o);
    if (paths == NULL)
        return LG_EXIT_USAGE;
    while (i < argc) {
        if (!only_paths && strcmp(argv[i], "--") == 0) {
            only_paths = true;
            i++;
            continue;
        }
        if (!only_paths && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
            fputs(report_usage, stdout);
            status = LG_EXIT_OK;
            goto out;
        }
        if (!only_paths && argv[i][0] == '-' && argv[i][1] != '\0') {
            int rc = lg_opts_parse(&o, argc, argv, &i, false);
            if (rc < 0)
                goto out;
            if (rc == 0) {
                fprintf(stderr, "leakgraph: report: unknown option '%s'\n", argv[i]);
                goto out;
            }
            continue;
        }
        paths[n++] = argv[i++];
    }
    if (n == 0) {
        fprintf(stderr, "leakgraph: report needs at least one trace file\n");
        goto out;
    }
    if (lg_opts_load_suppressions(&o) < 0)
        goto out;
    out = lg_opts_open_output(&o);
    if (out == NULL)
        goto out;
    struct lg_report_result res;
    lg_report_traces(&o, paths, n, out, 0, 0, &res);
    if (res.status < 0)
        status = LG_EXIT_USAGE;
    else
        status = res.any_bad_trace ? LG_EXIT_TRACE : LG_EXIT_OK;
out:
    if (out && out != stdout && fclose(out) != 0 && status == LG_EXIT_OK) {
        fprintf(stderr, "leakgraph: %s: %s\n", o.output, strerror(errno));
        status = LG_EXIT_TRACE;
    }
    lg_opts_free(&o);
    free(paths);
    return status;
}
