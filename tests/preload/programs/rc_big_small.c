/* rc_big_small.c - a garbage cycle through a small object (its record in
 * its block's header) and a big one (40000 bytes: no header, its record in
 * the object map), each incref'd and decref'd a few times first, plus a
 * small and a big object that die normally (their records must go). The
 * shim must record both cycle members with their types, both "peer" edges
 * and every history event: 2 news + 3 increfs + 3 decrefs each of the
 * survivors' own, and the rc_set increfs (one per member). */
#include <refcount.h>
#include <stddef.h>

typedef struct node {
    rc_object base;
    rc_object *peer;
} node;

typedef struct big {
    rc_object base;
    rc_object *peer;
    char pad[40000];
} big;

static int traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    rc_object *peer = ((node *)self)->peer;    /* same place in both types */
    return peer ? visit(peer, "peer", arg) : 0;
}

static void clear(rc_object *self)
{
    rc_set(&((node *)self)->peer, NULL);
}

static const rc_type small_type = {"Small", sizeof(node), traverse, clear, NULL};
static const rc_type big_type = {"Big", sizeof(big), traverse, clear, NULL};

int main(void)
{
    rc_gc_disable();
    rc_decref(rc_new(&small_type));         /* born and gone: no record left */
    rc_decref(rc_new(&big_type));
    rc_object *s = rc_new(&small_type), *b = rc_new(&big_type);
    for (int i = 0; i < 3; i++) {
        rc_incref(s);
        rc_incref(b);
        rc_decref(s);
        rc_decref(b);
    }
    rc_set(&((node *)s)->peer, b);
    rc_set(&((node *)b)->peer, s);
    rc_decref(s);
    rc_decref(b);
    return 0;
}
