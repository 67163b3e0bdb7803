/* render_json.c - the JSON report (`--format json`): DESIGN.md's schema,
 * "format": 1, with the additions docs/analysis.md lists (each optional
 * for a reader: trace, incomplete, signal, summary.suppressed, a leak's
 * owned_bytes/owned_blocks/count, cycle.path, members' stacks and refcnt,
 * owned_cycles, a reference leak's external/ambiguous and each incref's
 * event, a still-reachable record's path). Owns nothing. */
#include "render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports_util.h"

#define MAX_PATH_STEPS 256

struct jctx {
    struct lg_jw w;
    const struct lg_report_proc *p;
    struct lg_frame *frames;
};

static void amount(struct jctx *j, const char *key, const struct lg_amount *am)
{
    lg_jw_key(&j->w, key);
    lg_jw_object(&j->w);
    lg_jw_kuint(&j->w, "bytes", am->bytes);
    lg_jw_kuint(&j->w, "blocks", am->blocks);
    lg_jw_end_object(&j->w);
}

static void stack(struct jctx *j, const char *key, uint32_t st)
{
    size_t n = st == LG_NONE ? 0 : lg_stack_frames(j->p->snap, j->p->sym, st, j->frames, LG_MAX_FRAMES);
    lg_jw_key(&j->w, key);
    lg_jw_array(&j->w);
    for (size_t i = 0; i < n; i++) {
        const struct lg_frame *f = &j->frames[i];
        lg_jw_object(&j->w);
        lg_jw_khex(&j->w, "address", f->address);
        lg_jw_kstr(&j->w, "function", f->function);
        lg_jw_kstr(&j->w, "file", f->file);
        lg_jw_key(&j->w, "line");
        if (f->line > 0)
            lg_jw_int(&j->w, f->line);
        else
            lg_jw_null(&j->w);
        lg_jw_kstr(&j->w, "module", f->module);
        if (f->inlined)
            lg_jw_kbool(&j->w, "inlined", true);
        lg_jw_end_object(&j->w);
    }
    lg_jw_end_array(&j->w);
}

static const char *obj_type(const struct lg_analysis *a, uint32_t obj)
{
    return lg_snap_string(a->snap, a->snap->objects[obj].type_name);
}

static void edge_obj(struct jctx *j, uint32_t e)
{
    const struct lg_analysis *a = j->p->a;
    const struct lg_snap *s = a->snap;
    const struct lg_edge *ed = &s->edges[e];
    lg_jw_object(&j->w);
    lg_jw_khex(&j->w, "from", s->objects[a->block_object[ed->from]].address);
    lg_jw_khex(&j->w, "to", s->objects[a->block_object[ed->to]].address);
    lg_jw_kstr(&j->w, "field", ed->field == LG_NONE ? NULL : lg_snap_string(s, ed->field));
    lg_jw_end_object(&j->w);
}

static void cycle(struct jctx *j, uint32_t c)
{
    const struct lg_analysis *a = j->p->a;
    const struct lg_snap *s = a->snap;
    const struct lg_cycle *cy = &a->cycles[c];
    char text[4096];
    lg_jw_object(&j->w);
    lg_jw_key(&j->w, "members");
    lg_jw_array(&j->w);
    for (uint32_t m = 0; m < cy->nmembers; m++) {
        uint32_t o = a->cycle_members[cy->first_member + m];
        const struct lg_block *b = &s->blocks[s->objects[o].block];
        lg_jw_object(&j->w);
        lg_jw_khex(&j->w, "address", s->objects[o].address);
        lg_jw_kstr(&j->w, "type", obj_type(a, o));
        lg_jw_kuint(&j->w, "bytes", b->size);
        lg_jw_kint(&j->w, "refcnt", s->objects[o].refcnt);
        stack(j, "stack", b->stack);
        lg_jw_end_object(&j->w);
    }
    lg_jw_end_array(&j->w);
    lg_jw_key(&j->w, "edges");
    lg_jw_array(&j->w);
    for (uint32_t i = 0; i < cy->nedges; i++)
        edge_obj(j, a->cycle_edges[cy->first_edge + i]);
    lg_jw_end_array(&j->w);
    lg_jw_key(&j->w, "path");
    lg_jw_array(&j->w);
    for (uint32_t i = 0; i < cy->npath; i++)
        edge_obj(j, a->cycle_edges[cy->first_path + i]);
    lg_jw_end_array(&j->w);
    lg_cycle_text(a, c, text, sizeof(text));
    lg_jw_kstr(&j->w, "text", text);
    lg_jw_end_object(&j->w);
}

