/* analysis.h - what the analysis finds in one snapshot: Valgrind's class of
 * every block, the refcount verdicts (garbage, garbage cycles, reference
 * leaks), what each leak owns, and the loss records the renderers print.
 * Owns nothing of the trace: a struct lg_analysis borrows its snapshot.
 *
 * Vocabulary (docs/analysis.md says it at length):
 *   class     memcheck's verdict for one block (enum lg_class); every block
 *             has one, refcount objects included, and the summary adds them.
 *   head      a leak that is reported on its own: a top-level garbage cycle
 *             or a reference leak. What only a head reaches is "owned" by it
 *             and reported under it (owned bytes/blocks), not as a record.
 *   record    one line of the report: blocks of the same kind and allocating
 *             stack (enum lg_leak_kind), sorted by bytes, largest first.
 *
 * Indices are positions in the snapshot's arrays (block, object, edge, root,
 * history, stack); LG_NONE (lg_trace.h) means "none". */
#ifndef LG_ANALYSIS_H
#define LG_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* memcheck's classes, one per block */
enum lg_class {
    LG_STILL_REACHABLE = 0,          /* a chain of start pointers from a root */
    LG_POSSIBLY_LOST = 1,            /* reached only through an interior pointer */
    LG_INDIRECTLY_LOST = 2,          /* unreached, pointed to by a lost block */
    LG_DEFINITELY_LOST = 3,          /* unreached, no lost block points to it */
};
#define LG_NCLASSES 4

/* the kinds of loss record; the names are the JSON report's words */
enum lg_leak_kind {
    LG_LEAK_DEFINITELY_LOST = 0,
    LG_LEAK_INDIRECTLY_LOST = 1,
    LG_LEAK_POSSIBLY_LOST = 2,
    LG_LEAK_STILL_REACHABLE = 3,
    LG_LEAK_GARBAGE_CYCLE = 4,
    LG_LEAK_REFERENCE_LEAK = 5,
};
#define LG_NKINDS 6

/* "definitely_lost", ..., "reference_leak" */
const char *lg_leak_kind_name(enum lg_leak_kind k);
/* "definitely lost", ..., "reference leak" (text report) */
const char *lg_leak_kind_words(enum lg_leak_kind k);

/* what lg_gate_fails() tests: --fail-on none|definite|possible|reachable */
enum lg_fail_on {
    LG_FAIL_NONE = 0,
    LG_FAIL_DEFINITE = 1,            /* definitely lost, garbage cycle, reference leak */
    LG_FAIL_POSSIBLE = 2,            /* ... and possibly lost */
    LG_FAIL_REACHABLE = 3,           /* ... and still reachable (and indirectly lost) */
};

struct lg_amount {
    uint64_t bytes;
    uint64_t blocks;
};

/* The summary follows Valgrind for every block; the refcount counters say how
 * many garbage cycles, cycle members and reference leaks there are. */
struct lg_summary {
    struct lg_amount cls[LG_NCLASSES];   /* indexed by enum lg_class */
    uint64_t garbage_cycles;             /* every component, nested ones too */
    uint64_t cycle_objects;              /* members of all components */
    uint64_t reference_leaks;
    struct lg_amount suppressed;         /* records marked suppressed (not in cls) */
};

/* block flags in lg_analysis.block_flags */
#define LG_AF_GARBAGE 1u                 /* holds a garbage object */
#define LG_AF_CYCLE 2u                   /* holds a member of a garbage cycle */
#define LG_AF_REFLEAK 4u                 /* holds a reference-leaked object */
#define LG_AF_OWNED 8u                   /* reported under a head (block_owner) */
#define LG_AF_ROOTED 16u                 /* reached from a root (class 0 or 1) */

/* A garbage cycle: a strongly connected component of the garbage. */
struct lg_cycle {
    uint32_t first_member, nmembers;     /* range of a->cycle_members (object
                                            indices); the first is the entry */
    uint32_t first_edge, nedges;         /* range of a->cycle_edges: every precise
                                            edge inside the component */
    uint32_t first_path, npath;          /* range of a->cycle_edges too: one simple
                                            cycle from the entry back to it, in
                                            order (A.b -> B, B.a -> A) */
    uint32_t owner;                      /* cycle that owns this one, or LG_NONE */
    uint32_t record;                     /* record index of the top-level owner */
    struct lg_amount self;               /* the members' blocks */
    struct lg_amount owned;              /* top-level only: what it owns besides
                                            its members (nested cycles included) */
};

/* A reference leak: an object with external > 0 that no root reaches. */
struct lg_refleak {
    uint32_t object;
    int64_t external;                    /* refcnt - references from objects */
    uint32_t first_incref, nincref;      /* range of a->increfs (history indices,
                                            oldest first): the unmatched ones */
    bool ambiguous;                      /* some decref was paired by order, not
                                            by call site: every incref not balanced
                                            by its own call site is shown */
    bool history_missing;                /* no history recorded for the object */
    bool history_truncated;              /* LG_OBJF_HISTORY_TRUNCATED */
    uint32_t record;                     /* record index it is reported in */
    struct lg_amount owned;              /* what only it reaches */
};

