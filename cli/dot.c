/* dot.c - `leakgraph graph TRACE [--cycle N] [--output FILE]`: Graphviz DOT
 * of the garbage cycles of a snapshot. Owns the numbering of top-level
 * cycles and the drawing; the cycles themselves are the analysis's.
 *
 * Numbering: top-level cycles (owner == LG_NONE) are numbered from 1 in
 * the order of the report's records (largest first) and, within a record
 * that groups several cycles, in a->cycle_next order. A cycle that another
 * cycle owns has no number of its own: it is drawn inside its owner's
 * cluster, with the edges from the owner's members into it.
 *
 * Each top-level cycle is a cluster "cycle N: k objects, b bytes"; a node
 * is one object ("Type\n0xaddress\nrefcnt r"); an edge is a reference
 * between two drawn objects, labelled with its field name (precise edges)
 * or dashed with "+offset" (a pointer found by scanning, shown only where
 * no precise edge joins the same two objects). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "reports_util.h"

static void dot_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n') {
            fputs("\\n", out);
            continue;
        }
        fputc(*s, out);
    }
    fputc('"', out);
}

/* Top-level cycles in report order; returns how many. */
static uint32_t number_cycles(const struct lg_analysis *a, uint32_t *order)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < a->nrecords; i++) {
        const struct lg_record *r = &a->records[i];

        if (r->kind != LG_LEAK_GARBAGE_CYCLE)
            continue;
        for (uint32_t c = r->cycle; c != LG_NONE && n < a->ncycles; c = a->cycle_next[c])
            if (a->cycles[c].owner == LG_NONE)
                order[n++] = c;
    }
    return n;
}

static void draw_node(FILE *out, const struct lg_analysis *a, uint32_t obj, int depth)
{
    const struct lg_object *o = &a->snap->objects[obj];
    char label[512];

    snprintf(label, sizeof(label), "%s\n0x%" PRIx64 "\nrefcnt %" PRId64,
             lg_snap_string(a->snap, o->type_name), o->address, o->refcnt);
    fprintf(out, "%*sb%" PRIu32 " [label=", depth * 2 + 2, "", o->block);
    dot_string(out, label);
    fputs("];\n", out);
}

/* Draw cycle c's members (marking their blocks in drawn[]) and, nested,
 * every cycle c owns. */
static void draw_cluster(FILE *out, const struct lg_analysis *a, uint32_t c, const char *title,
                         uint8_t *drawn, int depth)
{
    const struct lg_cycle *cy = &a->cycles[c];
    char path[1024];

    fprintf(out, "%*ssubgraph cluster_c%" PRIu32 " {\n", depth * 2, "", c);
    lg_cycle_path_text(a, c, path, sizeof(path));
    fprintf(out, "%*s  label=", depth * 2, "");
    {
        char label[1400];

        snprintf(label, sizeof(label), "%s: %" PRIu32 " objects, %" PRIu64 " bytes\n%s", title,
                 cy->nmembers, cy->self.bytes, path);
        dot_string(out, label);
    }
    fprintf(out, ";\n%*s  color=%s;\n", depth * 2, "", depth == 1 ? "red" : "orange");
    for (uint32_t i = 0; i < cy->nmembers; i++) {
        uint32_t obj = a->cycle_members[cy->first_member + i];

        drawn[a->snap->objects[obj].block] = 1;
        draw_node(out, a, obj, depth);
    }
    for (uint32_t k = 0; k < a->ncycles; k++)
        if (a->cycles[k].owner == c)
            draw_cluster(out, a, k, "owned cycle", drawn, depth + 1);
    fprintf(out, "%*s}\n", depth * 2, "");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Every reference between two drawn objects; a scanned pointer that a
 * precise edge already shows (the same field, found twice) is left out. */
static void draw_edges(FILE *out, const struct lg_analysis *a, const uint8_t *drawn)
{
    const struct lg_snap *s = a->snap;
    uint64_t *precise = NULL;
    size_t nprecise = 0;

    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t i = 0; i < s->nedges; i++) {
            const struct lg_edge *e = &s->edges[i];

            if (drawn[e->from] && drawn[e->to] && e->kind == LG_EDGE_PRECISE) {
                if (pass == 1)
                    precise[nprecise] = (uint64_t)e->from << 32 | e->to;
                nprecise++;
            }
        }
        if (pass == 0) {
            precise = malloc((nprecise + 1) * sizeof(*precise));
            if (precise == NULL)
                return;
            nprecise = 0;
        }
    }
    qsort(precise, nprecise, sizeof(*precise), cmp_u64);
    for (uint64_t i = 0; i < s->nedges; i++) {
        const struct lg_edge *e = &s->edges[i];
        uint64_t pair = (uint64_t)e->from << 32 | e->to;
        char label[64];

        if (!drawn[e->from] || !drawn[e->to])
            continue;
        if (e->kind != LG_EDGE_PRECISE &&
            bsearch(&pair, precise, nprecise, sizeof(*precise), cmp_u64) != NULL)
            continue;
        fprintf(out, "  b%" PRIu32 " -> b%" PRIu32 " [label=", e->from, e->to);
        if (e->kind == LG_EDGE_PRECISE) {
            dot_string(out, e->field != LG_NONE ? lg_snap_string(s, e->field) : "?");
            fputs("];\n", out);
        } else {
            snprintf(label, sizeof(label), "+%" PRIu32, e->offset);
            dot_string(out, label);
            fputs(", style=dashed];\n", out);
        }
    }
    free(precise);
}

