/* rc_internal.h - what the runtime's files share and nobody else sees: the
 * block layout (a collector header before every object, like PyGC_Head),
 * the traced reference operations every internal incref/decref goes
 * through, the runtime lock, and the hooks between object.c, gc.c and
 * weakref.c. Everything here is hidden (rc__ prefix, hidden visibility). */
#ifndef RC_INTERNAL_H
#define RC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refcount.h"

#define RC__HIDDEN __attribute__((visibility("hidden")))

/* The header the runtime keeps before every object, in the same malloc'd
 * block: block = header, object = block + RC__HEAD_SIZE. */
typedef struct rc__head {
    uintptr_t next_hidden;      /* generation list links (tracked objects), */
    uintptr_t prev_hidden;      /* stored hidden: see gc.c */
    intptr_t gc_refs;           /* collector scratch: copied refcount */
    uint32_t flags;             /* RC__F_* */
    uint32_t spare;
    uintptr_t weakrefs_hidden;  /* first weak reference to this object, hidden */
    struct rc__head *deferred;  /* link in the deferred-dealloc stack */
} rc__head;

#define RC__HEAD_SIZE ((sizeof(rc__head) + 15u) & ~(size_t)15u)

enum {
    RC__F_TRACKED = 1u << 0,     /* in a generation list */
    RC__F_IMMORTAL = 1u << 1,    /* cached int / interned str: never freed */
    RC__F_FINALIZED = 1u << 2,   /* finalize has run (it runs at most once) */
    RC__F_COLLECTING = 1u << 3,  /* in the generations being collected */
    RC__F_UNREACHABLE = 1u << 4, /* tentatively unreachable (move_unreachable) */
    RC__F_GARBAGE = 1u << 5,     /* found unreachable by the running collection */
};

static inline rc__head *rc__head_of(const rc_object *o)
{
    return (rc__head *)((char *)o - RC__HEAD_SIZE);
}

static inline rc_object *rc__object_of(rc__head *h)
{
    return (rc_object *)((char *)h + RC__HEAD_SIZE);
}

/* object.c: allocation and the traced reference operations. */
RC__HIDDEN rc_object *rc__new_var(const rc_type *type, size_t extra, int immortal);
RC__HIDDEN void rc__incref(rc_object *o);
RC__HIDDEN void rc__decref(rc_object *o);
RC__HIDDEN void rc__trace(rc_object *o, rc_trace_event ev);

/* lock.c: the recursive runtime lock behind rc_lock()/rc_unlock(). */
RC__HIDDEN void rc__lock(void);
RC__HIDDEN void rc__unlock(void);

/* gc.c: tracking, automatic collection, dealloc bookkeeping. Called with
 * the runtime lock held. */
RC__HIDDEN void rc__gc_track(rc__head *h);
RC__HIDDEN void rc__gc_untrack(rc__head *h, int dying);
RC__HIDDEN void rc__gc_note_alloc(void);
RC__HIDDEN void rc__gc_note_garbage_freed(void);

/* weakref.c: kill every weak reference to a dying object (callbacks run). */
RC__HIDDEN bool rc__has_weakrefs(const rc__head *h);
RC__HIDDEN void rc__weakref_kill_all(rc__head *h);

/* list.c: field names "[i]" for list items. */
RC__HIDDEN int rc__list_names_reserve(size_t n);

#endif /* RC_INTERNAL_H */
