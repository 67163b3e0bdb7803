/* render_text.c - the text report, in memcheck's look: per process a
 * header, the loss records ("100 bytes in 1 blocks are definitely lost in
 * loss record 1 of 2" and the allocating stack), garbage cycles with their
 * closing path and members, reference leaks with their unmatched increfs,
 * then the LEAK SUMMARY with the refcount counters. Also the pieces the
 * JSON renderer shares (closing path text, record filter). Owns nothing. */
#include "render.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "reports_util.h"

#define MAX_PATH_STEPS 64

const char *lg_snapshot_kind_name(uint32_t kind)
{
    switch (kind) {
    case LG_SNAP_EXIT: return "exit";
    case LG_SNAP_SIGNAL: return "signal";
    case LG_SNAP_REQUEST: return "request";
    case LG_SNAP_FATAL: return "fatal";
    default: return "unknown";
    }
}

const char *lg_fail_on_name(enum lg_fail_on f)
{
    static const char *const names[] = {"none", "definite", "possible", "reachable"};
    return (unsigned)f < 4 ? names[f] : "?";
}

bool lg_record_shown(const struct lg_record *r, const struct lg_render_opts *o)
{
    if (r->suppressed)
        return false;
    return r->kind != LG_LEAK_STILL_REACHABLE || o->show_reachable;
}

static const char *obj_type(const struct lg_analysis *a, uint32_t obj)
{
    return lg_snap_string(a->snap, a->snap->objects[obj].type_name);
}

