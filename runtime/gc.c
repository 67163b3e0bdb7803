/* gc.c - the cycle collector: generations, thresholds, rc_gc_collect().
 * Owns the three generation lists, their counts and thresholds, the enabled
 * flag and the count of tracked objects. Does not own objects (object.c) or
 * weak references (weakref.c kills them when asked). Every function here
 * runs with the runtime lock held.
 *
 * The algorithm is CPython's (Modules/gcmodule.c). The graph: tracked
 * objects, with an edge for each reference their type's traverse reports.
 * collect(g) runs these passes over the generations 0..g merged into one
 * list, "young":
 *   update_refs      gc_refs = refcnt for every young object (COLLECTING).
 *   subtract_refs    for every edge between young objects, gc_refs--.
 *                    After this, gc_refs counts only references from outside
 *                    young: from C variables, globals, older objects.
 *   move_unreachable objects with gc_refs > 0 are reachable, and so is
 *                    everything they reach; the rest moves to "unreachable".
 *   promote          survivors join generation g+1 (2 stays 2).
 *   kill weakrefs    every weak reference to garbage dies (callbacks run)
 *                    before any garbage is cleared, so no callback can see
 *                    a half-cleared object.
 *   delete_garbage   clear() each garbage object; refcounting frees them.
 * A finalize that resurrects its object (object.c) keeps it alive; it ends
 * up back in a generation list. rc_gc_collect returns how many garbage
 * objects were really freed.
 *
 * Automatic collection (rc__gc_note_alloc, on every tracked allocation):
 * count[0] is allocations minus deallocations of tracked objects since the
 * last collection; when it passes threshold[0] a collection runs. It is of
 * the oldest generation i in {2, 1} whose count[i] (collections of i-1
 * since i last ran) has reached threshold[i], else of generation 0. */
#include <errno.h>

#include "rc_internal.h"

#define NUM_GENERATIONS 3

struct generation {
    rc__head head;      /* list head: its next is the oldest member */
    long threshold;
    long count;
};

static struct generation gens[NUM_GENERATIONS] = {
    {.threshold = 700}, {.threshold = 10}, {.threshold = 10},
};
static bool gens_ready;         /* list heads linked (hidden links need code) */

static bool is_enabled = true;
static bool is_collecting;
static size_t tracked_total;
static size_t garbage_freed;    /* garbage objects freed, ever */

/* ---- lists --------------------------------------------------------------
 * Links are stored hidden (bitwise NOT), like Boehm GC's HIDE_POINTER, so
 * that a conservative scanner (leakgraph, LeakSanitizer, memcheck) does not
 * mistake the collector's bookkeeping for ownership: a garbage cycle is
 * then lost memory, as it is in a program without a collector, instead of
 * being reachable from this file's globals through the generation lists. */

static rc__head *next_of(const rc__head *h)
{
    return (rc__head *)~h->next_hidden;
}

static rc__head *prev_of(const rc__head *h)
{
    return (rc__head *)~h->prev_hidden;
}

static void set_next(rc__head *h, rc__head *next)
{
    h->next_hidden = ~(uintptr_t)next;
}

static void set_prev(rc__head *h, rc__head *prev)
{
    h->prev_hidden = ~(uintptr_t)prev;
}

static void list_init(rc__head *l)
{
    set_next(l, l);
    set_prev(l, l);
}

static bool list_is_empty(const rc__head *l)
{
    return next_of(l) == l;
}

static void list_unlink(rc__head *h)
{
    set_next(prev_of(h), next_of(h));
    set_prev(next_of(h), prev_of(h));
}

static void list_append(rc__head *h, rc__head *l)
{
    set_prev(h, prev_of(l));
    set_next(h, l);
    set_next(prev_of(l), h);
    set_prev(l, h);
}

