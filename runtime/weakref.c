/* weakref.c - weak references: rc_weakref_new/get/free and their death.
 * Owns the rc_weakref blocks and each object's list of them (the list head
 * is in the object's rc__head). A weak reference is a plain malloc'd block,
 * not an object, so it may outlive its target: once the target dies, the
 * weak reference is dead (target NULL) until its owner frees it. Weak
 * reference lists are changed under the runtime lock. */
#include <errno.h>
#include <stdlib.h>

#include "rc_internal.h"

struct rc_weakref {
    rc_object *target;              /* NULL once dead */
    void (*callback)(rc_weakref *w, void *arg);
    void *arg;
    rc_weakref *next;               /* in the target's list while linked */
    rc_weakref **pprev;             /* the pointer that points to this one */
};

static void unlink_weakref(rc_weakref *w)
{
    if (w->pprev == NULL)
        return;
    *w->pprev = w->next;
    if (w->next != NULL)
        w->next->pprev = w->pprev;
    w->next = NULL;
    w->pprev = NULL;
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
    w->target = target;
    w->callback = callback;
    w->arg = arg;
    rc__lock();
    rc__head *h = rc__head_of(target);
    w->next = h->weakrefs;
    if (w->next != NULL)
        w->next->pprev = &w->next;
    w->pprev = &h->weakrefs;
    h->weakrefs = w;
    rc__unlock();
    return w;
}

rc_object *rc_weakref_get(rc_weakref *w)
{
    if (w == NULL)
        return NULL;
    rc__lock();
    rc_object *o = w->target;
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

/* Every weak reference to the object dies first, so that no callback can
 * fetch it through another one; then the callbacks run, each after its weak
 * reference left the list, so a callback may free its own or any other weak
 * reference. */
void rc__weakref_kill_all(rc__head *h)
{
    for (rc_weakref *w = h->weakrefs; w != NULL; w = w->next)
        w->target = NULL;
    while (h->weakrefs != NULL) {
        rc_weakref *w = h->weakrefs;
        unlink_weakref(w);
        w->target = NULL;       /* one made by a callback on the dying object */
        if (w->callback != NULL)
            w->callback(w, w->arg);
    }
}
