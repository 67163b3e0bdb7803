/* test_tracer.c - the tracer hook sees every reference operation on mortal
 * objects, including the ones the library makes itself: list items, rc_set,
 * list clear, and the collector's clears. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rt_node.h"

#define MAX_EVENTS 64

struct event {
    rc_object *o;
    rc_trace_event ev;
    void *block;
    intptr_t refcnt;
};

static struct event events[MAX_EVENTS];
static int n_events;

static void record(rc_object *o, rc_trace_event ev, void *block, void *arg)
{
    (*(int *)arg)++;
    if (n_events < MAX_EVENTS)
        events[n_events++] = (struct event){o, ev, block, o->refcnt};
}

static int calls;

static void start(void)
{
    n_events = 0;
    calls = 0;
    rc_set_tracer(record, &calls);
}

static void stop(void)
{
    rc_set_tracer(NULL, NULL);
}

static int count(rc_object *o, rc_trace_event ev)
{
    int n = 0;
    for (int i = 0; i < n_events; i++)
        n += events[i].o == o && events[i].ev == ev;
    return n;
}

static int first(rc_object *o, rc_trace_event ev)
{
    for (int i = 0; i < n_events; i++)
        if (events[i].o == o && events[i].ev == ev)
            return i;
    return -1;
}

static void test_new_event_passes_malloc_block_start(void **state)
{
    start();
    node *n = node_new();
    stop();
    int i = first(&n->ob, RC_TRACE_NEW);
    assert_true(i >= 0);
    /* malloc_usable_size only accepts a block start (ASan checks it) */
    assert_true(malloc_usable_size(events[i].block) >=
                (size_t)((char *)n - (char *)events[i].block) + sizeof(node));
    rc_decref(&n->ob);
}

static void test_new_event_sees_refcount_one(void **state)
{
    start();
    node *n = node_new();
    stop();
    assert_int_equal(events[first(&n->ob, RC_TRACE_NEW)].refcnt, 1);
    rc_decref(&n->ob);
}

static void test_incref_is_traced(void **state)
{
    node *n = node_new();
    start();
    rc_incref(&n->ob);
    stop();
    assert_int_equal(count(&n->ob, RC_TRACE_INCREF), 1);
    rc_decref(&n->ob);
    rc_decref(&n->ob);
}

static void test_decref_above_zero_is_traced(void **state)
{
    node *n = node_new();
    rc_incref(&n->ob);
    start();
    rc_decref(&n->ob);
    stop();
    assert_int_equal(count(&n->ob, RC_TRACE_DECREF), 1);
    rc_decref(&n->ob);
}

static void test_decref_to_zero_traces_dealloc(void **state)
{
    node *n = node_new();
    start();
    rc_decref(&n->ob);
    stop();
    assert_int_equal(events[0].ev, RC_TRACE_DEALLOC);
}

static void test_list_append_incref_is_traced(void **state)
{
    rc_object *l = rc_list_new(), *item = rc_str_new("item");
    start();
    rc_list_append(l, item);
    stop();
    assert_int_equal(count(item, RC_TRACE_INCREF), 1);
    rc_decref(item);
    rc_decref(l);
}

static void test_list_clear_decrefs_are_traced(void **state)
{
    rc_object *l = rc_list_new(), *item = rc_str_new("item");
    rc_list_append(l, item);
    rc_list_append(l, item);
    start();
    rc_decref(l);
    stop();
    assert_int_equal(count(item, RC_TRACE_DECREF), 2);
    rc_decref(item);
}

static void test_rc_set_incref_and_decref_are_traced(void **state)
{
    node *owner = node_new(), *v = node_new(), *w = node_new();
    rc_set(&owner->a, &v->ob);
    start();
    rc_set(&owner->a, &w->ob);
    stop();
    assert_int_equal(count(&w->ob, RC_TRACE_INCREF) + count(&v->ob, RC_TRACE_DECREF), 2);
    rc_decref(&v->ob);
    rc_decref(&w->ob);
    rc_decref(&owner->ob);
}

static void test_collector_clears_are_traced(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    start();
    rc_gc_collect(-1);
    stop();
    assert_int_equal(count(&a->ob, RC_TRACE_DEALLOC) + count(&b->ob, RC_TRACE_DEALLOC), 2);
}

