/* rc_workload.c - a refcount-heavy object workload on librefcount: builds
 * ROUNDS small graphs (a list of strs and ints, a pair of nodes that own
 * each other), passes references around (incref/decref), and drops them,
 * with the collector running on its thresholds.
 *   rc_workload ROUNDS */
#include <refcount.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct node {
    rc_object base;
    rc_object *peer;
    rc_object *items;
} node;

static int node_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    node *n = (node *)self;
    int r = n->peer ? visit(n->peer, "peer", arg) : 0;
    return r == 0 && n->items ? visit(n->items, "items", arg) : r;
}

static void node_clear(rc_object *self)
{
    rc_set(&((node *)self)->peer, NULL);
    rc_set(&((node *)self)->items, NULL);
}

static const rc_type node_type = {"Node", sizeof(node), node_traverse, node_clear, NULL};

__attribute__((noinline)) static long use(rc_object *list)
{
    long sum = 0;
    for (size_t i = 0; i < rc_list_len(list); i++) {
        rc_object *o = rc_list_get(list, i);
        rc_incref(o);
        sum += (long)i;
        rc_decref(o);
    }
    return sum;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    long total = 0;
    char text[32];
    for (long r = 0; r < rounds; r++) {
        rc_object *list = rc_list_new();
        for (int i = 0; i < 8; i++) {
            snprintf(text, sizeof text, "s%ld", (r * 8 + i) % 1000);
            rc_object *s = (i & 1) ? rc_int_new(r * 8 + i) : rc_str_new(text);
            rc_list_append(list, s);
            rc_decref(s);
        }
        total += use(list);
        rc_object *a = rc_new(&node_type), *b = rc_new(&node_type);
        rc_set(&((node *)a)->peer, b);
        rc_set(&((node *)b)->items, list);
        if (r % 4)
            rc_set(&((node *)b)->peer, a);      /* a garbage cycle for the collector */
        rc_decref(list);
        rc_decref(a);
        rc_decref(b);
    }
    rc_gc_collect(-1);
    printf("%ld\n", total);
    return 0;
}