static void reach_path(struct jctx *j, uint32_t block)
{
    const struct lg_analysis *a = j->p->a;
    const struct lg_snap *s = a->snap;
    uint32_t root, *edges = malloc(MAX_PATH_STEPS * sizeof(uint32_t));
    long n = edges ? lg_reach_path(a, block, &root, edges, MAX_PATH_STEPS) : -1;
    lg_jw_key(&j->w, "path");
    if (n < 0) {
        lg_jw_null(&j->w);
        free(edges);
        return;
    }
    const struct lg_root *r = &s->roots[root];
    const struct lg_region *g = &s->regions[r->region];
    static const char *const kinds[] = {"?", "module_data", "tls", "stack", "registers", "mapping"};
    lg_jw_object(&j->w);
    lg_jw_key(&j->w, "root");
    lg_jw_object(&j->w);
    lg_jw_kstr(&j->w, "region", g->kind <= LG_REGION_MAPPING ? kinds[g->kind] : "?");
    lg_jw_kstr(&j->w, "name", lg_snap_string(s, g->name));
    lg_jw_khex(&j->w, "slot", r->slot);
    if (g->kind == LG_REGION_MODULE_DATA && j->p->sym) {
        struct lg_frame f[4];
        size_t k = lg_symbolize(j->p->sym, r->slot + 1, f, 4);   /* looks up pc - 1 */
        lg_jw_kstr(&j->w, "symbol", k > 0 ? f[k - 1].function : NULL);
    }
    if (g->thread)
        lg_jw_kuint(&j->w, "thread", g->thread);
    lg_jw_end_object(&j->w);
    lg_jw_key(&j->w, "steps");
    lg_jw_array(&j->w);
    for (long i = 0; i < n && i < MAX_PATH_STEPS; i++) {
        const struct lg_edge *e = &s->edges[edges[i]];
        lg_jw_object(&j->w);
        lg_jw_khex(&j->w, "from", s->blocks[e->from].address);
        lg_jw_khex(&j->w, "to", s->blocks[e->to].address);
        lg_jw_kstr(&j->w, "field", e->field == LG_NONE ? NULL : lg_snap_string(s, e->field));
        if (e->offset != LG_NONE)
            lg_jw_kuint(&j->w, "offset", e->offset);
        lg_jw_end_object(&j->w);
    }
    lg_jw_end_array(&j->w);
    lg_jw_end_object(&j->w);
    free(edges);
}

static void record(struct jctx *j, const struct lg_record *r, const uint32_t *nested_first,
                   const uint32_t *nested_next)
{
    const struct lg_analysis *a = j->p->a;
    const struct lg_snap *s = a->snap;
    lg_jw_object(&j->w);
    lg_jw_kstr(&j->w, "kind", lg_leak_kind_name(r->kind));
    lg_jw_kuint(&j->w, "bytes", r->self.bytes);
    lg_jw_kuint(&j->w, "blocks", r->self.blocks);
    lg_jw_kstr(&j->w, "type", r->type == LG_NONE ? NULL : lg_snap_string(s, r->type));
    stack(j, "stack", r->stack);
    if (r->owned.blocks) {
        lg_jw_kuint(&j->w, "owned_bytes", r->owned.bytes);
        lg_jw_kuint(&j->w, "owned_blocks", r->owned.blocks);
    }
    if (r->kind == LG_LEAK_GARBAGE_CYCLE || r->kind == LG_LEAK_REFERENCE_LEAK)
        lg_jw_kuint(&j->w, "count", r->count);
    if (r->kind == LG_LEAK_GARBAGE_CYCLE) {
        lg_jw_key(&j->w, "cycle");
        cycle(j, r->cycle);
        if (nested_first && nested_first[r->cycle] != LG_NONE) {
            lg_jw_key(&j->w, "owned_cycles");
            lg_jw_array(&j->w);
            for (uint32_t c = nested_first[r->cycle]; c != LG_NONE; c = nested_next[c])
                cycle(j, c);
            lg_jw_end_array(&j->w);
        }
    }
    if (r->kind == LG_LEAK_REFERENCE_LEAK) {
        const struct lg_refleak *lk = &a->refleaks[r->refleak];
        lg_jw_khex(&j->w, "address", s->objects[lk->object].address);
        lg_jw_kint(&j->w, "refcnt", s->objects[lk->object].refcnt);
        lg_jw_kint(&j->w, "external", lk->external);
        lg_jw_kbool(&j->w, "ambiguous", lk->ambiguous);
        lg_jw_kbool(&j->w, "history", !lk->history_missing);
        if (lk->history_truncated)
            lg_jw_kbool(&j->w, "history_truncated", true);
        lg_jw_key(&j->w, "unmatched_increfs");
        lg_jw_array(&j->w);
        for (uint32_t i = 0; i < lk->nincref; i++) {
            const struct lg_history *h = &s->history[a->increfs[lk->first_incref + i]];
            lg_jw_object(&j->w);
            lg_jw_kstr(&j->w, "event", h->event == LG_HIST_NEW ? "new" : "incref");
            lg_jw_kint(&j->w, "refcnt_after", h->refcnt_after);
            stack(j, "stack", h->stack);
            lg_jw_end_object(&j->w);
        }
        lg_jw_end_array(&j->w);
    }
    if (r->kind == LG_LEAK_STILL_REACHABLE && a->reach_via)
        reach_path(j, r->block);
    lg_jw_end_object(&j->w);
}