static int graph_usage(const char *msg)
{
    if (msg != NULL) {              /* an error is one line; --help gives the usage */
        fprintf(stderr, "leakgraph graph: %s (see leakgraph graph --help)\n", msg);
        return LG_EXIT_USAGE;
    }
    fprintf(stderr, "usage: leakgraph graph TRACE[#SNAPSHOT] [--cycle N] [--output FILE]\n");
    return LG_EXIT_USAGE;
}

int lg_cmd_graph(int argc, char **argv)
{
    static const struct option opts[] = {
        { "cycle", required_argument, NULL, 'c' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *output = NULL, *trace = NULL;
    unsigned long want = 0;
    struct lg_opened op;
    uint32_t *order = NULL, ntop;
    uint8_t *drawn = NULL;
    char err[1024], msg[256], *end;
    FILE *out = stdout;
    int o, rc;

    optind = 0;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "-ho:", opts, NULL)) != -1) {
        switch (o) {
        case 1:                      /* a non-option: the trace */
            if (trace != NULL)
                return graph_usage("one trace at a time");
            trace = optarg;
            break;
        case 'c':
            want = strtoul(optarg, &end, 10);
            if (*end != '\0' || want == 0 || optarg[0] == '-') {
                snprintf(msg, sizeof(msg), "--cycle %s: cycles are numbered from 1", optarg);
                return graph_usage(msg);
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            graph_usage(NULL);
            return LG_EXIT_OK;
        default:
            snprintf(msg, sizeof(msg), "unknown or incomplete option '%s'", argv[optind - 1]);
            return graph_usage(msg);
        }
    }
    if (trace == NULL)
        return graph_usage("no trace given");
    rc = lg_open_snapshot(trace, false, &op, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "leakgraph: %s\n", err);
        return lg_open_exit_code(rc);
    }
    rc = LG_EXIT_TRACE;
    order = calloc(op.a->ncycles + 1, sizeof(*order));
    drawn = calloc(op.snap->nblocks + 1, 1);
    if (order == NULL || drawn == NULL) {
        fprintf(stderr, "leakgraph: out of memory\n");
        goto out;
    }
    ntop = number_cycles(op.a, order);
    if (want > ntop) {
        fprintf(stderr, "leakgraph graph: no cycle %lu: %s has %" PRIu32 " garbage cycle%s\n",
                want, trace, ntop, ntop == 1 ? "" : "s");
        rc = LG_EXIT_USAGE;
        goto out;
    }
    if (output != NULL && (out = fopen(output, "w")) == NULL) {
        fprintf(stderr, "leakgraph graph: %s: %s\n", output, strerror(errno));
        rc = LG_EXIT_USAGE;
        goto out;
    }
    fprintf(out, "// leakgraph graph %s: pid %" PRIu32 ", snapshot %" PRIu32 ", %" PRIu32
            " garbage cycle%s\n", trace, op.trace->proc.pid, op.snap->begin.seq, ntop,
            ntop == 1 ? "" : "s");
    fputs("digraph leakgraph {\n  graph [fontname=\"Helvetica\"];\n"
          "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
          "  edge [fontname=\"Helvetica\"];\n", out);
    for (uint32_t i = 0; i < ntop; i++) {
        char title[64];

        if (want != 0 && i + 1 != want)
            continue;
        snprintf(title, sizeof(title), "cycle %" PRIu32, i + 1);
        draw_cluster(out, op.a, order[i], title, drawn, 1);
    }
    draw_edges(out, op.a, drawn);
    fputs("}\n", out);
    rc = lg_finish_output(out, "graph", output);
out:
    free(order);
    free(drawn);
    lg_opened_close(&op);
    return rc;
}