/* Move every member of from to the end of to; from becomes empty. */
static void list_merge(rc__head *from, rc__head *to)
{
    if (list_is_empty(from))
        return;
    rc__head *first = next_of(from), *last = prev_of(from);
    set_prev(first, prev_of(to));
    set_next(prev_of(to), first);
    set_next(last, to);
    set_prev(to, last);
    list_init(from);
}

static void init_lists_once(void)
{
    if (gens_ready)
        return;
    for (int i = 0; i < NUM_GENERATIONS; i++)
        list_init(&gens[i].head);
    gens_ready = true;
}

/* ---- tracking ----------------------------------------------------------- */

void rc__gc_track(rc__head *h)
{
    init_lists_once();
    list_append(h, &gens[0].head);
    h->flags |= RC__F_TRACKED;
    tracked_total++;
}

void rc__gc_untrack(rc__head *h, int dying)
{
    list_unlink(h);
    h->next_hidden = h->prev_hidden = 0;
    h->flags &= ~RC__F_TRACKED;
    tracked_total--;
    if (dying && gens[0].count > 0)
        gens[0].count--;
}

void rc__gc_note_garbage_freed(void)
{
    garbage_freed++;
}

/* ---- the passes --------------------------------------------------------- */

static void update_refs(rc__head *young)
{
    for (rc__head *h = next_of(young); h != young; h = next_of(h)) {
        h->gc_refs = rc__object_of(h)->refcnt;
        h->flags |= RC__F_COLLECTING;
    }
}

static int visit_decref(rc_object *child, const char *field, void *arg)
{
    if (child != NULL) {
        rc__head *ch = rc__head_of(child);
        if (ch->flags & RC__F_COLLECTING)
            ch->gc_refs--;
    }
    return 0;
}

static void subtract_refs(rc__head *young)
{
    for (rc__head *h = next_of(young); h != young; h = next_of(h)) {
        rc_object *o = rc__object_of(h);
        o->type->traverse(o, visit_decref, NULL);
    }
}

/* A reachable object reaches child: child is reachable too. */
static int visit_reachable(rc_object *child, const char *field, void *arg)
{
    rc__head *young = arg;
    if (child == NULL)
        return 0;
    rc__head *ch = rc__head_of(child);
    if (!(ch->flags & RC__F_COLLECTING))
        return 0;               /* older generation, or already scanned */
    if (ch->flags & RC__F_UNREACHABLE) {
        list_unlink(ch);        /* back to young; the scan will reach it */
        list_append(ch, young);
        ch->flags &= ~RC__F_UNREACHABLE;
        ch->gc_refs = 1;
    } else if (ch->gc_refs <= 0) {
        ch->gc_refs = 1;        /* still ahead in young: mark it reachable */
    }
    return 0;
}

/* After this, young holds the reachable objects (COLLECTING cleared) and
 * unreachable the rest (COLLECTING | UNREACHABLE). */
static void move_unreachable(rc__head *young, rc__head *unreachable)
{
    rc__head *h = next_of(young);
    while (h != young) {
        if (h->gc_refs > 0) {
            rc_object *o = rc__object_of(h);
            o->type->traverse(o, visit_reachable, young);
            h->flags &= ~RC__F_COLLECTING;
            h = next_of(h);
        } else {
            rc__head *next = next_of(h);   /* tentatively unreachable */
            list_unlink(h);
            list_append(h, unreachable);
            h->flags |= RC__F_UNREACHABLE;
            h = next;
        }
    }
}

/* Clear each garbage object while holding a reference to it, so that it is
 * freed by the decref that follows (or by a later clear of its owner). What
 * survives (a finalize resurrected it, or its type has no clear) goes to old. */
