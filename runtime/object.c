/* object.c - objects: allocation, reference counting, deallocation, and the
 * tracer hook. Owns the block layout (rc__head before the object, one
 * malloc'd block), the tracer pointer and the deferred-dealloc stack that
 * keeps freeing long chains from overflowing the C stack. Does not own the
 * generation lists (gc.c) or weak references (weakref.c).
 *
 * Every reference operation the library makes, exported or internal, goes
 * through rc__incref()/rc__decref(), which report to the tracer. With no
 * tracer installed that costs one load and a predicted branch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rc_internal.h"

/* ---- tracer ------------------------------------------------------------- */

static rc_tracer_fn tracer_fn;          /* NEW and DEALLOC read this */
static rc_tracer_fn ref_tracer_fn;      /* increfs/decrefs read only this: the
                                           hook while the mask wants them */
static void *tracer_arg;
static unsigned tracer_events = RC_TRACE_ALL;

/* under rc__lock */
static void publish(rc_tracer_fn fn, void *arg, unsigned events)
{
    const unsigned refs = RC_TRACE_BIT(RC_TRACE_INCREF) | RC_TRACE_BIT(RC_TRACE_DECREF);
    __atomic_store_n(&tracer_fn, NULL, __ATOMIC_RELEASE); /* never a new fn with an old arg */
    __atomic_store_n(&ref_tracer_fn, NULL, __ATOMIC_RELEASE);
    tracer_arg = arg;
    __atomic_store_n(&tracer_events, events, __ATOMIC_RELEASE);
    __atomic_store_n(&ref_tracer_fn, (events & refs) ? fn : NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&tracer_fn, fn, __ATOMIC_RELEASE);
}

void rc_set_tracer(rc_tracer_fn fn, void *arg)
{
    rc__lock();
    publish(fn, arg, tracer_events);
    rc__unlock();
}

void rc_set_tracer_events(unsigned events)
{
    rc__lock();
    publish(__atomic_load_n(&tracer_fn, __ATOMIC_ACQUIRE), tracer_arg, events);
    rc__unlock();
}

rc_tracer_fn rc_get_tracer(void **arg)
{
    rc_tracer_fn fn = __atomic_load_n(&tracer_fn, __ATOMIC_ACQUIRE);
    if (arg != NULL)
        *arg = fn != NULL ? tracer_arg : NULL;
    return fn;
}

void rc__trace(rc_object *o, rc_trace_event ev)
{
    rc_tracer_fn fn = __atomic_load_n(&tracer_fn, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fn != NULL, 0) &&
        (__atomic_load_n(&tracer_events, __ATOMIC_RELAXED) & RC_TRACE_BIT(ev)))
        fn(o, ev, rc__head_of(o), tracer_arg);
}

/* An incref or decref: with no hook, or a hook that wants neither, one load
 * and a predicted branch. */
static inline void trace_ref(rc_object *o, rc_trace_event ev)
{
    rc_tracer_fn fn = __atomic_load_n(&ref_tracer_fn, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fn != NULL, 0) &&
        (__atomic_load_n(&tracer_events, __ATOMIC_RELAXED) & RC_TRACE_BIT(ev)))
        fn(o, ev, rc__head_of(o), tracer_arg);
}

/* ---- allocation --------------------------------------------------------- */

rc_object *rc__new_var(const rc_type *type, size_t extra, int immortal)
{
    if (type == NULL || type->size < sizeof(rc_object)) {
        errno = EINVAL;
        return NULL;
    }
    size_t size = RC__HEAD_SIZE + type->size + extra;
    if (size < extra) {
        errno = ENOMEM;
        return NULL;
    }
    int tracked = type->traverse != NULL && !immortal;
    if (tracked) {
        rc__lock();
        rc__gc_note_alloc();    /* may collect, before the new object exists */
    }
    rc__head *h = calloc(1, size);
    if (h == NULL) {
        if (tracked)
            rc__unlock();
        errno = ENOMEM;
        return NULL;
    }
    rc_object *o = rc__object_of(h);
    o->type = type;
    if (immortal) {
        h->flags = RC__F_IMMORTAL;
        o->refcnt = RC_IMMORTAL_REFCNT;
    } else {
        o->refcnt = 1;
    }
    if (tracked) {
        rc__gc_track(h);
        rc__unlock();
    }
    rc__trace(o, RC_TRACE_NEW);
    return o;
}

