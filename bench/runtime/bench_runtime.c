/* bench_runtime.c - librefcount's costs: ns per rc_new + rc_decref (an
 * untracked and a tracked type), ns per rc_incref/rc_decref pair, and a
 * full rc_gc_collect over 1M tracked objects, both garbage (500k 2-cycles)
 * and survivors (1M objects held by one list). Each figure is the median of
 * REPEATS runs. Never run by ctest: speed is measured here, not asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <refcount.h>

#define REPEATS 5
#define OBJECTS 1000000

typedef struct pair_node {
    rc_object ob;
    rc_object *peer;
} pair_node;

static int pair_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    pair_node *n = (pair_node *)self;
    return n->peer ? visit(n->peer, "peer", arg) : 0;
}

static void pair_clear(rc_object *self)
{
    rc_set(&((pair_node *)self)->peer, NULL);
}

static const rc_type leaf_type = {"leaf", sizeof(pair_node), NULL, NULL, NULL};
static const rc_type pair_type = {"pair", sizeof(pair_node), pair_traverse, pair_clear, NULL};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, REPEATS, sizeof(*v), cmp_double);
    return v[REPEATS / 2];
}

static double new_decref_ns(const rc_type *type)
{
    double t0 = now_ns();
    for (int i = 0; i < OBJECTS; i++)
        rc_decref(rc_new(type));
    return (now_ns() - t0) / OBJECTS;
}

static double incref_decref_ns(void)
{
    rc_object *o = rc_new(&leaf_type);
    const int n = 10 * OBJECTS;
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        rc_incref(o);
        rc_decref(o);
    }
    double ns = (now_ns() - t0) / n;
    rc_decref(o);
    return ns;
}

/* 500k garbage 2-cycles: returns seconds for the collection that frees them */
static double collect_garbage_s(void)
{
    for (int i = 0; i < OBJECTS / 2; i++) {
        pair_node *a = (pair_node *)rc_new(&pair_type), *b = (pair_node *)rc_new(&pair_type);
        rc_set(&a->peer, &b->ob);
        rc_set(&b->peer, &a->ob);
        rc_decref(&a->ob);
        rc_decref(&b->ob);
    }
    double t0 = now_ns();
    size_t freed = rc_gc_collect(-1);
    double s = (now_ns() - t0) / 1e9;
    if (freed != OBJECTS) {
        fprintf(stderr, "bench_runtime: collected %zu, expected %d\n", freed, OBJECTS);
        exit(1);
    }
    return s;
}

/* 1M live objects held by one list: seconds for a full collection that keeps them */
static double collect_survivors_s(void)
{
    rc_object *holder = rc_list_new();
    for (int i = 0; i < OBJECTS; i++) {
        rc_object *o = rc_new(&pair_type);
        rc_list_append(holder, o);
        rc_decref(o);
    }
    double t0 = now_ns();
    size_t freed = rc_gc_collect(-1);
    double s = (now_ns() - t0) / 1e9;
    rc_decref(holder);
    if (freed != 0) {
        fprintf(stderr, "bench_runtime: collected %zu live objects\n", freed);
        exit(1);
    }
    return s;
}

int main(void)
{
    double untracked[REPEATS], tracked[REPEATS], pair[REPEATS], garbage[REPEATS], live[REPEATS];

    rc_gc_disable();            /* only the measured collections run */
    rc_gc_collect(-1);
    for (int r = 0; r < REPEATS; r++) {
        untracked[r] = new_decref_ns(&leaf_type);
        tracked[r] = new_decref_ns(&pair_type);
        pair[r] = incref_decref_ns();
        garbage[r] = collect_garbage_s();
        live[r] = collect_survivors_s();
    }
    printf("%-52s %10s\n", "librefcount (median of 5 runs)", "result");
    printf("%-52s %10.1f\n", "ns per rc_new + rc_decref (untracked type)", median(untracked));
    printf("%-52s %10.1f\n", "ns per rc_new + rc_decref (tracked type)", median(tracked));
    printf("%-52s %10.2f\n", "ns per rc_incref + rc_decref pair", median(pair));
    double g = median(garbage), l = median(live);
    printf("%-52s %10.1f\n", "rc_gc_collect ns per object, 500k garbage 2-cycles", g * 1e9 / OBJECTS);
    printf("%-52s %10.3f\n", "rc_gc_collect s, 1M tracked objects, all garbage", g);
    printf("%-52s %10.1f\n", "rc_gc_collect ns per object, 1M live in one list", l * 1e9 / (OBJECTS + 1));
    printf("%-52s %10.3f\n", "rc_gc_collect s, 1M tracked objects, all live", l);
    return 0;
}
