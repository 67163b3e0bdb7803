/* refcycles.c - the refcount verdicts: external references, garbage,
 * garbage cycles (with their closing paths) and reference leaks, and what
 * each leak owns. Owns the cycle and refleak arrays it hangs on the analysis.
 *
 * The graph: objects, and precise edges between them (what each type's
 * traverse reports, with field names). Passes, in order:
 *   1. external = refcnt - incoming precise edges (self-edges too), as
 *      CPython's subtract_refs leaves gc_refs.
 *   2. Alive: BFS along precise edges from every object that a root
 *      reaches (LG_AF_ROOTED, from classify.c, over every edge), that has
 *      external > 0, or that is immortal. After this, garbage = not alive:
 *      exactly what CPython's collector would free.
 *   3. Reference leaks: external > 0 and not rooted.
 *   4. Tarjan's SCC over the garbage (iterative: no recursion). Components
 *      of two or more, or one object with a precise self-edge, are garbage
 *      cycles. Tarjan emits components sinks first, so walking its output
 *      backwards visits every owner before what it owns: a cycle reached
 *      from an earlier cycle through garbage is nested under that one's
 *      top-level cycle (owner), the others are top-level.
 *   5. Closing path: a BFS inside each component from its entry back to it.
 *   6. Ownership: from each head (top-level cycle, then reference leak), a
 *      DFS along every edge over blocks no root reaches and no head or
 *      earlier owner has taken. After this, block_owner names the head each
 *      such block is reported under. */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tarjan {
    uint32_t *index, *low;            /* per object; LG_NONE = unvisited */
    uint32_t *stack;                  /* Tarjan's stack */
    uint32_t *call, *edge;            /* DFS call stack: node, next adj position */
    uint8_t *on_stack;
};

static bool is_garbage(const struct lg_analysis *a, uint32_t o)
{
    return a->block_flags[a->snap->objects[o].block] & LG_AF_GARBAGE;
}

static uint32_t edge_to_obj(const struct lg_analysis *a, uint32_t e)
{
    return a->block_object[a->snap->edges[e].to];
}

/* Appends to *comp_of (per object: component id or LG_NONE) and writes the
 * order: comps[] holds members grouped by component, comp_start[c] the
 * offset of component c. Returns the number of components. */
static int64_t find_sccs(struct lg_analysis *a, const struct lg_csr *og, uint32_t *comp_of,
                         uint32_t *comps, uint32_t *comp_start)
{
    uint64_t n = og->n;
    struct tarjan t = {0};
    int64_t ncomp = -ENOMEM;
    uint32_t next_index = 0, sp = 0, cp = 0, out = 0;

    t.index = malloc((n ? n : 1) * sizeof(uint32_t));
    t.low = malloc((n ? n : 1) * sizeof(uint32_t));
    t.stack = malloc((n ? n : 1) * sizeof(uint32_t));
    t.call = malloc((n ? n : 1) * sizeof(uint32_t));
    t.edge = malloc((n ? n : 1) * sizeof(uint32_t));
    t.on_stack = calloc(n ? n : 1, 1);
    if (!t.index || !t.low || !t.stack || !t.call || !t.edge || !t.on_stack)
        goto out;
    memset(t.index, 0xff, n * sizeof(uint32_t));
    ncomp = 0;
    for (uint64_t r = 0; r < n; r++) {
        if (t.index[r] != LG_NONE || !is_garbage(a, (uint32_t)r))
            continue;
        /* iterative strongconnect(r) */
        t.call[cp] = (uint32_t)r;
        t.edge[cp] = og->off[r];
        cp++;
        t.index[r] = t.low[r] = next_index++;
        t.stack[sp++] = (uint32_t)r;
        t.on_stack[r] = 1;
        while (cp > 0) {
            uint32_t v = t.call[cp - 1];
            if (t.edge[cp - 1] < og->off[v + 1]) {
                uint32_t w = edge_to_obj(a, og->adj[t.edge[cp - 1]++]);
                if (!is_garbage(a, w))
                    continue;
                if (t.index[w] == LG_NONE) {
                    t.index[w] = t.low[w] = next_index++;
                    t.stack[sp++] = w;
                    t.on_stack[w] = 1;
                    t.call[cp] = w;
                    t.edge[cp] = og->off[w];
                    cp++;
                } else if (t.on_stack[w] && t.index[w] < t.low[v]) {
                    t.low[v] = t.index[w];
                }
                continue;
            }
            /* v is done: pop it, fold its low into its caller */
            cp--;
            if (cp > 0) {
                uint32_t u = t.call[cp - 1];
                if (t.low[v] < t.low[u])
                    t.low[u] = t.low[v];
            }
            if (t.low[v] == t.index[v]) {
                comp_start[ncomp] = out;
                uint32_t w;
                do {
                    w = t.stack[--sp];
                    t.on_stack[w] = 0;
                    comp_of[w] = (uint32_t)ncomp;
                    comps[out++] = w;
                } while (w != v);
                ncomp++;
            }
        }
    }
    comp_start[ncomp] = out;
out:
    free(t.index);
    free(t.low);
    free(t.stack);
    free(t.call);
    free(t.edge);
    free(t.on_stack);
    return ncomp;
}

