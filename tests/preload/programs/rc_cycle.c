/* rc_cycle.c - two librefcount objects that own each other through their
 * "peer" fields, dropped without a collection: a garbage cycle the shim
 * must record with two precise edges labelled "peer". */
#include <refcount.h>
#include <stddef.h>

typedef struct node {
    rc_object base;
    rc_object *peer;
} node;

static int node_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    node *n = (node *)self;
    return n->peer ? visit(n->peer, "peer", arg) : 0;
}

static void node_clear(rc_object *self)
{
    rc_set(&((node *)self)->peer, NULL);
}

static const rc_type node_type = {"Node", sizeof(node), node_traverse, node_clear, NULL};

int main(void)
{
    rc_gc_disable();
    rc_object *a = rc_new(&node_type), *b = rc_new(&node_type);
    rc_set(&((node *)a)->peer, b);
    rc_set(&((node *)b)->peer, a);
    rc_decref(a);
    rc_decref(b);
    return 0;
}
