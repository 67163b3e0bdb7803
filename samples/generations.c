/* generations.c - the seeds' generations: thresholds 700 / 10 / 10 and the
 * counts that drive them. count[0] is tracked allocations minus
 * deallocations; a collection of generation 0 runs when it passes 700 and
 * adds one to count[1]; after 10 of those the next collection is of
 * generation 1, which adds one to count[2]. Also set_threshold, disable,
 * enable and collect(generation=2). Everything is released before exit. */
#include <stdlib.h>

#include "rc_seed.h"

static void print_count(const char *what)
{
    long c[3];
    rc_gc_get_count(c);
    printf("%sgc.get_count() = (%ld, %ld, %ld)\n", what, c[0], c[1], c[2]);
}

static void print_threshold(void)
{
    long t[3];
    rc_gc_get_threshold(t);
    printf("gc.get_threshold() = (%ld, %ld, %ld)\n", t[0], t[1], t[2]);
}

int main(void)
{
    print_threshold();
    printf("gc.isenabled() = %s\n", py_bool(rc_gc_isenabled()));
    print_count("");

    rc_object *lists[5];
    for (int i = 0; i < 5; i++)
        lists[i] = rc_list_new();
    print_count("5 new lists: ");
    rc_decref(lists[3]);
    rc_decref(lists[4]);
    print_count("2 of them freed: ");
    printf("gc.collect(0) = %zu\n", rc_gc_collect(0));
    print_count("survivors promoted to generation 1: ");
    printf("gc.collect(1) = %zu\n", rc_gc_collect(1));
    print_count("survivors promoted to generation 2: ");
    printf("gc.collect(2) = %zu\n", rc_gc_collect(2));
    print_count("");
    for (int i = 0; i < 3; i++)
        rc_decref(lists[i]);

    /* automatic collections: keep every new list alive in holder */
    rc_object *holder = rc_list_new();
    long since = 1, c[3], before = 1;
    for (int seen = 0; seen < 12;) {
        rc_object *l = rc_list_new();
        since++;
        rc_list_append(holder, l);
        rc_decref(l);
        rc_gc_get_count(c);
        if (c[0] < before + 1) {
            char what[96];
            snprintf(what, sizeof(what), "collection %d after %ld allocations: ", ++seen, since);
            print_count(what);
            since = 0;
        }
        before = c[0];
    }

    rc_gc_set_threshold(1000, 20, 20);
    print_threshold();
    rc_gc_disable();
    printf("gc.disable(): gc.isenabled() = %s\n", py_bool(rc_gc_isenabled()));
    rc_gc_enable();
    printf("gc.enable(): gc.isenabled() = %s\n", py_bool(rc_gc_isenabled()));

    rc_object *d = rc_list_new(), *e = rc_list_new();
    rc_list_append(e, d);
    rc_list_append(d, e);
    rc_decref(d);
    rc_decref(e);
    printf("d = []; e = [d]; d.append(e); del d, e\n");
    printf("gc.collect(generation=2) = %zu\n", rc_gc_collect(2));
    rc_decref(holder);
    printf("tracked objects left: %zu\n", rc_gc_foreach(NULL, NULL));
    return 0;
}
