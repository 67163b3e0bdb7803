/* model.h - a trace in memory: what the reader (trace_read.c) gives the
 * analysis and the renderers. Owns nothing itself; lg_trace_load() builds a
 * struct lg_proc_trace whose record arrays (blocks, objects, edges, regions,
 * roots, history) point into the mapped file in a version 1 trace and into
 * arrays the reader decoded from packed sections in version 2 (the same
 * structs either way); strings, modules and stacks are reader-owned arrays
 * (the stacks' frames decoded in version 2, in the map in version 1); the
 * epoch arrays point into the map. */
#ifndef LG_MODEL_H
#define LG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lg_trace.h"

struct lg_mod {
    struct lg_module m;              /* base, start, end */
    const char *path;                /* NUL-terminated copy */
    const uint8_t *build_id;         /* m.build_id_len bytes, or NULL */
};

struct lg_stk {
    uint32_t depth;
    const uint64_t *pcs;             /* return addresses, innermost first */
};

struct lg_snap {
    struct lg_snapshot_begin begin;
    bool complete;                   /* SNAPSHOT_END was read and its counts match */
    bool owns_records;               /* the record arrays were decoded (version 2)
                                        and are freed with the snapshot */
    uint32_t nstrings;
    const char **strings;            /* NUL-terminated copies; index = string id */
    uint32_t nmodules;
    struct lg_mod *modules;
    uint32_t nstacks;
    struct lg_stk *stacks;
    uint64_t *stack_frames;          /* version 2: the decoded frames the stacks'
                                        pcs point into (version 1: NULL, the pcs
                                        point into the map) */
    /* EPOCHS (optional; both NULL without it), pointing into the map:
     * nmodules unload epochs (LG_NONE: still loaded) and nstacks recording
     * epochs. lg_module_of() (modules_lookup.h) applies them. */
    const uint32_t *module_unload;
    const uint32_t *stack_epoch;
    uint64_t nblocks;
    const struct lg_block *blocks;   /* sorted by address */
    uint64_t nobjects;
    const struct lg_object *objects;
    uint64_t nedges;
    const struct lg_edge *edges;
    uint64_t nregions;
    const struct lg_region *regions;
    uint64_t nroots;
    const struct lg_root *roots;
    uint64_t nhistory;
    const struct lg_history *history;
};

struct lg_proc_trace {
    char *path;                      /* the file it came from */
    struct lg_process proc;
    char *exe;
    char **argv;                     /* proc.argc entries */
    uint32_t nsnaps;
    struct lg_snap *snaps;           /* complete ones, in order; the last may be
                                        incomplete (see incomplete) */
    char *incomplete;                /* NULL, or why the trace ended early:
                                        "truncated at offset 8192 (edge table)" */
};

/* Load a trace. 0, or a negative errno with a one-line message in err
 * ("app.4242.trace: truncated at offset 8192 (edge table)"). A trace whose
 * last snapshot is cut short loads with incomplete set when at least one
 * snapshot is complete. Free with lg_trace_free(). */
int lg_trace_load(const char *path, struct lg_proc_trace **out, char *err, size_t errlen);
void lg_trace_free(struct lg_proc_trace *t);

/* String id to text; "?" for LG_NONE or out of range. */
const char *lg_snap_string(const struct lg_snap *s, uint32_t id);

#endif /* LG_MODEL_H */
