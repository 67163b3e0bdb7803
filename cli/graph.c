/* graph.c - CSR adjacency built from a snapshot's edge table: the block
 * graph (every edge) and the object graph (precise edges between objects).
 * Owns nothing beyond the arrays it returns in struct lg_csr. */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>

void lg_csr_free(struct lg_csr *g)
{
    free(g->off);
    free(g->adj);
    free(g->eidx);
    g->off = g->adj = g->eidx = NULL;
    g->n = 0;
}

int lg_csr_blocks(const struct lg_snap *s, struct lg_csr *g, bool with_eidx)
{
    if (s->nblocks >= LG_ADJ_INDEX || s->nedges >= UINT32_MAX)
        return -E2BIG;
    g->n = s->nblocks;
    g->off = calloc(g->n + 1, sizeof(uint32_t));
    g->adj = malloc((s->nedges ? s->nedges : 1) * sizeof(uint32_t));
    if (with_eidx)
        g->eidx = malloc((s->nedges ? s->nedges : 1) * sizeof(uint32_t));
    if (g->off == NULL || g->adj == NULL || (with_eidx && g->eidx == NULL)) {
        lg_csr_free(g);
        return -ENOMEM;
    }
    /* count, prefix-sum into start offsets, then fill (off[i] walks to the
     * end of its run, so shift back afterwards) */
    for (uint64_t i = 0; i < s->nedges; i++)
        g->off[s->edges[i].from + 1]++;
    for (uint64_t i = 0; i < g->n; i++)
        g->off[i + 1] += g->off[i];
    for (uint64_t i = 0; i < s->nedges; i++) {
        const struct lg_edge *e = &s->edges[i];
        uint32_t v = e->to | (e->kind == LG_EDGE_INTERIOR ? LG_ADJ_INTERIOR : 0);
        if (g->eidx)
            g->eidx[g->off[e->from]] = (uint32_t)i;
        g->adj[g->off[e->from]++] = v;
    }
    for (uint64_t i = g->n; i > 0; i--)
        g->off[i] = g->off[i - 1];
    g->off[0] = 0;
    return 0;
}

int lg_csr_objects(const struct lg_analysis *a, struct lg_csr *g)
{
    const struct lg_snap *s = a->snap;
    uint64_t m = 0;
    g->n = s->nobjects;
    g->off = calloc(g->n + 1, sizeof(uint32_t));
    if (g->off == NULL)
        return -ENOMEM;
    for (uint64_t i = 0; i < s->nedges; i++) {
        const struct lg_edge *e = &s->edges[i];
        if (e->kind != LG_EDGE_PRECISE)
            continue;
        uint32_t f = a->block_object[e->from], t = a->block_object[e->to];
        if (f == LG_NONE || t == LG_NONE)
            continue;
        g->off[f + 1]++;
        m++;
    }
    g->adj = malloc((m ? m : 1) * sizeof(uint32_t));
    if (g->adj == NULL) {
        lg_csr_free(g);
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < g->n; i++)
        g->off[i + 1] += g->off[i];
    for (uint64_t i = 0; i < s->nedges; i++) {
        const struct lg_edge *e = &s->edges[i];
        if (e->kind != LG_EDGE_PRECISE)
            continue;
        uint32_t f = a->block_object[e->from], t = a->block_object[e->to];
        if (f == LG_NONE || t == LG_NONE)
            continue;
        g->adj[g->off[f]++] = (uint32_t)i;
    }
    for (uint64_t i = g->n; i > 0; i--)
        g->off[i] = g->off[i - 1];
    g->off[0] = 0;
    return 0;
}
