/* records.c - loss records: blocks of the same kind and allocating stack
 * grouped into one report line, sorted by bytes (own + owned, largest
 * first). Owns a->records and a->record_of_key.
 *
 * Blocks that a head owns (LG_AF_OWNED) or that are a head's own (cycle
 * members, leaked objects) are not grouped by class: they are counted in
 * the head's record (garbage_cycle, reference_leak), which groups heads by
 * the allocating stack of the cycle's entry or of the leaked object. The
 * grouping key (kind, canonical stack) indexes a direct table of
 * LG_NKINDS * (nstacks + 1) entries: no hashing, linear time. */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const enum lg_leak_kind kind_of_class[LG_NCLASSES] = {
    [LG_STILL_REACHABLE] = LG_LEAK_STILL_REACHABLE,
    [LG_POSSIBLY_LOST] = LG_LEAK_POSSIBLY_LOST,
    [LG_INDIRECTLY_LOST] = LG_LEAK_INDIRECTLY_LOST,
    [LG_DEFINITELY_LOST] = LG_LEAK_DEFINITELY_LOST,
};

static uint64_t key_of(const struct lg_analysis *a, enum lg_leak_kind kind, uint32_t block)
{
    uint32_t st = a->snap->blocks[block].stack;
    uint64_t slot = st == LG_NONE ? 0 : (uint64_t)a->canon_stack[st] + 1;
    return (uint64_t)kind * (a->snap->nstacks + 1) + slot;
}

static uint32_t type_of(const struct lg_analysis *a, uint32_t block)
{
    uint32_t o = a->block_object[block];
    return o == LG_NONE ? LG_NONE : a->snap->objects[o].type_name;
}

struct builder {
    struct lg_analysis *a;
    uint32_t cap;
    uint32_t *tail;                   /* per record: last cycle/refleak chained */
};

static int record_for(struct builder *bd, enum lg_leak_kind kind, uint32_t block, uint32_t *out)
{
    struct lg_analysis *a = bd->a;
    uint64_t key = key_of(a, kind, block);
    uint32_t r = a->record_of_key[key];
    if (r == LG_NONE) {
        if (a->nrecords == bd->cap) {
            uint32_t cap = bd->cap ? bd->cap * 2 : 64;
            struct lg_record *n = realloc(a->records, cap * sizeof(*n));
            uint32_t *t = realloc(bd->tail, cap * sizeof(*t));
            if (n)
                a->records = n;
            if (t)
                bd->tail = t;
            if (n == NULL || t == NULL)
                return -ENOMEM;
            bd->cap = cap;
        }
        r = a->nrecords++;
        struct lg_record *rec = &a->records[r];
        memset(rec, 0, sizeof(*rec));
        rec->kind = kind;
        uint32_t st = a->snap->blocks[block].stack;
        rec->stack = st == LG_NONE ? LG_NONE : a->canon_stack[st];
        rec->type = type_of(a, block);
        rec->block = block;
        rec->cycle = rec->refleak = rec->next = LG_NONE;
        bd->tail[r] = LG_NONE;
        a->record_of_key[key] = r;
    } else if (a->records[r].type != type_of(a, block)) {
        a->records[r].type = LG_NONE;
    }
    *out = r;
    return 0;
}

static int by_size(const void *x, const void *y)
{
    const struct lg_record *a = x, *b = y;
    uint64_t sa = a->self.bytes + a->owned.bytes, sb = b->self.bytes + b->owned.bytes;
    if (sa != sb)
        return sa > sb ? -1 : 1;
    if (a->self.blocks != b->self.blocks)
        return a->self.blocks > b->self.blocks ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return a->block < b->block ? -1 : a->block > b->block;
}