rc_object *rc_new(const rc_type *type)
{
    return rc__new_var(type, 0, 0);
}

/* ---- reference counting ------------------------------------------------- */

static void dealloc(rc_object *o);

void rc__incref(rc_object *o)
{
    if (o == NULL || (rc__head_of(o)->flags & RC__F_IMMORTAL))
        return;
    o->refcnt++;
    trace_ref(o, RC_TRACE_INCREF);
}

void rc__decref(rc_object *o)
{
    if (o == NULL || (rc__head_of(o)->flags & RC__F_IMMORTAL))
        return;
    if (--o->refcnt != 0) {
        trace_ref(o, RC_TRACE_DECREF);
        return;
    }
    dealloc(o);
}

void rc_incref(rc_object *o)
{
    rc__incref(o);
}

void rc_decref(rc_object *o)
{
    rc__decref(o);
}

intptr_t rc_refcount(const rc_object *o)
{
    if (o == NULL)
        return 0;
    if (rc__head_of(o)->flags & RC__F_IMMORTAL)
        return RC_IMMORTAL_REFCNT;
    return o->refcnt;
}

void rc_set(rc_object **slot, rc_object *value)
{
    rc_object *old = *slot;
    rc__incref(value);
    *slot = value;          /* store before the decref: it may run code that reads the slot */
    rc__decref(old);
}

/* ---- deallocation ------------------------------------------------------- */

/* Freeing a chain (a list holding a list holding ...) recurses through clear;
 * past this depth objects wait on a per-thread stack and the outermost
 * dealloc frees them, like CPython's trashcan. */
#define DEALLOC_MAX_DEPTH 200

static __thread unsigned dealloc_depth __attribute__((tls_model("initial-exec")));
static __thread rc__head *deferred __attribute__((tls_model("initial-exec")));

/* Clear, finalize and free an object that reached zero, whose weak references
 * are dead and which is no longer tracked. */
static void destroy(rc_object *o)
{
    rc__head *h = rc__head_of(o);
    const rc_type *type = o->type;

    o->refcnt = 1;          /* the runtime's own reference while clear/finalize run */
    if (type->clear != NULL)
        type->clear(o);
    if (type->finalize != NULL && !(h->flags & RC__F_FINALIZED)) {
        h->flags |= RC__F_FINALIZED;
        type->finalize(o);
    }
    if (--o->refcnt != 0) {
        /* Resurrected: finalize stored a new reference. The object lives on,
         * cleared, without weak references; finalize never runs again. */
        h->flags &= ~RC__F_GARBAGE;
        if (type->traverse != NULL) {
            rc__lock();
            rc__gc_track(h);
            rc__unlock();
        }
        rc__trace(o, RC_TRACE_NEW);
        return;
    }
    if (h->flags & RC__F_GARBAGE)
        rc__gc_note_garbage_freed();
    free(h);
}

static void dealloc(rc_object *o)
{
    rc__head *h = rc__head_of(o);

    rc__trace(o, RC_TRACE_DEALLOC);
    if (rc__has_weakrefs(h) || (h->flags & RC__F_TRACKED)) {
        rc__lock();
        if (rc__has_weakrefs(h))
            rc__weakref_kill_all(h);
        if (h->flags & RC__F_TRACKED)
            rc__gc_untrack(h, 1);
        rc__unlock();
    }
    if (dealloc_depth >= DEALLOC_MAX_DEPTH) {
        h->deferred = deferred;
        deferred = h;
        return;
    }
    dealloc_depth++;
    destroy(o);
    if (dealloc_depth == 1) {
        while (deferred != NULL) {
            rc__head *d = deferred;
            deferred = d->deferred;
            destroy(rc__object_of(d));
        }
    }
    dealloc_depth--;
}