static bool has_self_edge(const struct lg_analysis *a, const struct lg_csr *og, uint32_t o)
{
    for (uint32_t k = og->off[o]; k < og->off[o + 1]; k++)
        if (edge_to_obj(a, og->adj[k]) == o)
            return true;
    return false;
}

/* One simple cycle through component c from its entry back to the entry,
 * as edge indices appended to a->cycle_edges. BFS limited to the component;
 * prev[] is per object and reset for the members only, so the total work
 * over all components is linear. */
static uint32_t closing_path(struct lg_analysis *a, const struct lg_csr *og, const uint32_t *comp_of,
                             uint32_t c, uint32_t entry, uint32_t *prev, uint32_t *queue,
                             uint32_t *out)
{
    uint32_t head = 0, tail = 0, found = LG_NONE;
    /* prev[w] = the edge BFS reached w by; the entry is reached last */
    for (uint32_t k = og->off[entry]; k < og->off[entry + 1] && found == LG_NONE; k++) {
        uint32_t e = og->adj[k], w = edge_to_obj(a, e);
        if (comp_of[w] != c || prev[w] != LG_NONE)
            continue;
        prev[w] = e;
        if (w == entry)
            found = e;
        queue[tail++] = w;
    }
    while (head < tail && prev[entry] == LG_NONE) {
        uint32_t v = queue[head++];
        for (uint32_t k = og->off[v]; k < og->off[v + 1]; k++) {
            uint32_t e = og->adj[k], w = edge_to_obj(a, e);
            if (comp_of[w] != c || prev[w] != LG_NONE)
                continue;
            prev[w] = e;
            queue[tail++] = w;
            if (w == entry)
                break;
        }
    }
    uint32_t n = 0;
    if (prev[entry] != LG_NONE) {
        /* walk back from the entry, then reverse */
        uint32_t w = entry;
        do {
            uint32_t e = prev[w];
            out[n++] = e;
            w = a->block_object[a->snap->edges[e].from];
        } while (w != entry && n <= tail);
        for (uint32_t i = 0; i < n / 2; i++) {
            uint32_t x = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = x;
        }
    }
    for (uint32_t i = 0; i < tail; i++)
        prev[queue[i]] = LG_NONE;
    prev[entry] = LG_NONE;
    return n;
}

/* Pass 6: what a head owns. stack is scratch of nblocks entries. */
static void own_from(struct lg_analysis *a, const struct lg_csr *bg, uint32_t head_id,
                     const uint32_t *starts, uint32_t nstarts, uint32_t *stack,
                     struct lg_amount *owned)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < nstarts; i++)
        stack[top++] = starts[i];
    while (top > 0) {
        uint32_t b = stack[--top];
        for (uint32_t k = bg->off[b]; k < bg->off[b + 1]; k++) {
            uint32_t v = bg->adj[k] & LG_ADJ_INDEX;
            if (a->block_flags[v] & (LG_AF_ROOTED | LG_AF_OWNED))
                continue;
            if (a->block_owner[v] != LG_NONE)
                continue;             /* a head's own block (member or leaked object) */
            a->block_flags[v] |= LG_AF_OWNED;
            a->block_owner[v] = head_id;
            owned->bytes += a->snap->blocks[v].size;
            owned->blocks++;
            stack[top++] = v;
        }
    }
}

