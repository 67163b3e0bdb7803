/* refcount.h - librefcount: reference-counted objects with a cycle collector,
 * modelled on CPython's object model and its gc module.
 *
 * Ownership words used in the contract comments:
 *   new:      the caller owns a reference and must rc_decref() it.
 *   borrowed: valid while its owner holds it; rc_incref() to keep it.
 *   takes:    the callee keeps its own reference; the caller keeps theirs.
 *   steals:   the callee takes over the caller's reference.
 *
 * Every function is exported and out of line (no inline fast paths) so that a
 * tool loaded with LD_PRELOAD can see every call; calls the library makes to
 * itself are reported through the tracer hook at the end of this file. */
#ifndef REFCOUNT_H
#define REFCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RC_API __attribute__((visibility("default")))

/* ---- objects ------------------------------------------------------------ */

typedef struct rc_type rc_type;

typedef struct rc_object {  /* first member of every object, like PyObject_HEAD */
    intptr_t refcnt;        /* the reference count */
    const rc_type *type;
} rc_object;

/* Called by traverse for each owned reference; field may be NULL. Nonzero
 * return stops the traversal and is returned by traverse. */
typedef int (*rc_visit_fn)(rc_object *child, const char *field, void *arg);

struct rc_type {
    const char *name;   /* shown in reports: "User" */
    size_t size;        /* bytes of one instance, header included */
    int (*traverse)(rc_object *self, rc_visit_fn visit, void *arg);
                        /* visit every owned reference; NULL: owns none */
    void (*clear)(rc_object *self);    /* drop owned references (collector, dealloc) */
    void (*finalize)(rc_object *self); /* free non-object resources; may be NULL */
};

RC_API rc_object *rc_new(const rc_type *type);     /* new: zeroed, refcnt 1; NULL + errno */
RC_API void rc_incref(rc_object *o);               /* NULL is ignored */
RC_API void rc_decref(rc_object *o);               /* NULL is ignored; at zero: weak refs
                                                      die, clear, finalize, free */
RC_API intptr_t rc_refcount(const rc_object *o);   /* immortals: RC_IMMORTAL_REFCNT */
RC_API void rc_set(rc_object **slot, rc_object *value); /* takes value, drops the old one */

/* Refcount reported for cached small ints and interned strings. */
#define RC_IMMORTAL_REFCNT ((intptr_t)1 << 30)

/* ---- the cycle collector: Python's gc module ---------------------------- */

RC_API size_t rc_gc_collect(int generation);      /* 0, 1, 2 or -1 (= 2); objects freed */
RC_API void rc_gc_enable(void);
RC_API void rc_gc_disable(void);
RC_API bool rc_gc_isenabled(void);
RC_API void rc_gc_set_threshold(long t0, long t1, long t2);  /* defaults 700, 10, 10 */
RC_API void rc_gc_get_threshold(long out[3]);
RC_API void rc_gc_get_count(long out[3]);
RC_API size_t rc_gc_foreach(int (*fn)(rc_object *o, void *arg), void *arg);
                                                   /* gc.get_objects; borrowed objects;
                                                      fn NULL: just count */

/* ---- weak references ---------------------------------------------------- */

typedef struct rc_weakref rc_weakref;

RC_API rc_weakref *rc_weakref_new(rc_object *target,
                                  void (*callback)(rc_weakref *w, void *arg),
                                  void *arg);      /* free with rc_weakref_free() */
RC_API rc_object *rc_weakref_get(rc_weakref *w);   /* new, or NULL once dead */
RC_API void rc_weakref_free(rc_weakref *w);

/* ---- built-in types: "int", "str", "list" -------------------------------- */

RC_API rc_object *rc_int_new(long v);              /* new; [-5, 256] are immortal singletons */
RC_API long rc_int_value(const rc_object *o);
RC_API rc_object *rc_str_new(const char *s);       /* new */
RC_API rc_object *rc_str_intern(const char *s);    /* new; one immortal object per text */
RC_API const char *rc_str_value(const rc_object *o);  /* borrowed */
RC_API rc_object *rc_list_new(void);               /* new */
RC_API int rc_list_append(rc_object *list, rc_object *item); /* takes; 0 or -ENOMEM */
RC_API size_t rc_list_len(const rc_object *list);
RC_API rc_object *rc_list_get(const rc_object *list, size_t i); /* borrowed */

/* ---- threads: the runtime lock (CPython's GIL) --------------------------- */

RC_API void rc_lock(void);      /* recursive; hold it while touching shared objects */
RC_API void rc_unlock(void);

/* ---- tracing: one hook sees every reference operation -------------------
 * Like CPython 3.13's PyRefTracer. The hook sees increfs and decrefs the
 * library makes to itself (list items, collector clears), which an
 * LD_PRELOAD interposer alone could miss. Immortal objects are not traced
 * after RC_TRACE_NEW. The hook must not call back into the runtime. */

typedef enum rc_trace_event {
    RC_TRACE_NEW,       /* o was created; block is the heap block that holds it */
    RC_TRACE_INCREF,    /* o->refcnt was just raised */
    RC_TRACE_DECREF,    /* o->refcnt was just lowered (and is still > 0) */
    RC_TRACE_DEALLOC,   /* o reached zero; it is about to be cleared and freed */
} rc_trace_event;

typedef void (*rc_tracer_fn)(rc_object *o, rc_trace_event event, void *block, void *arg);

RC_API void rc_set_tracer(rc_tracer_fn fn, void *arg);   /* NULL removes the hook */
RC_API rc_tracer_fn rc_get_tracer(void **arg);           /* current hook, or NULL */

/* Which events reach the hook: RC_TRACE_BIT(event) ORed, RC_TRACE_ALL by
 * default. A hook that wants only creations and deallocations spares every
 * incref and decref the call (they cost one load then, as with no hook). */
#define RC_TRACE_BIT(event) (1u << (event))
#define RC_TRACE_ALL 0xfu
RC_API void rc_set_tracer_events(unsigned events);

#ifdef __cplusplus
}
#endif

#endif /* REFCOUNT_H */
