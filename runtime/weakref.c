/* weakref.c - weak references: rc_weakref_new/get/free and their death.
 * Owns the rc_weakref blocks and each object's list of them (the list head
 * is in the object's rc__head). A weak reference is a plain malloc'd block,
 * not an object, so it may outlive its target: once the target dies, the
 * weak reference is dead (target NULL) until its owner frees it. Weak
 * reference lists are changed under the runtime lock.
 *
 * Every pointer here is stored hidden (bitwise NOT), as gc.c stores its
 * links: a weak reference must not look like ownership to a conservative
 * leak scanner, neither of its target nor (from the target) of itself. */
#include <errno.h>
#include <stdlib.h>

#include "rc_internal.h"

struct rc_weakref {
    uintptr_t target;               /* rc_object *, hidden; NULL once dead */
    void (*callback)(rc_weakref *w, void *arg);
    void *arg;
    uintptr_t next;                 /* rc_weakref *, hidden: next in the target's list */
    uintptr_t pprev;                /* uintptr_t *, hidden: the slot that points here */
};

#define HIDE(p) (~(uintptr_t)(p))
#define SHOW(type, v) ((type)~(v))

static rc_object *target_of(const rc_weakref *w)
{
    return SHOW(rc_object *, w->target);
}

static rc_weakref *next_of(const rc_weakref *w)
{
    return SHOW(rc_weakref *, w->next);
}

static void unlink_weakref(rc_weakref *w)
{
    uintptr_t *pprev = SHOW(uintptr_t *, w->pprev);
    if (pprev == NULL)
        return;
    *pprev = w->next;
    if (next_of(w) != NULL)
        next_of(w)->pprev = w->pprev;
    w->next = HIDE(NULL);
    w->pprev = HIDE(NULL);
}

rc_weakref *rc_weakref_new(rc_object *target, void (*callback)(rc_weakref *w, void *arg),
                           void *arg)
{
    if (target == NULL) {
        errno = EINVAL;
        return NULL;
    }
    rc_weakref *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    w->target = HIDE(target);
    w->callback = callback;
    w->arg = arg;
    rc__lock();
    rc__head *h = rc__head_of(target);
    if (h->weakrefs_hidden == 0)
        h->weakrefs_hidden = HIDE(NULL);    /* zeroed header: empty list */
    w->next = h->weakrefs_hidden;
    if (next_of(w) != NULL)
        next_of(w)->pprev = HIDE(&w->next);
    w->pprev = HIDE(&h->weakrefs_hidden);
    h->weakrefs_hidden = HIDE(w);
    rc__unlock();
    return w;
}

rc_object *rc_weakref_get(rc_weakref *w)
{
    if (w == NULL)
        return NULL;
    rc__lock();
    rc_object *o = target_of(w);
    rc__incref(o);
    rc__unlock();
    return o;
}

void rc_weakref_free(rc_weakref *w)
{
    if (w == NULL)
        return;
    rc__lock();
    unlink_weakref(w);
    rc__unlock();
    free(w);
}

bool rc__has_weakrefs(const rc__head *h)
{
    return h->weakrefs_hidden != 0 && h->weakrefs_hidden != HIDE(NULL);
}

/* Every weak reference to the object dies first, so that no callback can
 * fetch it through another one; then the callbacks run, each after its weak
 * reference left the list, so a callback may free its own or any other weak
 * reference. */
void rc__weakref_kill_all(rc__head *h)
{
    if (!rc__has_weakrefs(h))
        return;
    for (rc_weakref *w = SHOW(rc_weakref *, h->weakrefs_hidden); w != NULL; w = next_of(w))
        w->target = HIDE(NULL);
    while (rc__has_weakrefs(h)) {
        rc_weakref *w = SHOW(rc_weakref *, h->weakrefs_hidden);
        unlink_weakref(w);
        w->target = HIDE(NULL);     /* one made by a callback on the dying object */
        if (w->callback != NULL)
            w->callback(w, w->arg);
    }
}
