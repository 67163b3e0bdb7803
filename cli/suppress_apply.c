/* suppress_apply.c - applies a suppression set to an analysis: marks the
 * loss records whose allocating stack a suppression matches. Owns nothing;
 * the matching itself is suppress.c's. */
#include "suppress.h"

#include <stdlib.h>

#include "analysis.h"
#include "reports_util.h"

size_t lg_suppress_records(struct lg_suppressions *set, struct lg_analysis *a,
                           struct lg_symbolizer *sym)
{
    struct lg_frame *frames;
    size_t marked = 0;

    if (set == NULL || lg_suppressions_count(set) == 0)
        return 0;
    frames = malloc(LG_MAX_FRAMES * sizeof(*frames));
    if (frames == NULL)
        return 0;
    for (uint32_t i = 0; i < a->nrecords; i++) {
        struct lg_record *r = &a->records[i];
        size_t n = lg_stack_frames(a->snap, sym, r->stack, frames, LG_MAX_FRAMES);

        if (!r->suppressed &&
            lg_suppressions_match(set, lg_leak_kind_name(r->kind), frames, n, a->snap) != NULL) {
            r->suppressed = true;
            marked++;
        }
    }
    free(frames);
    if (marked > 0)
        lg_analysis_update_suppressed(a);
    return marked;
}
