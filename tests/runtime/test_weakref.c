/* test_weakref.c - weak references: get, death, callbacks and their order,
 * and weak references that outlive their targets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <malloc.h>
#include <string.h>

#include "rt_node.h"

static int callbacks;
static void count_callback(rc_weakref *w, void *arg)
{
    callbacks++;
    if (arg != NULL)
        *(rc_weakref **)arg = w;
}

static int setup(void **state)
{
    callbacks = 0;
    node_finalized = 0;
    node_finalize_hook = NULL;
    return 0;
}

static void test_get_returns_the_target(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, NULL, NULL);
    rc_object *o = rc_weakref_get(w);
    assert_ptr_equal(o, &n->ob);
    rc_decref(o);
    rc_weakref_free(w);
    rc_decref(&n->ob);
}

static void test_get_returns_a_new_reference(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, NULL, NULL);
    rc_object *o = rc_weakref_get(w);
    assert_int_equal(rc_refcount(o), 2);
    rc_decref(o);
    rc_weakref_free(w);
    rc_decref(&n->ob);
}

static void test_new_does_not_add_a_reference(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, NULL, NULL);
    assert_int_equal(rc_refcount(&n->ob), 1);
    rc_weakref_free(w);
    rc_decref(&n->ob);
}

static void test_get_after_death_is_null(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, NULL, NULL);
    rc_decref(&n->ob);
    assert_null(rc_weakref_get(w));
    rc_weakref_free(w);
}

static void test_callback_runs_when_target_dies(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, count_callback, NULL);
    rc_decref(&n->ob);
    assert_int_equal(callbacks, 1);
    rc_weakref_free(w);
}

static void test_callback_receives_its_weakref(void **state)
{
    node *n = node_new();
    rc_weakref *got = NULL;
    rc_weakref *w = rc_weakref_new(&n->ob, count_callback, &got);
    rc_decref(&n->ob);
    assert_ptr_equal(got, w);
    rc_weakref_free(w);
}

static int finalized_before_callback;
static void check_not_finalized(rc_weakref *w, void *arg)
{
    finalized_before_callback = node_finalized;
}

static void test_callback_runs_before_finalize(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, check_not_finalized, NULL);
    finalized_before_callback = -1;
    rc_decref(&n->ob);
    assert_int_equal(finalized_before_callback, 0);
    rc_weakref_free(w);
}

static int child_was_held;
static void check_child_held(rc_weakref *w, void *arg)
{
    child_was_held = ((node *)arg)->a != NULL;
}

static void test_callback_runs_before_clear(void **state)
{
    node *n = node_new(), *child = node_new();
    rc_set(&n->a, &child->ob);
    rc_decref(&child->ob);
    rc_weakref *w = rc_weakref_new(&n->ob, check_child_held, n);
    rc_decref(&n->ob);
    assert_true(child_was_held);
    rc_weakref_free(w);
}

static void test_freed_weakref_callback_never_runs(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, count_callback, NULL);
    rc_weakref_free(w);
    rc_decref(&n->ob);
    assert_int_equal(callbacks, 0);
}

static void test_every_weakref_callback_runs(void **state)
{
    node *n = node_new();
    rc_weakref *w[5];
    for (int i = 0; i < 5; i++)
        w[i] = rc_weakref_new(&n->ob, count_callback, NULL);
    rc_decref(&n->ob);
    for (int i = 0; i < 5; i++)
        rc_weakref_free(w[i]);
    assert_int_equal(callbacks, 5);
}

/* While callbacks run, every weak reference to the object is already dead. */
static rc_weakref *other;
static int other_was_dead;
static void check_other(rc_weakref *w, void *arg)
{
    if (w != other) {
        rc_object *o = rc_weakref_get(other);
        other_was_dead = o == NULL;
        rc_decref(o);
    }
}

