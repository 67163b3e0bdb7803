/* test_gc_random.c - the collector against brute force: thousands of random
 * graphs of lists, some held from "outside" (by this test), the rest
 * dropped. Reachability from the held lists, computed here by a plain
 * search, must be exactly what survives a full collection; a partial
 * (generation 0) collection must never free a reachable list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <refcount.h>

#define GRAPHS 3000
#define MAX_NODES 40
#define MAX_EDGES (3 * MAX_NODES)

struct graph {
    int n, m;
    int from[MAX_EDGES], to[MAX_EDGES];
    bool held[MAX_NODES];
    bool reachable[MAX_NODES];
    rc_object *obj[MAX_NODES];
    rc_weakref *weak[MAX_NODES];
};

static unsigned long long rng = 88172645463325252ull;

static unsigned next_rand(void)
{
    rng ^= rng << 13;           /* xorshift64: same graphs on every run */
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

static void make_random(struct graph *g)
{
    memset(g, 0, sizeof(*g));
    g->n = 1 + next_rand() % MAX_NODES;
    g->m = next_rand() % (3 * g->n + 1);
    for (int i = 0; i < g->m; i++) {
        g->from[i] = next_rand() % g->n;
        g->to[i] = next_rand() % g->n;
    }
    for (int i = 0; i < g->n; i++)
        g->held[i] = next_rand() % 4 == 0;
}

static void brute_force_reachability(struct graph *g)
{
    int stack[MAX_NODES], top = 0;
    for (int i = 0; i < g->n; i++) {
        g->reachable[i] = g->held[i];
        if (g->held[i])
            stack[top++] = i;
    }
    while (top > 0) {
        int v = stack[--top];
        for (int e = 0; e < g->m; e++) {
            if (g->from[e] == v && !g->reachable[g->to[e]]) {
                g->reachable[g->to[e]] = true;
                stack[top++] = g->to[e];
            }
        }
    }
}

static bool is_alive(struct graph *g, int i)
{
    rc_object *o = rc_weakref_get(g->weak[i]);
    rc_decref(o);
    return o != NULL;
}

/* Build the lists, maybe age some of them, drop the ones not held. */
static void build(struct graph *g)
{
    int aged = next_rand() % (g->n + 1);
    for (int i = 0; i < g->n; i++) {
        if (i == aged)
            rc_gc_collect(next_rand() % 2);     /* earlier lists move to older generations */
        g->obj[i] = rc_list_new();
        g->weak[i] = rc_weakref_new(g->obj[i], NULL, NULL);
    }
    for (int e = 0; e < g->m; e++)
        rc_list_append(g->obj[g->from[e]], g->obj[g->to[e]]);
    for (int i = 0; i < g->n; i++)
        if (!g->held[i])
            rc_decref(g->obj[i]);
}

static void release(struct graph *g)
{
    for (int i = 0; i < g->n; i++) {
        if (g->held[i])
            rc_decref(g->obj[i]);
    }
    rc_gc_collect(-1);
    for (int i = 0; i < g->n; i++)
        rc_weakref_free(g->weak[i]);
}

static int setup(void **state)
{
    rc_gc_disable();            /* only the test's collections run */
    rc_gc_collect(-1);
    return 0;
}

static void test_full_collection_frees_exactly_the_unreachable(void **state)
{
    static struct graph g;
    int mismatches = 0;
    for (int k = 0; k < GRAPHS; k++) {
        make_random(&g);
        brute_force_reachability(&g);
        build(&g);
        rc_gc_collect(-1);
        for (int i = 0; i < g.n; i++)
            mismatches += is_alive(&g, i) != g.reachable[i];
        release(&g);
    }
    assert_int_equal(mismatches, 0);
}

static void test_full_collection_returns_number_freed(void **state)
{
    static struct graph g;
    int mismatches = 0;
    for (int k = 0; k < GRAPHS; k++) {
        make_random(&g);
        brute_force_reachability(&g);
        build(&g);
        size_t alive_garbage = 0;      /* unreachable lists refcounting could not free */
        for (int i = 0; i < g.n; i++)
            alive_garbage += !g.reachable[i] && is_alive(&g, i);
        mismatches += rc_gc_collect(-1) != alive_garbage;
        release(&g);
    }
    assert_int_equal(mismatches, 0);
}

static void test_young_collection_never_frees_reachable(void **state)
{
    static struct graph g;
    int freed_reachable = 0;
    for (int k = 0; k < GRAPHS; k++) {
        make_random(&g);
        brute_force_reachability(&g);
        build(&g);
        rc_gc_collect(0);
        for (int i = 0; i < g.n; i++)
            freed_reachable += g.reachable[i] && !is_alive(&g, i);
        release(&g);
    }
    assert_int_equal(freed_reachable, 0);
}

static void test_random_graphs_leave_no_tracked_objects(void **state)
{
    static struct graph g;
    size_t before = rc_gc_foreach(NULL, NULL);
    for (int k = 0; k < GRAPHS / 10; k++) {
        make_random(&g);
        build(&g);
        release(&g);
    }
    assert_int_equal(rc_gc_foreach(NULL, NULL), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_full_collection_frees_exactly_the_unreachable, setup),
        cmocka_unit_test_setup(test_full_collection_returns_number_freed, setup),
        cmocka_unit_test_setup(test_young_collection_never_frees_reachable, setup),
        cmocka_unit_test_setup(test_random_graphs_leave_no_tracked_objects, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
