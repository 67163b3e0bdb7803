/* sarif.h - the SARIF 2.1.0 report (`--format sarif`): one run of the
 * "leakgraph" tool, one result per loss record, located at the first frame
 * of the user's own code. docs/reports.md gives the mapping. */
#ifndef LG_SARIF_H
#define LG_SARIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "analysis.h"
#include "model.h"
#include "symbolize.h"

/* One analysed process; all borrowed. */
struct lg_sarif_input {
    const struct lg_proc_trace *trace;   /* pid, exe, argv, path */
    const struct lg_analysis *a;         /* its snapshot is the one reported */
    struct lg_symbolizer *sym;           /* for a->snap */
};

/* Write one SARIF log covering every input: a result per record that is not
 * suppressed; still-reachable records only when show_reachable (as the text
 * report). 0, or -EIO when writing failed. */
int lg_render_sarif(FILE *out, const struct lg_sarif_input *in, size_t n, bool show_reachable);

#endif /* LG_SARIF_H */
