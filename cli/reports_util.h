/* reports_util.h - what the reporting extras (check, diff, graph, SARIF,
 * baselines) share: opening a trace at one snapshot and analysing it, a
 * record's stack as symbolized frames, which frame is the user's own code,
 * a record's one-line headline, and JSON string output. Owns nothing
 * beyond struct lg_opened, which owns its trace, analysis and symbolizer. */
#ifndef LG_REPORTS_UTIL_H
#define LG_REPORTS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "analysis.h"
#include "model.h"
#include "symbolize.h"

#define LG_MAX_FRAMES 256            /* symbolized frames kept for one stack */

struct lg_opened {
    struct lg_proc_trace *trace;     /* owned */
    const struct lg_snap *snap;      /* in trace */
    uint32_t snap_index;             /* position in trace->snaps */
    struct lg_analysis *a;           /* owned */
    struct lg_symbolizer *sym;       /* owned */
};

/* Open "TRACE" (its last complete snapshot) or "TRACE#N" (snapshot N,
 * numbered from 1 as in the trace), analyse it and make its symbolizer.
 * 0; -ENOENT/-EINVAL/... when the trace cannot be read (err names file and
 * offset); -ENODATA when it has no complete snapshot; -EDOM for "#0";
 * -ERANGE when snapshot N does not exist. Free with lg_opened_close(). */
int lg_open_snapshot(const char *spec, bool reach_paths, struct lg_opened *out, char *err,
                     size_t errlen);
void lg_opened_close(struct lg_opened *o);

/* Flush the output (closing it unless it is stdout) and say, in one line
 * "leakgraph CMD: PATH: cannot write: REASON", when any of it was lost (a
 * full disk). 0, or LG_EXIT_USAGE after saying so. */
int lg_finish_output(FILE *out, const char *cmd, const char *path);

/* The exit status for a failed lg_open_snapshot(): LG_EXIT_USAGE for a bad
 * or missing snapshot number, LG_EXIT_TRACE otherwise. */
int lg_open_exit_code(int rc);

/* A stack's frames, innermost first, inlined frames expanded, with the
 * shim's own frames trimmed from the top except the interposer (malloc,
 * rc_new, ...). Returns how many were written. */
size_t lg_stack_frames(const struct lg_snap *s, struct lg_symbolizer *sym, uint32_t stack,
                       struct lg_frame *out, size_t max);

/* The full path of the module that holds a frame's address, or NULL. */
const char *lg_frame_module_path(const struct lg_snap *s, const struct lg_frame *f);

/* Is this frame the user's own code: it has file:line and lies in the main
 * program or a library that is not a system one (libc, ld.so, libstdc++,
 * anything under /lib or /usr/lib), nor librefcount, nor the shim? */
bool lg_frame_is_user(const struct lg_snap *s, const struct lg_frame *f);

/* The first user frame of frames[0..n), or NULL. */
const struct lg_frame *lg_first_user_frame(const struct lg_snap *s, const struct lg_frame *f,
                                           size_t n);

/* The frame a one-line report names as "at ...": the first user frame;
 * else the first named frame in the main program or a non-system library;
 * else the first named frame outside the shim; else the first. NULL if n=0. */
const struct lg_frame *lg_where_frame(const struct lg_snap *s, const struct lg_frame *f,
                                      size_t n);

/* The record's type name, or NULL when it has none. */
const char *lg_record_type(const struct lg_analysis *a, const struct lg_record *r);

/* "A.b -> B, B.a -> A" for cycle c (its closing path). */
void lg_cycle_path_text(const struct lg_analysis *a, uint32_t c, char *buf, size_t len);

/* The record's headline, as the text report opens it: "32 bytes in 1 block
 * are definitely lost", "garbage cycle of 2 objects, 64 bytes: A.b -> B, B.a
 * -> A", "reference leak: Node with 1 reference never released". */
void lg_record_headline(const struct lg_analysis *a, const struct lg_record *r, char *buf,
                        size_t len);

/* Print the symbolizer's warnings on stderr ("leakgraph: ..."), each line
 * once per process however many traces repeat it. */
void lg_print_symbolizer_warnings(struct lg_symbolizer *sym);

/* Write s as a JSON string ("null" for NULL). */
void lg_json_string(FILE *out, const char *s);

#endif /* LG_REPORTS_UTIL_H */
