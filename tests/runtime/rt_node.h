/* rt_node.h - a test object type for the runtime's unit tests: a "node"
 * with two owned fields (a, b) that traverse reports by name, clear drops,
 * and whose finalize counts calls and may run a per-test hook. Header-only,
 * each test program gets its own copy. */
#ifndef RT_NODE_H
#define RT_NODE_H

#include <refcount.h>

typedef struct node {
    rc_object ob;
    rc_object *a;
    rc_object *b;
    int tag;
} node;

static int node_finalized;                     /* finalize calls */
static void (*node_finalize_hook)(node *n);     /* runs inside finalize */

static int node_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    node *n = (node *)self;
    int r;
    if (n->a != NULL && (r = visit(n->a, "a", arg)) != 0)
        return r;
    if (n->b != NULL && (r = visit(n->b, "b", arg)) != 0)
        return r;
    return 0;
}

static void node_clear(rc_object *self)
{
    node *n = (node *)self;
    rc_set(&n->a, NULL);
    rc_set(&n->b, NULL);
}

static void node_finalize(rc_object *self)
{
    node_finalized++;
    if (node_finalize_hook != NULL)
        node_finalize_hook((node *)self);
}

static const rc_type node_type = {
    .name = "node",
    .size = sizeof(node),
    .traverse = node_traverse,
    .clear = node_clear,
    .finalize = node_finalize,
};

static inline node *node_new(void)
{
    return (node *)rc_new(&node_type);
}

/* a.a = b, b.a = a; returns a, the caller holds one reference to each. */
static inline void node_pair(node **a, node **b)
{
    *a = node_new();
    *b = node_new();
    rc_set(&(*a)->a, &(*b)->ob);
    rc_set(&(*b)->a, &(*a)->ob);
}

static inline size_t tracked_count(void)
{
    return rc_gc_foreach(NULL, NULL);
}

#endif /* RT_NODE_H */
