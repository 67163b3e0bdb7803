/* graph.h - the analysis' internal graphs (graph.c) and the passes that
 * share them (classify.c, refcycles.c, increfs.c, records.c). Not for the
 * renderers: they read struct lg_analysis only.
 *
 * Both graphs are CSR arrays: the successors of node i are adj[off[i] ..
 * off[i+1]). Built in two passes over the edge table (count, fill), linear
 * in nodes + edges, with no allocation per node. */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include <stdint.h>

#include "analysis.h"

#define LG_ADJ_INTERIOR 0x80000000u  /* block graph: the pointer is interior */
#define LG_ADJ_INDEX 0x7fffffffu

struct lg_csr {
    uint64_t n;                      /* nodes */
    uint32_t *off;                   /* n + 1 entries */
    uint32_t *adj;                   /* off[n] entries */
    uint32_t *eidx;                  /* block graph with edge indices asked for:
                                        the edge index of each adj entry */
};

/* Every edge, block to block: adj = target block | LG_ADJ_INTERIOR when the
 * edge is INTERIOR (precise and START edges count as start pointers). */
int lg_csr_blocks(const struct lg_snap *s, struct lg_csr *g, bool with_eidx);

/* Precise edges between objects, object to object: adj = edge index.
 * Needs a->block_object. */
int lg_csr_objects(const struct lg_analysis *a, struct lg_csr *g);

void lg_csr_free(struct lg_csr *g);

/* the passes, in the order lg_analyze() runs them */
int lg_classify(struct lg_analysis *a, const struct lg_csr *blocks, bool reach_paths);
int lg_refcount_pass(struct lg_analysis *a, const struct lg_csr *blocks,
                     const struct lg_csr *objs);
int lg_pair_increfs(struct lg_analysis *a, const struct lg_analysis_options *opt);
int lg_build_records(struct lg_analysis *a);

#endif /* LG_GRAPH_H */