void lg_cycle_text(const struct lg_analysis *a, uint32_t c, char *buf, size_t len)
{
    const struct lg_snap *s = a->snap;
    const struct lg_cycle *cy = &a->cycles[c];
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < cy->npath && n < len; i++) {
        const struct lg_edge *e = &s->edges[a->cycle_edges[cy->first_path + i]];
        uint32_t from = a->block_object[e->from], to = a->block_object[e->to];
        const char *field = e->field == LG_NONE ? "?" : lg_snap_string(s, e->field);
        /* list items read as list[0], fields as Node.next */
        int w = snprintf(buf + n, len - n, "%s%s%s%s -> %s", i ? ", " : "", obj_type(a, from),
                         field[0] == '[' ? "" : ".", field, obj_type(a, to));
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

struct tctx {
    FILE *out;
    const struct lg_report_proc *p;
    uint32_t pid;
    struct lg_frame *frames;
    uint32_t *nested_first, *nested_next;   /* per cycle: cycles it owns, chained */
};

static void line(struct tctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(struct tctx *t, const char *fmt, ...)
{
    va_list ap;
    fprintf(t->out, "==%u== ", t->pid);
    va_start(ap, fmt);
    vfprintf(t->out, fmt, ap);
    va_end(ap);
    fputc('\n', t->out);
}

static void frame_line(struct tctx *t, const char *indent, bool first, const struct lg_frame *f)
{
    char where[512] = "", mod[256] = "";
    if (f->file)
        snprintf(where, sizeof(where), " (%s:%d)", f->file, f->line);
    else if (f->module && !f->function)
        snprintf(where, sizeof(where), " (+0x%" PRIx64 ")", f->module_offset);
    if (f->module)
        snprintf(mod, sizeof(mod), " [%s]", f->module);
    line(t, "%s%s 0x%" PRIx64 ": %s%s%s%s", indent, first ? "at" : "by", f->address,
         f->function ? f->function : "???", where, mod, f->inlined ? " (inlined)" : "");
}

static void stack_lines(struct tctx *t, const char *indent, uint32_t stack)
{
    size_t n = lg_stack_frames(t->p->snap, t->p->sym, stack, t->frames, LG_MAX_FRAMES);
    if (stack == LG_NONE || n == 0) {
        line(t, "%s(no stack recorded)", indent);
        return;
    }
    for (size_t i = 0; i < n; i++)
        frame_line(t, indent, i == 0, &t->frames[i]);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static const char *region_kind(uint32_t k)
{
    switch (k) {
    case LG_REGION_MODULE_DATA: return "global";
    case LG_REGION_TLS: return "thread-local";
    case LG_REGION_STACK: return "stack";
    case LG_REGION_REGISTERS: return "registers";
    case LG_REGION_MAPPING: return "mapping";
    default: return "root";
    }
}

static void reach_path(struct tctx *t, uint32_t block)
{
    const struct lg_analysis *a = t->p->a;
    const struct lg_snap *s = a->snap;
    uint32_t root, edges[MAX_PATH_STEPS];
    long n = lg_reach_path(a, block, &root, edges, MAX_PATH_STEPS);
    if (n < 0) {
        line(t, "   reached from libc or loader bookkeeping, or an immortal object");
        return;
    }
    const struct lg_root *r = &s->roots[root];
    const struct lg_region *g = &s->regions[r->region];
    char sym[300] = "";
    if (g->kind == LG_REGION_MODULE_DATA && t->p->sym) {
        struct lg_frame f[4];
        /* the symbolizer looks up pc - 1 (return addresses): ask for slot + 1 */
        size_t k = lg_symbolize(t->p->sym, r->slot + 1, f, 4);
        if (k > 0 && f[k - 1].function)
            snprintf(sym, sizeof(sym), " %s", f[k - 1].function);
    }
    line(t, "   path from a root: %s%s in %s (slot 0x%" PRIx64 ")", region_kind(g->kind), sym,
         lg_snap_string(s, g->name), r->slot);
    line(t, "     -> 0x%" PRIx64 "%s%s", s->blocks[r->to].address,
         a->block_object[r->to] != LG_NONE ? " " : "",
         a->block_object[r->to] != LG_NONE ? obj_type(a, a->block_object[r->to]) : "");
    for (long i = 0; i < n && i < MAX_PATH_STEPS; i++) {
        const struct lg_edge *e = &s->edges[edges[i]];
        char via[256];
        uint32_t fo = a->block_object[e->from], to = a->block_object[e->to];
        if (e->kind == LG_EDGE_PRECISE && fo != LG_NONE)
            snprintf(via, sizeof(via), "%s.%s", obj_type(a, fo),
                     e->field == LG_NONE ? "?" : lg_snap_string(s, e->field));
        else
            snprintf(via, sizeof(via), "+%u", e->offset);
        line(t, "     %s -> 0x%" PRIx64 "%s%s", via, s->blocks[e->to].address,
             to != LG_NONE ? " " : "", to != LG_NONE ? obj_type(a, to) : "");
    }
    if (n > MAX_PATH_STEPS)
        line(t, "     ... (%ld steps in all)", n);
}

static void cycle_lines(struct tctx *t, uint32_t c, const char *indent)
{
    const struct lg_analysis *a = t->p->a;
    const struct lg_snap *s = a->snap;
    const struct lg_cycle *cy = &a->cycles[c];
    char path[2048], ind2[32];
    lg_cycle_text(a, c, path, sizeof(path));
    line(t, "%scycle: %s", indent, path);
    snprintf(ind2, sizeof(ind2), "%s   ", indent);
    for (uint32_t m = 0; m < cy->nmembers; m++) {
        uint32_t o = a->cycle_members[cy->first_member + m];
        const struct lg_block *b = &s->blocks[s->objects[o].block];
        line(t, "%smember 0x%" PRIx64 ": %s, %" PRIu64 " bytes, refcnt %" PRId64, indent,
             s->objects[o].address, obj_type(a, o), b->size, s->objects[o].refcnt);
        stack_lines(t, ind2, b->stack);
    }
}

static void incref_lines(struct tctx *t, const struct lg_refleak *lk)
{
    const struct lg_analysis *a = t->p->a;
    const struct lg_snap *s = a->snap;
    if (lk->history_missing) {
        line(t, "   no refcount history was recorded for it (LEAKGRAPH_HISTORY)");
        return;
    }
    if (lk->ambiguous)
        line(t, "   (some decrefs came from other call sites: every incref not balanced"
                " by its own call site is shown)");
    if (lk->history_truncated)
        line(t, "   (history truncated: the oldest events were dropped)");
    for (uint32_t i = 0; i < lk->nincref; i++) {
        const struct lg_history *h = &s->history[a->increfs[lk->first_incref + i]];
        line(t, "   unmatched %s (refcnt %" PRId64 " after):",
             h->event == LG_HIST_NEW ? "reference from creation" : "incref", h->refcnt_after);
        stack_lines(t, "     ", h->stack);
    }
}

static void record_lines(struct tctx *t, const struct lg_record *r, uint32_t num, uint32_t total,
                         const struct lg_render_opts *o)
{
    const struct lg_analysis *a = t->p->a;
    const struct lg_snap *s = a->snap;
    const char *type = r->type != LG_NONE ? lg_snap_string(s, r->type) : NULL;
    char typed[300] = "";
    if (type)
        snprintf(typed, sizeof(typed), " (%s)", type);

    switch (r->kind) {
    case LG_LEAK_GARBAGE_CYCLE:
        line(t, "%" PRIu64 " bytes in %" PRIu64 " blocks are %s garbage cycle%s%s in loss record %u of %u",
             r->self.bytes, r->self.blocks, r->count == 1 ? "a" : "in", r->count == 1 ? "" : "s",
             r->count == 1 ? "" : " (first shown)", num, total);
        break;
    case LG_LEAK_REFERENCE_LEAK: {
        const struct lg_refleak *lk = &a->refleaks[r->refleak];
        line(t, "%" PRIu64 " bytes in %" PRIu64 " blocks are a reference leak%s%s: %" PRId64
             " reference%s never released, in loss record %u of %u",
             r->self.bytes, r->self.blocks, typed, r->count == 1 ? "" : " (first shown)",
             lk->external, lk->external == 1 ? "" : "s", num, total);
        break;
    }
    case LG_LEAK_DEFINITELY_LOST:
        if (r->owned.bytes) {         /* memcheck's "(direct, indirect)" form */
            line(t, "%" PRIu64 " (%" PRIu64 " direct, %" PRIu64 " indirect) bytes in %" PRIu64
                 " blocks are definitely lost%s in loss record %u of %u",
                 r->self.bytes + r->owned.bytes, r->self.bytes, r->owned.bytes, r->self.blocks,
                 typed, num, total);
            break;
        }
        /* fall through */
    default:
        line(t, "%" PRIu64 " bytes in %" PRIu64 " blocks are %s%s in loss record %u of %u",
             r->self.bytes, r->self.blocks, lg_leak_kind_words(r->kind), typed, num, total);
    }
    if (r->kind == LG_LEAK_GARBAGE_CYCLE) {
        cycle_lines(t, r->cycle, "   ");
    } else {
        stack_lines(t, "   ", r->stack);
    }
    if (r->owned.blocks && r->kind != LG_LEAK_DEFINITELY_LOST)
        line(t, "   owns %" PRIu64 " bytes in %" PRIu64 " %s that only it reaches", r->owned.bytes,
             r->owned.blocks, plural(r->owned.blocks, "block", "blocks"));
    if (r->kind == LG_LEAK_GARBAGE_CYCLE) {
        for (uint32_t c = t->nested_first ? t->nested_first[r->cycle] : LG_NONE; c != LG_NONE;
             c = t->nested_next[c]) {
                char path[2048];
                lg_cycle_text(a, c, path, sizeof(path));
                line(t, "   owns garbage cycle: %s (%u objects)", path, a->cycles[c].nmembers);
            }
    }
    if (r->kind == LG_LEAK_REFERENCE_LEAK)
        incref_lines(t, &a->refleaks[r->refleak]);
    if (r->kind == LG_LEAK_STILL_REACHABLE && o->show_reachable)
        reach_path(t, r->block);
    line(t, "%s", "");
}

static void summary_lines(struct tctx *t, const struct lg_summary *sm)
{
    static const char *const names[LG_NCLASSES] = {
        [LG_DEFINITELY_LOST] = "definitely lost", [LG_INDIRECTLY_LOST] = "indirectly lost",
        [LG_POSSIBLY_LOST] = "  possibly lost", [LG_STILL_REACHABLE] = "still reachable",
    };
    static const int order[] = {LG_DEFINITELY_LOST, LG_INDIRECTLY_LOST, LG_POSSIBLY_LOST,
                                LG_STILL_REACHABLE};
    line(t, "LEAK SUMMARY:");
    for (int i = 0; i < 4; i++)
        line(t, "   %s: %" PRIu64 " bytes in %" PRIu64 " blocks", names[order[i]],
             sm->cls[order[i]].bytes, sm->cls[order[i]].blocks);
    line(t, "        suppressed: %" PRIu64 " bytes in %" PRIu64 " blocks", sm->suppressed.bytes,
         sm->suppressed.blocks);
    line(t, "    garbage cycles: %" PRIu64 " (%" PRIu64 " objects)", sm->garbage_cycles,
         sm->cycle_objects);
    line(t, "   reference leaks: %" PRIu64, sm->reference_leaks);
}

static void process_text(struct tctx *t, const struct lg_render_opts *o)
{
    const struct lg_report_proc *p = t->p;
    const struct lg_proc_trace *tr = p->trace;
    const struct lg_analysis *a = p->a;
    char cmd[1024] = "";
    size_t n = 0;
    for (uint32_t i = 0; i < tr->proc.argc && n < sizeof(cmd); i++) {
        int w = snprintf(cmd + n, sizeof(cmd) - n, "%s%s", i ? " " : "", tr->argv[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    line(t, "leakgraph: %s (pid %u), %s snapshot %u of %s", cmd[0] ? cmd : tr->exe, tr->proc.pid,
         lg_snapshot_kind_name(p->snap->begin.kind), p->snap->begin.seq, tr->path);
    if (p->end_signal)
        line(t, "the process was ended by signal %d (%s); this is the last snapshot it wrote",
             p->end_signal, strsignal(p->end_signal));
    if (tr->incomplete)
        line(t, "the trace ends early: %s", tr->incomplete);
    if (p->snap->begin.flags & LG_SNAPF_LOST_EVENTS)
        line(t, "warning: the shim ran out of memory and passed some allocations through untracked");
    if (p->sym)
        for (const char *const *w = lg_symbolizer_warnings(p->sym); w && *w; w++)
            line(t, "warning: %s", *w);
    line(t, "%s", "");

    /* the cycles each top-level cycle owns, as chains (in cycle order) */
    t->nested_first = malloc((a->ncycles + 1) * sizeof(uint32_t));
    t->nested_next = malloc((a->ncycles + 1) * sizeof(uint32_t));
    if (t->nested_first && t->nested_next) {
        memset(t->nested_first, 0xff, (a->ncycles + 1) * sizeof(uint32_t));
        for (uint32_t c = a->ncycles; c > 0; c--) {
            uint32_t owner = a->cycles[c - 1].owner;
            t->nested_next[c - 1] = LG_NONE;
            if (owner != LG_NONE) {
                t->nested_next[c - 1] = t->nested_first[owner];
                t->nested_first[owner] = c - 1;
            }
        }
    } else {
        free(t->nested_first);
        free(t->nested_next);
        t->nested_first = t->nested_next = NULL;
    }

    uint32_t total = 0, shown = 0;
    for (uint32_t r = 0; r < a->nrecords; r++)
        if (lg_record_shown(&a->records[r], o))
            total++;
    for (uint32_t r = 0; r < a->nrecords; r++) {
        if (!lg_record_shown(&a->records[r], o))
            continue;
        if (o->max_records && shown == o->max_records) {
            line(t, "(%u more loss records not shown: --max-records %u)", total - shown,
                 o->max_records);
            line(t, "%s", "");
            break;
        }
        shown++;
        record_lines(t, &a->records[r], shown, total, o);
    }
    summary_lines(t, &a->summary);
    if (!o->show_reachable && a->summary.cls[LG_STILL_REACHABLE].blocks)
        line(t, "Reachable blocks (those to which a pointer was found) are not shown; "
                "to see them, add --show-reachable");
    if (total == 0)
        line(t, "No leaks found.");
    line(t, "%s", "");
    free(t->nested_first);
    free(t->nested_next);
    t->nested_first = t->nested_next = NULL;
}

int lg_render_text(FILE *out, const struct lg_report_proc *p, size_t n,
                   const struct lg_render_opts *o)
{
    struct tctx t = {out, NULL, 0, malloc(LG_MAX_FRAMES * sizeof(struct lg_frame)), NULL, NULL};
    if (t.frames == NULL)
        return -ENOMEM;
    size_t failing = 0;
    for (size_t i = 0; i < n; i++) {
        t.p = &p[i];
        t.pid = p[i].trace->proc.pid;
        process_text(&t, o);
        failing += lg_gate_fails(p[i].a, o->fail_on);
    }
    /* one combined verdict over every process */
    if (n == 0)
        fprintf(out, "leakgraph: no process to report\n");
    else if (failing)
        fprintf(out, "leakgraph: %zu of %zu process%s %s leaks that fail --fail-on %s\n", failing, n,
                n == 1 ? "" : "es", failing == 1 ? "has" : "have", lg_fail_on_name(o->fail_on));
    else
        fprintf(out, "leakgraph: %zu process%s, no leak fails --fail-on %s\n", n, n == 1 ? "" : "es",
                lg_fail_on_name(o->fail_on));
    free(t.frames);
    errno = 0;                      /* a full disk says ENOSPC, not just EIO */
    if (fflush(out) != 0 || ferror(out))
        return errno ? -errno : -EIO;
    return 0;
}