static void delete_garbage(rc__head *unreachable, rc__head *old)
{
    rc__head survivors;
    list_init(&survivors);
    while (!list_is_empty(unreachable)) {
        rc__head *h = next_of(unreachable);
        rc_object *o = rc__object_of(h);
        rc__incref(o);
        if (o->type->clear != NULL)
            o->type->clear(o);
        list_unlink(h);         /* o is alive: we hold a reference */
        list_append(h, &survivors);
        rc__decref(o);
    }
    for (rc__head *h = next_of(&survivors); h != &survivors; h = next_of(h))
        h->flags &= ~RC__F_GARBAGE;
    list_merge(&survivors, old);
}

static size_t collect(int generation)
{
    is_collecting = true;
    if (generation + 1 < NUM_GENERATIONS)
        gens[generation + 1].count++;
    for (int i = 0; i <= generation; i++)
        gens[i].count = 0;
    for (int i = 0; i < generation; i++)
        list_merge(&gens[i].head, &gens[generation].head);

    rc__head *young = &gens[generation].head;
    rc__head *old = generation + 1 < NUM_GENERATIONS ? &gens[generation + 1].head : young;
    rc__head unreachable;
    list_init(&unreachable);

    update_refs(young);
    subtract_refs(young);
    move_unreachable(young, &unreachable);
    if (old != young)
        list_merge(young, old);

    for (rc__head *h = next_of(&unreachable); h != &unreachable; h = next_of(h))
        h->flags = (h->flags & ~(RC__F_COLLECTING | RC__F_UNREACHABLE)) | RC__F_GARBAGE;
    for (rc__head *h = next_of(&unreachable); h != &unreachable; h = next_of(h)) {
        rc__weakref_kill_all(h);
    }

    size_t freed_before = garbage_freed;
    delete_garbage(&unreachable, old);
    is_collecting = false;
    return garbage_freed - freed_before;
}

static void collect_generations(void)
{
    for (int i = NUM_GENERATIONS - 1; i > 0; i--) {
        if (gens[i].count >= gens[i].threshold) {
            collect(i);
            return;
        }
    }
    collect(0);
}

void rc__gc_note_alloc(void)
{
    init_lists_once();
    gens[0].count++;
    if (is_enabled && !is_collecting && gens[0].threshold > 0 &&
        gens[0].count > gens[0].threshold)
        collect_generations();
}

/* ---- the API ------------------------------------------------------------ */

size_t rc_gc_collect(int generation)
{
    if (generation == -1)
        generation = NUM_GENERATIONS - 1;
    if (generation < 0 || generation >= NUM_GENERATIONS) {
        errno = EINVAL;
        return 0;
    }
    rc__lock();
    init_lists_once();
    size_t n = is_collecting ? 0 : collect(generation);
    rc__unlock();
    return n;
}

void rc_gc_enable(void)
{
    rc__lock();
    is_enabled = true;
    rc__unlock();
}

void rc_gc_disable(void)
{
    rc__lock();
    is_enabled = false;
    rc__unlock();
}

bool rc_gc_isenabled(void)
{
    rc__lock();
    bool on = is_enabled;
    rc__unlock();
    return on;
}

void rc_gc_set_threshold(long t0, long t1, long t2)
{
    rc__lock();
    gens[0].threshold = t0;
    gens[1].threshold = t1;
    gens[2].threshold = t2;
    rc__unlock();
}

void rc_gc_get_threshold(long out[3])
{
    rc__lock();
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = gens[i].threshold;
    rc__unlock();
}

void rc_gc_get_count(long out[3])
{
    rc__lock();
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = gens[i].count;
    rc__unlock();
}

size_t rc_gc_foreach(int (*fn)(rc_object *o, void *arg), void *arg)
{
    rc__lock();
    init_lists_once();
    size_t n = 0;
    if (fn == NULL) {
        n = tracked_total;
        goto out;
    }
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        rc__head *l = &gens[i].head;
        for (rc__head *h = next_of(l); h != l; h = next_of(h)) {
            n++;
            if (fn(rc__object_of(h), arg) != 0)
                goto out;
        }
    }
out:
    rc__unlock();
    return n;
}