static void test_other_weakrefs_are_dead_in_callback(void **state)
{
    node *n = node_new();
    rc_weakref *a = rc_weakref_new(&n->ob, check_other, NULL);
    other = rc_weakref_new(&n->ob, check_other, NULL);
    rc_weakref *b = rc_weakref_new(&n->ob, check_other, NULL);
    other_was_dead = 0;
    rc_decref(&n->ob);
    assert_true(other_was_dead);
    rc_weakref_free(a);
    rc_weakref_free(b);
    rc_weakref_free(other);
}

static void free_self(rc_weakref *w, void *arg)
{
    callbacks++;
    rc_weakref_free(w);
}

static void test_callback_may_free_its_weakref(void **state)
{
    node *n = node_new();
    rc_weakref_new(&n->ob, free_self, NULL);
    rc_weakref_new(&n->ob, free_self, NULL);
    rc_decref(&n->ob);                  /* ASan checks no use after free */
    assert_int_equal(callbacks, 2);
}

static void free_other(rc_weakref *w, void *arg)
{
    callbacks++;
    rc_weakref_free(*(rc_weakref **)arg);
    *(rc_weakref **)arg = NULL;
}

static void test_callback_may_free_another_weakref(void **state)
{
    node *n = node_new();
    rc_weakref *victim = rc_weakref_new(&n->ob, count_callback, NULL);
    rc_weakref *w = rc_weakref_new(&n->ob, free_other, &victim);
    rc_decref(&n->ob);                  /* newest first: w's callback frees victim */
    rc_weakref_free(w);
    assert_int_equal(callbacks, 1);
}

static void test_weakref_outlives_target(void **state)
{
    rc_object *s = rc_str_new("short lived");
    rc_weakref *w = rc_weakref_new(s, NULL, NULL);
    rc_decref(s);
    for (int i = 0; i < 100; i++)       /* reuse the freed memory */
        rc_decref(rc_str_new("other text here"));
    assert_null(rc_weakref_get(w));
    rc_weakref_free(w);
}

static void test_weakref_to_immortal_never_dies(void **state)
{
    rc_weakref *w = rc_weakref_new(rc_int_new(5), NULL, NULL);
    rc_decref(rc_int_new(5));
    assert_ptr_equal(rc_weakref_get(w), rc_int_new(5));
    rc_weakref_free(w);
}

static void test_new_null_target_fails_einval(void **state)
{
    errno = 0;
    assert_null(rc_weakref_new(NULL, NULL, NULL));
    assert_int_equal(errno, EINVAL);
}

static void test_free_null_is_ignored(void **state)
{
    rc_weakref_free(NULL);
    assert_null(rc_weakref_get(NULL));
}

/* A weak reference must not read as ownership to a conservative leak
 * scanner: its block holds no plain pointer to its target. */
static void test_weakref_block_holds_no_plain_pointer_to_target(void **state)
{
    node *n = node_new();
    rc_weakref *w = rc_weakref_new(&n->ob, NULL, NULL);
    int hits = 0;
    size_t size = malloc_usable_size(w);
    for (size_t off = 0; off + sizeof(uintptr_t) <= size; off += sizeof(uintptr_t)) {
        uintptr_t word;
        memcpy(&word, (char *)w + off, sizeof(word));
        hits += word == (uintptr_t)n;
    }
    rc_weakref_free(w);
    rc_decref(&n->ob);
    assert_int_equal(hits, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
    const struct CMUnitTest tests[] = {
        T(test_get_returns_the_target),
        T(test_get_returns_a_new_reference),
        T(test_new_does_not_add_a_reference),
        T(test_get_after_death_is_null),
        T(test_callback_runs_when_target_dies),
        T(test_callback_receives_its_weakref),
        T(test_callback_runs_before_finalize),
        T(test_callback_runs_before_clear),
        T(test_freed_weakref_callback_never_runs),
        T(test_every_weakref_callback_runs),
        T(test_other_weakrefs_are_dead_in_callback),
        T(test_callback_may_free_its_weakref),
        T(test_callback_may_free_another_weakref),
        T(test_weakref_outlives_target),
        T(test_weakref_to_immortal_never_dies),
        T(test_new_null_target_fails_einval),
        T(test_free_null_is_ignored),
        T(test_weakref_block_holds_no_plain_pointer_to_target),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
