/* rc_history.c - reference history through librefcount: a list whose items
 * the library increfs internally (rc_list_append), a collector run that
 * clears a garbage cycle (its clear decrefs a Keep object that survives),
 * one reference
 * leak (an extra incref never given back) and INCREFS balanced pairs on one
 * object, more than the history bound, so matched pairs must be dropped
 * while the unmatched incref stays. */
#include <refcount.h>
#include <stdlib.h>

typedef struct node {
    rc_object base;
    rc_object *peer;
    rc_object *extra;
} node;

static int node_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    node *n = (node *)self;
    int r = n->peer ? visit(n->peer, "peer", arg) : 0;
    return r == 0 && n->extra ? visit(n->extra, "extra", arg) : r;
}

static void node_clear(rc_object *self)
{
    rc_set(&((node *)self)->peer, NULL);
    rc_set(&((node *)self)->extra, NULL);
}

static const rc_type node_type = {"Node", sizeof(node), node_traverse, node_clear, NULL};
static const rc_type leaky_type = {"Leaky", sizeof(rc_object), NULL, NULL, NULL};
static const rc_type keep_type = {"Keep", sizeof(rc_object), NULL, NULL, NULL};

rc_object *volatile history_list;
rc_object *volatile history_keep;

/* one call site for both directions, so a balanced pair shares its first
 * frame outside the runtime (the test's reader pairs by return address) */
__attribute__((noinline)) static void touch(rc_object *o, int up)
{
    void (*volatile op)(rc_object *) = up ? rc_incref : rc_decref;
    op(o);
}

__attribute__((noinline)) static void take_and_forget(rc_object *o)
{
    rc_incref(o);                       /* the leaked reference */
}

int main(int argc, char **argv)
{
    int pairs = argc > 1 ? atoi(argv[1]) : 100;
    rc_object *list = rc_list_new();
    for (int i = 0; i < 3; i++) {
        rc_object *s = rc_str_new("item");
        rc_list_append(list, s);        /* the library increfs s itself */
        rc_decref(s);
    }
    history_list = list;

    rc_object *a = rc_new(&node_type), *b = rc_new(&node_type);
    history_keep = rc_new(&keep_type);
    rc_set(&((node *)a)->extra, history_keep);   /* the collector's clear drops it */
    rc_set(&((node *)a)->peer, b);
    rc_set(&((node *)b)->peer, a);
    rc_decref(a);
    rc_decref(b);
    rc_gc_collect(-1);                  /* the collector's clears decref a and b */

    rc_object *leaky = rc_new(&leaky_type);
    for (int i = 0; i < pairs; i++) {
        touch(leaky, 1);
        touch(leaky, 0);
    }
    take_and_forget(leaky);
    rc_decref(leaky);                   /* refcount stays at 1: a reference leak */
    return 0;
}