int lg_refcount_pass(struct lg_analysis *a, const struct lg_csr *bg, const struct lg_csr *og)
{
    const struct lg_snap *s = a->snap;
    uint64_t n = s->nobjects;
    int err = -ENOMEM;
    uint32_t *queue = malloc((n ? n : 1) * sizeof(uint32_t));
    uint32_t *comp_of = malloc((n ? n : 1) * sizeof(uint32_t));
    uint32_t *comps = malloc((n ? n : 1) * sizeof(uint32_t));
    uint32_t *comp_start = malloc((n + 1) * sizeof(uint32_t));
    uint32_t *cycle_of_comp = NULL, *top_of = NULL, *scratch = NULL, *nested_start = NULL;
    uint8_t *alive = calloc(n ? n : 1, 1);
    if (!queue || !comp_of || !comps || !comp_start || !alive)
        goto out;

    /* pass 1: external */
    for (uint64_t o = 0; o < n; o++) {
        int64_t rc = s->objects[o].refcnt;
        /* a corrupt refcount must not overflow: at most 2^32 edges come off */
        a->external[o] = rc < -((int64_t)1 << 40) ? -((int64_t)1 << 40) : rc;
    }
    for (uint64_t o = 0; o < n; o++)
        for (uint32_t k = og->off[o]; k < og->off[o + 1]; k++)
            a->external[edge_to_obj(a, og->adj[k])]--;

    /* pass 2: alive */
    uint64_t head = 0, tail = 0;
    for (uint64_t o = 0; o < n; o++) {
        const struct lg_object *obj = &s->objects[o];
        if ((a->block_flags[obj->block] & LG_AF_ROOTED) || a->external[o] > 0 ||
            (obj->flags & LG_OBJF_IMMORTAL)) {
            alive[o] = 1;
            queue[tail++] = (uint32_t)o;
        }
    }
    while (head < tail) {
        uint32_t v = queue[head++];
        for (uint32_t k = og->off[v]; k < og->off[v + 1]; k++) {
            uint32_t w = edge_to_obj(a, og->adj[k]);
            if (!alive[w]) {
                alive[w] = 1;
                queue[tail++] = w;
            }
        }
    }
    for (uint64_t o = 0; o < n; o++)
        if (!alive[o])
            a->block_flags[s->objects[o].block] |= LG_AF_GARBAGE;

    /* pass 3: reference leaks */
    uint32_t nleaks = 0;
    for (uint64_t o = 0; o < n; o++) {
        const struct lg_object *obj = &s->objects[o];
        if (a->external[o] > 0 && !(a->block_flags[obj->block] & LG_AF_ROOTED) &&
            !(obj->flags & LG_OBJF_IMMORTAL))
            nleaks++;
    }
    a->refleaks = calloc(nleaks ? nleaks : 1, sizeof(*a->refleaks));
    a->refleak_next = malloc((nleaks ? nleaks : 1) * sizeof(uint32_t));
    if (a->refleaks == NULL || a->refleak_next == NULL)
        goto out;
    for (uint64_t o = 0; o < n; o++) {
        const struct lg_object *obj = &s->objects[o];
        if (a->external[o] > 0 && !(a->block_flags[obj->block] & LG_AF_ROOTED) &&
            !(obj->flags & LG_OBJF_IMMORTAL)) {
            struct lg_refleak *r = &a->refleaks[a->nrefleaks];
            r->object = (uint32_t)o;
            r->external = a->external[o];
            r->history_truncated = obj->flags & LG_OBJF_HISTORY_TRUNCATED;
            a->refleak_next[a->nrefleaks] = LG_NONE;
            a->block_flags[obj->block] |= LG_AF_REFLEAK;
            a->nrefleaks++;
        }
    }
    a->summary.reference_leaks = a->nrefleaks;

    /* pass 4: components of the garbage */
    memset(comp_of, 0xff, n * sizeof(uint32_t));
    int64_t ncomp = find_sccs(a, og, comp_of, comps, comp_start);
    if (ncomp < 0)
        goto out;
    cycle_of_comp = malloc((ncomp ? (size_t)ncomp : 1) * sizeof(uint32_t));
    if (cycle_of_comp == NULL)
        goto out;
    uint32_t ncycles = 0;
    uint64_t nmembers = 0;
    for (int64_t c = 0; c < ncomp; c++) {
        uint32_t size = comp_start[c + 1] - comp_start[c];
        cycle_of_comp[c] = LG_NONE;
        if (size >= 2 || has_self_edge(a, og, comps[comp_start[c]])) {
            cycle_of_comp[c] = ncycles++;
            nmembers += size;
        }
    }
    a->cycles = calloc(ncycles ? ncycles : 1, sizeof(*a->cycles));
    a->cycle_members = malloc((nmembers ? nmembers : 1) * sizeof(uint32_t));
    a->cycle_next = malloc((ncycles ? ncycles : 1) * sizeof(uint32_t));
    /* edges inside components: at most every precise edge, plus the paths */
    uint64_t cap = (uint64_t)og->off[n] + nmembers;
    a->cycle_edges = malloc((cap ? cap : 1) * sizeof(uint32_t));
    top_of = malloc((n ? n : 1) * sizeof(uint32_t));
    scratch = malloc(((s->nblocks > n ? s->nblocks : n) + 1) * sizeof(uint32_t));
    if (!a->cycles || !a->cycle_members || !a->cycle_next || !a->cycle_edges || !top_of || !scratch)
        goto out;
    a->ncycles = ncycles;
    a->summary.garbage_cycles = ncycles;
    a->summary.cycle_objects = nmembers;
    memset(top_of, 0xff, n * sizeof(uint32_t));
    memset(scratch, 0xff, n * sizeof(uint32_t));     /* closing_path's prev[] */

    /* walk components sources first (Tarjan's output backwards) */
    uint32_t mpos = 0, epos = 0, ci = 0;
    for (int64_t c = ncomp - 1; c >= 0; c--) {
        uint32_t first = comps[comp_start[c]];
        uint32_t top = top_of[first];
        for (uint32_t i = comp_start[c]; i < comp_start[c + 1] && top == LG_NONE; i++)
            top = top_of[comps[i]];
        if (cycle_of_comp[c] != LG_NONE) {
            struct lg_cycle *cy = &a->cycles[ci];
            cycle_of_comp[c] = ci;
            cy->owner = top;
            cy->record = LG_NONE;
            a->cycle_next[ci] = LG_NONE;
            if (top == LG_NONE)
                top = ci;
            /* entry: the member memcheck calls definitely lost, else the
             * lowest block */
            uint32_t entry = first;
            for (uint32_t i = comp_start[c]; i < comp_start[c + 1]; i++) {
                uint32_t o = comps[i];
                uint32_t bo = s->objects[o].block, be = s->objects[entry].block;
                bool od = a->block_class[bo] == LG_DEFINITELY_LOST;
                bool ed = a->block_class[be] == LG_DEFINITELY_LOST;
                if ((od && !ed) || (od == ed && bo < be))
                    entry = o;
            }
            cy->first_member = mpos;
            a->cycle_members[mpos++] = entry;
            for (uint32_t i = comp_start[c]; i < comp_start[c + 1]; i++)
                if (comps[i] != entry)
                    a->cycle_members[mpos++] = comps[i];
            cy->nmembers = mpos - cy->first_member;
            cy->first_edge = epos;
            for (uint32_t i = cy->first_member; i < mpos; i++) {
                uint32_t o = a->cycle_members[i];
                const struct lg_block *b = &s->blocks[s->objects[o].block];
                cy->self.bytes += b->size;
                cy->self.blocks++;
                a->block_flags[s->objects[o].block] |= LG_AF_CYCLE;
                for (uint32_t k = og->off[o]; k < og->off[o + 1]; k++)
                    if (comp_of[edge_to_obj(a, og->adj[k])] == (uint32_t)c)
                        a->cycle_edges[epos++] = og->adj[k];
            }
            cy->nedges = epos - cy->first_edge;
            cy->first_path = epos;
            ci++;
        }
        /* pass what owns this component on to what it points to */
        if (top != LG_NONE)
            for (uint32_t i = comp_start[c]; i < comp_start[c + 1]; i++) {
                uint32_t o = comps[i];
                top_of[o] = top;
                for (uint32_t k = og->off[o]; k < og->off[o + 1]; k++) {
                    uint32_t w = edge_to_obj(a, og->adj[k]);
                    if (comp_of[w] != LG_NONE && top_of[w] == LG_NONE)
                        top_of[w] = top;
                }
            }
        if (cycle_of_comp[c] != LG_NONE) {
            /* pass 5: the closing path, right after the component's edges */
            struct lg_cycle *cy = &a->cycles[cycle_of_comp[c]];
            cy->npath = closing_path(a, og, comp_of, (uint32_t)c, a->cycle_members[cy->first_member],
                                     scratch, queue, &a->cycle_edges[epos]);
            epos += cy->npath;
        }
    }

    /* pass 6: ownership. Heads' own blocks first, so no head takes another's;
     * nested cycles' members are owned by their top-level cycle up front. */
    for (uint64_t b = 0; b < s->nblocks; b++)
        a->block_owner[b] = LG_NONE;
    for (uint32_t i = 0; i < a->ncycles; i++) {
        struct lg_cycle *cy = &a->cycles[i];
        uint32_t head_id = cy->owner == LG_NONE ? i : cy->owner;
        for (uint32_t m = 0; m < cy->nmembers; m++) {
            uint32_t b = s->objects[a->cycle_members[cy->first_member + m]].block;
            a->block_owner[b] = head_id;
            if (cy->owner != LG_NONE)
                a->block_flags[b] |= LG_AF_OWNED;
        }
        if (cy->owner != LG_NONE) {
            a->cycles[cy->owner].owned.bytes += cy->self.bytes;
            a->cycles[cy->owner].owned.blocks += cy->self.blocks;
        }
    }
    for (uint32_t r = 0; r < a->nrefleaks; r++)
        a->block_owner[s->objects[a->refleaks[r].object].block] = a->ncycles + r;
    /* every cycle's members, grouped by top-level cycle (a counting sort) */
    nested_start = calloc((size_t)a->ncycles + 1, sizeof(uint32_t));
    if (nested_start == NULL)
        goto out;
    for (uint32_t i = 0; i < a->ncycles; i++) {
        uint32_t t = a->cycles[i].owner == LG_NONE ? i : a->cycles[i].owner;
        nested_start[t + 1] += a->cycles[i].nmembers;
    }
    for (uint32_t i = 0; i < a->ncycles; i++)
        nested_start[i + 1] += nested_start[i];
    for (uint32_t i = 0; i < a->ncycles; i++) {
        const struct lg_cycle *cy = &a->cycles[i];
        uint32_t t = cy->owner == LG_NONE ? i : cy->owner;
        for (uint32_t m = 0; m < cy->nmembers; m++)
            queue[nested_start[t]++] = s->objects[a->cycle_members[cy->first_member + m]].block;
    }
    for (uint32_t i = a->ncycles; i > 0; i--)
        nested_start[i] = nested_start[i - 1];
    nested_start[0] = 0;
    for (uint32_t i = 0; i < a->ncycles; i++) {
        struct lg_cycle *cy = &a->cycles[i];
        if (cy->owner != LG_NONE)
            continue;
        own_from(a, bg, i, &queue[nested_start[i]], nested_start[i + 1] - nested_start[i],
                 scratch, &cy->owned);
    }
    for (uint32_t r = 0; r < a->nrefleaks; r++) {
        uint32_t b = s->objects[a->refleaks[r].object].block;
        own_from(a, bg, a->ncycles + r, &b, 1, scratch, &a->refleaks[r].owned);
    }
    err = 0;
out:
    free(queue);
    free(comp_of);
    free(comps);
    free(comp_start);
    free(cycle_of_comp);
    free(top_of);
    free(scratch);
    free(nested_start);
    free(alive);
    return err;
}
