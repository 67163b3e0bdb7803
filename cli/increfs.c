/* increfs.c - which increfs of a reference-leaked object were never given
 * back: pairs the object's increfs (and its creation) with its decrefs from
 * the recorded history. Owns a->increfs.
 *
 * The heuristic (docs/analysis.md, "Pairing increfs"): an event's call site
 * is the first frame of its stack outside librefcount and the shim, mapped
 * through opt->site_fn (the report passes the frame's function, so an
 * incref and the decref that balances it in the same function pair up);
 * without it, the return address itself. Walking the history oldest first,
 * a decref takes back the latest unmatched incref of the same call site;
 * such pairs are balanced and never shown. A decref with no incref of its
 * own call site left released one of the earlier unmatched increfs, but no
 * record says which: the refleak is marked ambiguous and every incref not
 * balanced by its own call site is shown, so the one that leaked is always
 * among them. NEW (the reference rc_new returns) counts as an incref. */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_LIMIT 4096               /* bound on the search for a same-site incref */

static uint64_t site_of(const struct lg_analysis *a, const struct lg_analysis_options *opt,
                        uint32_t stack)
{
    const struct lg_snap *s = a->snap;
    if (stack == LG_NONE || stack >= s->nstacks)
        return 0;
    const struct lg_stk *st = &s->stacks[stack];
    for (uint32_t i = 0; i < st->depth; i++) {
        uint64_t pc = st->pcs[i];
        if (lg_pc_in_runtime(s, pc) || lg_pc_in_shim(s, pc))
            continue;
        return opt && opt->site_fn ? opt->site_fn(opt->site_arg, stack, pc) : pc;
    }
    return st->depth ? st->pcs[st->depth - 1] : 0;
}

int lg_pair_increfs(struct lg_analysis *a, const struct lg_analysis_options *opt)
{
    const struct lg_snap *s = a->snap;
    uint32_t *leak_of = NULL, *start = NULL, *events = NULL, *open = NULL;
    uint64_t *site = NULL;
    int err = -ENOMEM;

    if (a->nrefleaks == 0)
        return 0;
    leak_of = malloc((s->nobjects ? s->nobjects : 1) * sizeof(uint32_t));
    start = calloc((size_t)a->nrefleaks + 1, sizeof(uint32_t));
    if (leak_of == NULL || start == NULL)
        goto out;
    memset(leak_of, 0xff, s->nobjects * sizeof(uint32_t));
    for (uint32_t r = 0; r < a->nrefleaks; r++)
        leak_of[a->refleaks[r].object] = r;

    /* the leaked objects' events, grouped per refleak, oldest first */
    uint64_t total = 0;
    for (uint64_t h = 0; h < s->nhistory; h++) {
        uint32_t r = leak_of[s->history[h].object];
        if (r != LG_NONE) {
            start[r + 1]++;
            total++;
        }
    }
    for (uint32_t r = 0; r < a->nrefleaks; r++)
        start[r + 1] += start[r];
    events = malloc((total ? total : 1) * sizeof(uint32_t));
    site = malloc((total ? total : 1) * sizeof(uint64_t));
    open = malloc((total ? total : 1) * sizeof(uint32_t));
    a->increfs = malloc((total ? total : 1) * sizeof(uint32_t));
    if (events == NULL || site == NULL || open == NULL || a->increfs == NULL)
        goto out;
    for (uint64_t h = 0; h < s->nhistory; h++) {
        uint32_t r = leak_of[s->history[h].object];
        if (r != LG_NONE)
            events[start[r]++] = (uint32_t)h;
    }
    for (uint32_t r = a->nrefleaks; r > 0; r--)
        start[r] = start[r - 1];
    start[0] = 0;

    uint32_t out_pos = 0;
    for (uint32_t r = 0; r < a->nrefleaks; r++) {
        struct lg_refleak *lk = &a->refleaks[r];
        uint32_t nopen = 0;
        lk->history_missing = start[r] == start[r + 1];
        for (uint32_t i = start[r]; i < start[r + 1]; i++) {
            const struct lg_history *h = &s->history[events[i]];
            uint64_t here = site_of(a, opt, h->stack);
            if (h->event == LG_HIST_NEW || h->event == LG_HIST_INCREF) {
                site[nopen] = here;
                open[nopen++] = events[i];
                continue;
            }
            if (h->event != LG_HIST_DECREF)
                continue;
            uint32_t found = LG_NONE;
            for (uint32_t k = nopen, seen = 0; k > 0 && seen < SCAN_LIMIT; k--, seen++)
                if (site[k - 1] == here) {
                    found = k - 1;
                    break;
                }
            if (found == LG_NONE) {
                lk->ambiguous = true;    /* released one of the open ones: which? */
                continue;
            }
            memmove(&open[found], &open[found + 1], (nopen - found - 1) * sizeof(uint32_t));
            memmove(&site[found], &site[found + 1], (nopen - found - 1) * sizeof(uint64_t));
            nopen--;
        }
        lk->first_incref = out_pos;
        memcpy(&a->increfs[out_pos], open, nopen * sizeof(uint32_t));
        lk->nincref = nopen;
        out_pos += nopen;
    }
    err = 0;
out:
    free(leak_of);
    free(start);
    free(events);
    free(site);
    free(open);
    return err;
}