static void process(struct jctx *j, const struct lg_render_opts *o)
{
    const struct lg_report_proc *p = j->p;
    const struct lg_proc_trace *tr = p->trace;
    const struct lg_analysis *a = p->a;
    const struct lg_summary *sm = &a->summary;
    lg_jw_object(&j->w);
    lg_jw_kuint(&j->w, "pid", tr->proc.pid);
    lg_jw_kuint(&j->w, "ppid", tr->proc.ppid);
    lg_jw_kstr(&j->w, "exe", tr->exe);
    lg_jw_key(&j->w, "argv");
    lg_jw_array(&j->w);
    for (uint32_t i = 0; i < tr->proc.argc; i++)
        lg_jw_str(&j->w, tr->argv[i]);
    lg_jw_end_array(&j->w);
    lg_jw_kstr(&j->w, "snapshot", lg_snapshot_kind_name(p->snap->begin.kind));
    lg_jw_kuint(&j->w, "snapshot_seq", p->snap->begin.seq);
    lg_jw_kstr(&j->w, "trace", tr->path);
    if (tr->incomplete)
        lg_jw_kstr(&j->w, "incomplete", tr->incomplete);
    if (p->end_signal)
        lg_jw_kint(&j->w, "signal", p->end_signal);
    lg_jw_key(&j->w, "summary");
    lg_jw_object(&j->w);
    amount(j, "definitely_lost", &sm->cls[LG_DEFINITELY_LOST]);
    amount(j, "indirectly_lost", &sm->cls[LG_INDIRECTLY_LOST]);
    amount(j, "possibly_lost", &sm->cls[LG_POSSIBLY_LOST]);
    amount(j, "still_reachable", &sm->cls[LG_STILL_REACHABLE]);
    lg_jw_kuint(&j->w, "garbage_cycles", sm->garbage_cycles);
    lg_jw_kuint(&j->w, "cycle_objects", sm->cycle_objects);
    lg_jw_kuint(&j->w, "reference_leaks", sm->reference_leaks);
    amount(j, "suppressed", &sm->suppressed);
    lg_jw_end_object(&j->w);

    uint32_t *nested_first = malloc((a->ncycles + 1) * sizeof(uint32_t));
    uint32_t *nested_next = malloc((a->ncycles + 1) * sizeof(uint32_t));
    if (nested_first && nested_next) {
        memset(nested_first, 0xff, (a->ncycles + 1) * sizeof(uint32_t));
        for (uint32_t c = a->ncycles; c > 0; c--) {
            uint32_t owner = a->cycles[c - 1].owner;
            nested_next[c - 1] = LG_NONE;
            if (owner != LG_NONE) {
                nested_next[c - 1] = nested_first[owner];
                nested_first[owner] = c - 1;
            }
        }
    } else {
        free(nested_first);
        free(nested_next);
        nested_first = nested_next = NULL;
    }
    lg_jw_key(&j->w, "leaks");
    lg_jw_array(&j->w);
    uint32_t shown = 0, total = 0;
    for (uint32_t r = 0; r < a->nrecords; r++) {
        if (!lg_record_shown(&a->records[r], o))
            continue;
        total++;
        if (o->max_records && shown == o->max_records)
            continue;
        shown++;
        record(j, &a->records[r], nested_first, nested_next);
    }
    lg_jw_end_array(&j->w);
    if (shown < total)
        lg_jw_kuint(&j->w, "records_not_shown", total - shown);
    free(nested_first);
    free(nested_next);
    lg_jw_end_object(&j->w);
}

int lg_render_json(FILE *out, const struct lg_report_proc *p, size_t n,
                   const struct lg_render_opts *o)
{
    struct jctx j;
    j.frames = malloc(LG_MAX_FRAMES * sizeof(struct lg_frame));
    if (j.frames == NULL)
        return -ENOMEM;
    lg_jw_init(&j.w, out);
    lg_jw_object(&j.w);
    lg_jw_kuint(&j.w, "format", 1);
    lg_jw_key(&j.w, "processes");
    lg_jw_array(&j.w);
    size_t failing = 0;
    for (size_t i = 0; i < n; i++) {
        j.p = &p[i];
        process(&j, o);
        failing += lg_gate_fails(p[i].a, o->fail_on);
    }
    lg_jw_end_array(&j.w);
    lg_jw_key(&j.w, "verdict");
    lg_jw_object(&j.w);
    lg_jw_kstr(&j.w, "fail_on", lg_fail_on_name(o->fail_on));
    lg_jw_kbool(&j.w, "fails", failing > 0);
    lg_jw_kuint(&j.w, "processes", n);
    lg_jw_kuint(&j.w, "failing_processes", failing);
    lg_jw_end_object(&j.w);
    lg_jw_end_object(&j.w);
    free(j.frames);
    errno = 0;                      /* a full disk says ENOSPC, not just EIO */
    if (fflush(out) != 0 || ferror(out))
        return errno ? -errno : -EIO;
    return 0;
}
