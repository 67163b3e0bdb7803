/* render.h - the reports rendered from analysis results: text (memcheck's
 * look) and JSON (DESIGN.md's schema, docs/analysis.md's additions). A
 * renderer reads struct lg_analysis and never changes it; an HTML report
 * later is one more function with this signature. Also the shared pieces:
 * a cycle's closing path as text, and the process list a report covers. */
#ifndef LG_RENDER_H
#define LG_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "model.h"
#include "symbolize.h"

/* One analysed process; all borrowed. */
struct lg_report_proc {
    const struct lg_proc_trace *trace;
    const struct lg_snap *snap;          /* the snapshot analysed (the last complete) */
    const struct lg_analysis *a;
    struct lg_symbolizer *sym;
    int end_signal;                      /* signal that ended the process, or 0 */
};

struct lg_render_opts {
    bool show_reachable;                 /* still-reachable records, with paths */
    uint32_t max_records;                /* per process; 0 = all */
    enum lg_fail_on fail_on;             /* the gate the verdict is given for */
};

/* "none", "definite", "possible", "reachable" */
const char *lg_fail_on_name(enum lg_fail_on f);

/* 0, or -EIO when writing failed. */
int lg_render_text(FILE *out, const struct lg_report_proc *p, size_t n,
                   const struct lg_render_opts *o);
int lg_render_json(FILE *out, const struct lg_report_proc *p, size_t n,
                   const struct lg_render_opts *o);

/* Is record r shown under these options (kind, suppression)? */
bool lg_record_shown(const struct lg_record *r, const struct lg_render_opts *o);

/* "A.b -> B, B.a -> A": cycle c's closing path. */
void lg_cycle_text(const struct lg_analysis *a, uint32_t c, char *buf, size_t len);

/* "exit", "signal", "request", "fatal" */
const char *lg_snapshot_kind_name(uint32_t kind);

#endif /* LG_RENDER_H */
