/* list_cycle.c - the seeds' cyclic reference problem with two lists:
 * d = []; e = [d]; d.append(e); del d, e. Each list then holds the only
 * reference to the other. With the collector disabled the cycle leaks
 * (list[0] -> list, list[0] -> list); with --collect one full collection
 * frees both and returns 2. */
#include "rc_seed.h"

static int demo(int argc, char **argv)
{
    int collect = has_arg(argc, argv, "--collect");

    rc_gc_disable();
    rc_object *d = rc_list_new();       /* 1 reference to list1: variable d */
    printf("d = []\n");
    printf("refcount(d) = %ld\n", (long)ref_count(d));
    rc_object *e = rc_list_new();       /* e = [d] */
    rc_list_append(e, d);
    printf("e = [d]\n");
    printf("refcount(d) = %ld\n", (long)ref_count(d));
    printf("refcount(e) = %ld\n", (long)ref_count(e));
    rc_list_append(d, e);
    printf("d.append(e)\n");
    printf("refcount(e) = %ld\n", (long)ref_count(e));
    printf("d[0] is e: %s\n", py_bool(rc_list_get(d, 0) == e));
    printf("e[0] is d: %s\n", py_bool(rc_list_get(e, 0) == d));

    const rc_object *list1 = d, *list2 = e;
    printf("del d, e\n");
    rc_decref(d);
    rc_decref(e);
    printf("refcount(list1) = %ld\n", (long)ref_count(list1));
    printf("refcount(list2) = %ld\n", (long)ref_count(list2));
    printf("list1: %s\n", object_by_id(list1));
    printf("list2: %s\n", object_by_id(list2));

    if (collect) {
        printf("gc.collect() = %zu\n", rc_gc_collect(-1));
        printf("list1: %s\n", object_by_id(list1));
        printf("list2: %s\n", object_by_id(list2));
        rc_gc_enable();
    } else {
        printf("collector disabled: the cycle is never freed\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    int status = demo(argc, argv);
    return status;
}