struct lg_record {
    enum lg_leak_kind kind;
    uint32_t stack;                      /* allocating stack id (canonical: equal
                                            stacks share the lowest id), or LG_NONE */
    uint32_t type;                       /* type string id when every block holds an
                                            object of that type, else LG_NONE */
    struct lg_amount self;               /* the record's own bytes and blocks */
    struct lg_amount owned;              /* held through it: a head's owned blocks;
                                            for definitely_lost, memcheck's indirect
                                            bytes of its cliques ("48 (16 direct, 32
                                            indirect) bytes") */
    uint32_t block;                      /* one block of the record (the first) */
    uint32_t cycle;                      /* garbage_cycle: first cycle, else LG_NONE */
    uint32_t refleak;                    /* reference_leak: first refleak, else LG_NONE */
    uint32_t count;                      /* cycles / refleaks grouped here (>= 1) */
    uint32_t next;                       /* next cycle/refleak of this record in
                                            a->cycle_next / a->refleak_next, LG_NONE */
    bool suppressed;                     /* set by a suppression file */
};

struct lg_analysis_options {
    bool reach_paths;                    /* remember a shortest path from a root to
                                            every reached block (--show-reachable) */
    bool progress;                       /* progress lines on stderr */
    /* Call site of a frame for pairing increfs with decrefs (increfs.c):
     * e.g. the start of the frame's function; stack is the frame's stack
     * (its epoch picks the module). NULL: the pc itself. */
    uint64_t (*site_fn)(void *arg, uint32_t stack, uint64_t pc);
    void *site_arg;
};

struct lg_analysis {
    const struct lg_snap *snap;          /* borrowed; must outlive the analysis */
    uint64_t nblocks;
    uint8_t *block_class;                /* enum lg_class, per block */
    uint8_t *block_flags;                /* LG_AF_*, per block */
    uint32_t *block_object;              /* object index held by the block, or LG_NONE */
    uint32_t *block_owner;               /* the head a block is reported under: a
                                            cycle index (top-level cycle), or
                                            ncycles + refleak index; LG_NONE if none.
                                            Set for heads' own blocks too. */
    int64_t *external;                   /* per object */
    uint32_t *canon_stack;               /* per stack id: lowest id with equal frames
                                            (and, with epochs, equal modules) */
    struct lg_summary summary;

    uint32_t ncycles;
    struct lg_cycle *cycles;
    uint32_t *cycle_members;
    uint32_t *cycle_edges;
    uint32_t *cycle_next;                /* per cycle: next top-level cycle of the
                                            same record, or LG_NONE */

    uint32_t nrefleaks;
    struct lg_refleak *refleaks;
    uint32_t *increfs;
    uint32_t *refleak_next;              /* per refleak: next of the same record */

    uint32_t nrecords;
    struct lg_record *records;           /* sorted: bytes (self + owned) descending */

    uint32_t *record_of_key;             /* records.c: (kind, stack) -> record index;
                                            use lg_block_record() */
    uint64_t *clique_bytes;              /* classify.c -> records.c only (freed there): */
    uint32_t *clique_blocks;             /* per definitely lost block, what its memcheck
                                            clique holds indirectly */
    uint64_t *reach_via;                 /* reach_paths only: per block, how BFS first
                                            reached it: (edge index << 1) | 0, or
                                            (root index << 1) | 1; UINT64_MAX = not */
};

/* Analyse one snapshot. 0 or a negative errno. Free with lg_analysis_free(). */
int lg_analyze(const struct lg_snap *snap, const struct lg_analysis_options *opt,
               struct lg_analysis **out);
void lg_analysis_free(struct lg_analysis *a);

/* A shortest path from a root to a reached block (needs reach_paths): writes
 * the root index to *root and up to max edge indices, root side first, and
 * returns the number of edges (may exceed max; then only max are written).
 * Returns -1 when the block was not reached or paths were not kept. */
long lg_reach_path(const struct lg_analysis *a, uint32_t block, uint32_t *root,
                   uint32_t *edges, size_t max);

/* The record a block is counted in (its own, or its head's), or LG_NONE. */
uint32_t lg_block_record(const struct lg_analysis *a, uint32_t block);

/* Recompute summary.suppressed after records were marked suppressed. */
void lg_analysis_update_suppressed(struct lg_analysis *a);

/* Does a non-suppressed record fail a gate of this strictness? */
bool lg_gate_fails(const struct lg_analysis *a, enum lg_fail_on fail_on);

/* The refcount world's module test: is pc inside librefcount or the shim
 * (libleakgraph, libunwind)? Frames there are trimmed from the top of shown
 * stacks (all but the interposer) and skipped when pairing increfs. */
bool lg_pc_in_runtime(const struct lg_snap *s, uint64_t pc);
bool lg_pc_in_shim(const struct lg_snap *s, uint64_t pc);

#endif /* LG_ANALYSIS_H */