int lg_build_records(struct lg_analysis *a)
{
    const struct lg_snap *s = a->snap;
    struct builder bd = {a, 0, NULL};
    uint64_t nkeys = (uint64_t)LG_NKINDS * (s->nstacks + 1);
    int err = -ENOMEM;

    a->record_of_key = malloc(nkeys * sizeof(uint32_t));
    if (a->record_of_key == NULL)
        return -ENOMEM;
    memset(a->record_of_key, 0xff, nkeys * sizeof(uint32_t));

    for (uint64_t b = 0; b < s->nblocks; b++) {
        if (a->block_owner[b] != LG_NONE)
            continue;                 /* counted in its head's record */
        uint32_t r;
        err = record_for(&bd, kind_of_class[a->block_class[b]], (uint32_t)b, &r);
        if (err < 0)
            goto out;
        a->records[r].self.bytes += s->blocks[b].size;
        a->records[r].self.blocks++;
        if (a->block_class[b] == LG_DEFINITELY_LOST && a->clique_bytes) {
            a->records[r].owned.bytes += a->clique_bytes[b];
            a->records[r].owned.blocks += a->clique_blocks[b];
        }
    }
    free(a->clique_bytes);
    free(a->clique_blocks);
    a->clique_bytes = NULL;
    a->clique_blocks = NULL;
    for (uint32_t i = 0; i < a->ncycles; i++) {
        struct lg_cycle *cy = &a->cycles[i];
        if (cy->owner != LG_NONE)
            continue;
        uint32_t r, entry = s->objects[a->cycle_members[cy->first_member]].block;
        err = record_for(&bd, LG_LEAK_GARBAGE_CYCLE, entry, &r);
        if (err < 0)
            goto out;
        struct lg_record *rec = &a->records[r];
        rec->self.bytes += cy->self.bytes;
        rec->self.blocks += cy->self.blocks;
        rec->owned.bytes += cy->owned.bytes;
        rec->owned.blocks += cy->owned.blocks;
        rec->count++;
        if (bd.tail[r] == LG_NONE)
            rec->cycle = i;
        else
            a->cycle_next[bd.tail[r]] = i;
        bd.tail[r] = i;
    }
    for (uint32_t i = 0; i < a->nrefleaks; i++) {
        struct lg_refleak *lk = &a->refleaks[i];
        uint32_t r, b = s->objects[lk->object].block;
        err = record_for(&bd, LG_LEAK_REFERENCE_LEAK, b, &r);
        if (err < 0)
            goto out;
        struct lg_record *rec = &a->records[r];
        rec->self.bytes += s->blocks[b].size;
        rec->self.blocks++;
        rec->owned.bytes += lk->owned.bytes;
        rec->owned.blocks += lk->owned.blocks;
        rec->count++;
        if (bd.tail[r] == LG_NONE)
            rec->refleak = i;
        else
            a->refleak_next[bd.tail[r]] = i;
        bd.tail[r] = i;
    }

    /* sort, then renumber the key table and the heads' record indices */
    if (a->nrecords > 1)
        qsort(a->records, a->nrecords, sizeof(*a->records), by_size);
    for (uint32_t r = 0; r < a->nrecords; r++) {
        const struct lg_record *rec = &a->records[r];
        enum lg_leak_kind k = rec->kind;
        uint64_t slot = rec->stack == LG_NONE ? 0 : (uint64_t)rec->stack + 1;
        uint64_t key = (uint64_t)k * (s->nstacks + 1) + slot;
        a->record_of_key[key] = r;
        for (uint32_t c = rec->cycle; c != LG_NONE; c = a->cycle_next[c])
            a->cycles[c].record = r;
        for (uint32_t l = rec->refleak; l != LG_NONE; l = a->refleak_next[l])
            a->refleaks[l].record = r;
    }
    for (uint32_t i = 0; i < a->ncycles; i++)
        if (a->cycles[i].owner != LG_NONE)
            a->cycles[i].record = a->cycles[a->cycles[i].owner].record;
    err = 0;
out:
    free(bd.tail);
    return err;
}

uint32_t lg_block_record(const struct lg_analysis *a, uint32_t block)
{
    uint32_t h = a->block_owner[block];
    if (h != LG_NONE)
        return h < a->ncycles ? a->cycles[h].record : a->refleaks[h - a->ncycles].record;
    if (a->record_of_key == NULL)
        return LG_NONE;
    return a->record_of_key[key_of(a, kind_of_class[a->block_class[block]], block)];
}
