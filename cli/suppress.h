/* suppress.h - suppression files, read in the formats users already have:
 * LeakSanitizer's `leak:<pattern>` lines and Valgrind's Memcheck:Leak
 * blocks. docs/reports.md describes both and how they are matched. Owns the
 * parsed patterns; a record is matched against its symbolized stack (inlined
 * frames included, innermost first, as lg_symbolize() gives them). */
#ifndef LG_SUPPRESS_H
#define LG_SUPPRESS_H

#include <stddef.h>

#include "model.h"
#include "symbolize.h"

struct lg_suppressions;

/* An empty set; add files with lg_suppressions_add_file(). NULL + errno. */
struct lg_suppressions *lg_suppressions_new(void);

/* Parse one file into the set (LSan or Valgrind format, told apart per
 * line: `{` opens a Valgrind block, `leak:` is an LSan line). 0, or a
 * negative errno with one line in err ("supp.txt:12: unterminated block").
 * On error the set keeps what earlier files added. */
int lg_suppressions_add_file(struct lg_suppressions *set, const char *path, char *err,
                             size_t errlen);

/* lg_suppressions_new() + lg_suppressions_add_file(); NULL + errno and err. */
struct lg_suppressions *lg_suppressions_load(const char *path, char *err, size_t errlen);

void lg_suppressions_free(struct lg_suppressions *set);

/* How many suppressions the set holds. */
size_t lg_suppressions_count(const struct lg_suppressions *set);

/* The name of the first suppression that matches a record, or NULL.
 * kind is the JSON report's kind word ("definitely_lost", "garbage_cycle",
 * ...). frames/n: the record's allocating stack, innermost first, inlined
 * frames expanded. snap (may be NULL) supplies modules' full paths for
 * obj: patterns and LSan module matches; without it the basename is used.
 * LSan lines are named "leak:<pattern>". Counts each match (see
 * lg_suppressions_used()). */
const char *lg_suppressions_match(struct lg_suppressions *set, const char *kind,
                                  const struct lg_frame *frames, size_t n,
                                  const struct lg_snap *snap);

/* Calls fn for every suppression with how many records it matched so far,
 * in file order (Valgrind's "used_suppression" list). */
void lg_suppressions_used(const struct lg_suppressions *set,
                          void (*fn)(const char *name, size_t count, void *arg), void *arg);

struct lg_analysis;

/* Mark every record of the analysis that a suppression matches (its
 * allocating stack as lg_stack_frames() shows it), then recompute
 * summary.suppressed. Returns how many records were marked. In
 * suppress_apply.c, which needs the analysis; the rest of this file does not. */
size_t lg_suppress_records(struct lg_suppressions *set, struct lg_analysis *a,
                           struct lg_symbolizer *sym);

#endif /* LG_SUPPRESS_H */
