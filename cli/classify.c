/* classify.c - memcheck's leak classes for every block (mc_leakcheck.c's
 * algorithm on the recorded graph). Owns no memory beyond its work queue.
 *
 * The graph: blocks, and every edge between them (precise edges count as
 * start pointers: an object's address is the start of its block). Roots:
 * the ROOTS table, plus blocks that are never a leak (LG_BLOCKF_LIBC libc
 * and loader bookkeeping, immortal objects), which count as start roots.
 *
 * Passes, in order:
 *   1. BFS from the start roots along start pointers only. After this,
 *      every block with a chain of start pointers from a root is
 *      LG_STILL_REACHABLE (memcheck's Reachable) and, with reach paths on,
 *      reach_via holds the edge (or root) BFS first reached it by, so the
 *      path back to a root is a shortest one.
 *   2. The same queue again from its head, now along every pointer, plus
 *      the interior roots. After this, every other block a root reaches is
 *      LG_POSSIBLY_LOST (memcheck's Possible: its upgrade rule gives
 *      Reachable exactly when a start-only chain exists).
 *   3. Cliques, as lc_do_leakcheck does: in address order, each block not
 *      yet reached becomes a clique leader; everything unreached it reaches
 *      (other than itself) becomes LG_INDIRECTLY_LOST, earlier leaders
 *      included. Leaders left are LG_DEFINITELY_LOST. So one member of each
 *      lost structure with no lost pointer into it is definite (for a lost
 *      cycle, its lowest address), the rest indirect, as memcheck counts. */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UNREACHED 0xff

static void reach(struct lg_analysis *a, uint32_t b, uint8_t cls, uint64_t via,
                  uint32_t *queue, uint64_t *tail)
{
    a->block_class[b] = cls;
    if (a->reach_via)
        a->reach_via[b] = via;
    queue[(*tail)++] = b;
}

int lg_classify(struct lg_analysis *a, const struct lg_csr *g, bool reach_paths)
{
    const struct lg_snap *s = a->snap;
    uint64_t n = s->nblocks, head = 0, tail = 0;
    uint32_t *queue = malloc((n ? n : 1) * sizeof(uint32_t));
    if (queue == NULL)
        return -ENOMEM;
    if (reach_paths) {
        a->reach_via = malloc((n ? n : 1) * sizeof(uint64_t));
        if (a->reach_via == NULL) {
            free(queue);
            return -ENOMEM;
        }
        memset(a->reach_via, 0xff, n * sizeof(uint64_t));
    }
    memset(a->block_class, UNREACHED, n);

    /* pass 1: start roots, start pointers */
    for (uint64_t i = 0; i < s->nroots; i++) {
        const struct lg_root *r = &s->roots[i];
        if (r->kind != LG_EDGE_INTERIOR && a->block_class[r->to] == UNREACHED)
            reach(a, r->to, LG_STILL_REACHABLE, (i << 1) | 1, queue, &tail);
    }
    for (uint64_t b = 0; b < n; b++) {
        bool never_lost = s->blocks[b].flags & LG_BLOCKF_LIBC;
        uint32_t o = a->block_object[b];
        if (o != LG_NONE && (s->objects[o].flags & LG_OBJF_IMMORTAL))
            never_lost = true;
        if (never_lost && a->block_class[b] == UNREACHED)
            reach(a, (uint32_t)b, LG_STILL_REACHABLE, UINT64_MAX, queue, &tail);
    }
    while (head < tail) {
        uint32_t b = queue[head++];
        for (uint32_t k = g->off[b]; k < g->off[b + 1]; k++) {
            uint32_t v = g->adj[k];
            if (v & LG_ADJ_INTERIOR)
                continue;
            if (a->block_class[v] == UNREACHED)
                reach(a, v, LG_STILL_REACHABLE, g->eidx ? (uint64_t)g->eidx[k] << 1 : 0, queue, &tail);
        }
    }
    /* After this, every still reachable block is marked. */

    /* pass 2: the whole queue again, every pointer, plus interior roots */
    for (uint64_t i = 0; i < s->nroots; i++) {
        const struct lg_root *r = &s->roots[i];
        if (a->block_class[r->to] == UNREACHED)
            reach(a, r->to, LG_POSSIBLY_LOST, (i << 1) | 1, queue, &tail);
    }
    head = 0;
    while (head < tail) {
        uint32_t b = queue[head++];
        for (uint32_t k = g->off[b]; k < g->off[b + 1]; k++) {
            uint32_t v = g->adj[k] & LG_ADJ_INDEX;
            if (a->block_class[v] == UNREACHED)
                reach(a, v, LG_POSSIBLY_LOST, g->eidx ? (uint64_t)g->eidx[k] << 1 : 0, queue, &tail);
        }
    }
    for (uint64_t i = 0; i < tail; i++)
        a->block_flags[queue[i]] |= LG_AF_ROOTED;
    /* After this, every block a root reaches is marked. */

    /* pass 3: cliques. The queue is reused as the DFS stack: each block is
     * pushed when it turns indirect, at most once. */
    a->clique_bytes = calloc(n ? n : 1, sizeof(uint64_t));
    a->clique_blocks = calloc(n ? n : 1, sizeof(uint32_t));
    if (a->clique_bytes == NULL || a->clique_blocks == NULL) {
        free(queue);
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (a->block_class[i] != UNREACHED)
            continue;               /* reached, or turned indirect already */
        uint64_t top = 0;
        queue[top++] = (uint32_t)i;
        while (top > 0) {
            uint32_t b = queue[--top];
            for (uint32_t k = g->off[b]; k < g->off[b + 1]; k++) {
                uint32_t v = g->adj[k] & LG_ADJ_INDEX;
                if (v != i && a->block_class[v] == UNREACHED) {
                    a->block_class[v] = LG_INDIRECTLY_LOST;
                    queue[top++] = v;
                    /* the clique grows by v and by what v led, if it was a leader */
                    a->clique_bytes[i] += a->snap->blocks[v].size + a->clique_bytes[v];
                    a->clique_blocks[i] += 1 + a->clique_blocks[v];
                    a->clique_bytes[v] = 0;
                    a->clique_blocks[v] = 0;
                }
            }
        }
        /* the leader stays UNREACHED: a later leader may still reach it */
    }
    for (uint64_t i = 0; i < n; i++)
        if (a->block_class[i] == UNREACHED)
            a->block_class[i] = LG_DEFINITELY_LOST;
    /* After this, every block has its class. */
    free(queue);
    return 0;
}
