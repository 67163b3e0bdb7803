/* rc_user_tracer.c - a program with a tracer of its own, under the shim:
 * the shim keeps its own hook and chains the program's, which must still
 * see what it asked for. With "refs" it asks for increfs only
 * (rc_set_tracer_events); without, for everything. 10 increfs and 10
 * decrefs of one object; exits 1 if its tracer saw other counts than it
 * asked for. Run with LEAKGRAPH_HISTORY=off too, where the shim alone
 * would ask the runtime for creations and deallocations only. */
#include <refcount.h>
#include <stdio.h>
#include <string.h>

static int seen[4];

static void count(rc_object *o, rc_trace_event ev, void *block, void *arg)
{
    (void)o;
    (void)block;
    (void)arg;
    seen[ev]++;
}

static const rc_type plain = {"Plain", sizeof(rc_object), NULL, NULL, NULL};

int main(int argc, char **argv)
{
    int refs_only = argc > 1 && strcmp(argv[1], "refs") == 0;
    rc_set_tracer(count, NULL);
    if (refs_only)
        rc_set_tracer_events(RC_TRACE_BIT(RC_TRACE_INCREF));
    rc_object *o = rc_new(&plain);
    for (int i = 0; i < 10; i++)
        rc_incref(o);
    for (int i = 0; i < 10; i++)
        rc_decref(o);
    rc_decref(o);
    rc_set_tracer(NULL, NULL);
    int want_new = refs_only ? 0 : 1, want_dec = refs_only ? 0 : 10;
    int want_dealloc = refs_only ? 0 : 1;
    printf("new %d incref %d decref %d dealloc %d\n", seen[RC_TRACE_NEW], seen[RC_TRACE_INCREF],
           seen[RC_TRACE_DECREF], seen[RC_TRACE_DEALLOC]);
    return seen[RC_TRACE_NEW] == want_new && seen[RC_TRACE_INCREF] == 10 &&
                   seen[RC_TRACE_DECREF] == want_dec && seen[RC_TRACE_DEALLOC] == want_dealloc
               ? 0
               : 1;
}