static void test_collector_clear_decrefs_are_traced(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    start();
    rc_gc_collect(-1);
    stop();
    /* the collector holds a reference while it clears, and each clear drops one */
    assert_true(count(&a->ob, RC_TRACE_DECREF) + count(&b->ob, RC_TRACE_DECREF) >= 1);
}

static void test_immortal_refcounting_is_not_traced(void **state)
{
    rc_object *small = rc_int_new(7);
    start();
    rc_incref(small);
    rc_decref(small);
    stop();
    assert_int_equal(calls, 0);
}

static void test_get_tracer_returns_fn_and_arg(void **state)
{
    start();
    void *arg = NULL;
    rc_tracer_fn fn = rc_get_tracer(&arg);
    stop();
    assert_true(fn == record && arg == &calls);
}

static void test_removed_tracer_sees_nothing(void **state)
{
    start();
    stop();
    node *n = node_new();
    rc_decref(&n->ob);
    assert_int_equal(calls, 0);
}

/* A hook that asks for creations and deallocations only sees no incref or
 * decref, and still sees the object's birth and death. */
static void test_events_mask_leaves_out_refs(void **state)
{
    start();
    rc_set_tracer_events(RC_TRACE_BIT(RC_TRACE_NEW) | RC_TRACE_BIT(RC_TRACE_DEALLOC));
    node *n = node_new();
    rc_incref(&n->ob);
    rc_decref(&n->ob);
    rc_decref(&n->ob);
    rc_set_tracer_events(RC_TRACE_ALL);
    stop();
    assert_int_equal(count(&n->ob, RC_TRACE_INCREF) + count(&n->ob, RC_TRACE_DECREF), 0);
    assert_int_equal(count(&n->ob, RC_TRACE_NEW), 1);
    assert_int_equal(count(&n->ob, RC_TRACE_DEALLOC), 1);
}

/* The mask outlives a change of hook, and RC_TRACE_ALL brings the
 * increfs back. */
static void test_events_mask_kept_across_hooks(void **state)
{
    rc_set_tracer_events(RC_TRACE_BIT(RC_TRACE_INCREF));
    start();                            /* a new hook: the mask stays */
    node *n = node_new();
    rc_incref(&n->ob);
    rc_decref(&n->ob);
    int incs = count(&n->ob, RC_TRACE_INCREF), news = count(&n->ob, RC_TRACE_NEW),
        decs = count(&n->ob, RC_TRACE_DECREF);
    rc_set_tracer_events(RC_TRACE_ALL);
    rc_incref(&n->ob);
    stop();
    assert_int_equal(incs, 1);
    assert_int_equal(news + decs, 0);
    assert_int_equal(count(&n->ob, RC_TRACE_INCREF), 2);
    rc_decref(&n->ob);
    rc_decref(&n->ob);
}

static int dealloc_seen_by_callback;

static void note_order(rc_weakref *w, void *arg)
{
    dealloc_seen_by_callback = n_events > 0 && events[n_events - 1].ev == RC_TRACE_DEALLOC;
}

static void test_dealloc_is_traced_before_weakrefs_die(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, note_order, NULL);
    start();
    rc_decref(&n->ob);
    stop();
    rc_weakref_free(w);
    assert_true(dealloc_seen_by_callback);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_event_passes_malloc_block_start),
        cmocka_unit_test(test_new_event_sees_refcount_one),
        cmocka_unit_test(test_incref_is_traced),
        cmocka_unit_test(test_decref_above_zero_is_traced),
        cmocka_unit_test(test_decref_to_zero_traces_dealloc),
        cmocka_unit_test(test_list_append_incref_is_traced),
        cmocka_unit_test(test_list_clear_decrefs_are_traced),
        cmocka_unit_test(test_rc_set_incref_and_decref_are_traced),
        cmocka_unit_test(test_collector_clears_are_traced),
        cmocka_unit_test(test_collector_clear_decrefs_are_traced),
        cmocka_unit_test(test_immortal_refcounting_is_not_traced),
        cmocka_unit_test(test_get_tracer_returns_fn_and_arg),
        cmocka_unit_test(test_removed_tracer_sees_nothing),
        cmocka_unit_test(test_dealloc_is_traced_before_weakrefs_die),
        cmocka_unit_test(test_events_mask_leaves_out_refs),
        cmocka_unit_test(test_events_mask_kept_across_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
