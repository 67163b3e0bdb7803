/* test_object.c - objects: rc_new, reference counting, rc_set, the order of
 * deallocation, resurrection by finalize, and freeing deep chains. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rt_node.h"

static int setup(void **state)
{
    node_finalized = 0;
    node_finalize_hook = NULL;
    return 0;
}

static void test_new_refcount_is_one(void **state)
{
    node *n = node_new();
    assert_int_equal(rc_refcount(&n->ob), 1);
    rc_decref(&n->ob);
}

static void test_new_object_is_zeroed(void **state)
{
    node *n = node_new();
    assert_true(n->a == NULL && n->b == NULL && n->tag == 0);
    rc_decref(&n->ob);
}

static void test_new_sets_type(void **state)
{
    node *n = node_new();
    assert_ptr_equal(n->ob.type, &node_type);
    rc_decref(&n->ob);
}

static void test_new_null_type_fails_einval(void **state)
{
    errno = 0;
    assert_null(rc_new(NULL));
    assert_int_equal(errno, EINVAL);
}

static void test_new_too_small_type_fails_einval(void **state)
{
    static const rc_type tiny = {.name = "tiny", .size = 1};
    errno = 0;
    assert_null(rc_new(&tiny));
    assert_int_equal(errno, EINVAL);
}

static void test_incref_raises_refcount(void **state)
{
    node *n = node_new();
    rc_incref(&n->ob);
    assert_int_equal(rc_refcount(&n->ob), 2);
    rc_decref(&n->ob);
    rc_decref(&n->ob);
}

static void test_decref_lowers_refcount(void **state)
{
    node *n = node_new();
    rc_incref(&n->ob);
    rc_decref(&n->ob);
    assert_int_equal(rc_refcount(&n->ob), 1);
    rc_decref(&n->ob);
}

static void test_decref_to_zero_finalizes(void **state)
{
    node *n = node_new();
    rc_decref(&n->ob);
    assert_int_equal(node_finalized, 1);
}

static void test_null_incref_decref_are_ignored(void **state)
{
    rc_incref(NULL);
    rc_decref(NULL);
    assert_int_equal(rc_refcount(NULL), 0);
}

static void test_set_increfs_new_value(void **state)
{
    node *owner = node_new(), *v = node_new();
    rc_set(&owner->a, &v->ob);
    assert_int_equal(rc_refcount(&v->ob), 2);
    rc_decref(&v->ob);
    rc_decref(&owner->ob);
}

static void test_set_decrefs_old_value(void **state)
{
    node *owner = node_new(), *v = node_new();
    rc_set(&owner->a, &v->ob);
    rc_set(&owner->a, NULL);
    assert_int_equal(rc_refcount(&v->ob), 1);
    rc_decref(&v->ob);
    rc_decref(&owner->ob);
}

static void test_set_same_value_keeps_it_alive(void **state)
{
    node *owner = node_new(), *v = node_new();
    rc_set(&owner->a, &v->ob);
    rc_decref(&v->ob);                  /* owner->a holds the only reference */
    rc_set(&owner->a, owner->a);
    assert_int_equal(rc_refcount(owner->a), 1);
    rc_decref(&owner->ob);
}

static void test_dealloc_releases_owned_chain(void **state)
{
    node *head = node_new(), *cur = head;
    for (int i = 0; i < 9; i++) {
        node *next = node_new();
        rc_set(&cur->a, &next->ob);
        rc_decref(&next->ob);
        cur = next;
    }
    rc_decref(&head->ob);
    assert_int_equal(node_finalized, 10);
}

/* clear runs before finalize: finalize sees fields already dropped. */
static int fields_were_cleared;
static void check_cleared(node *n)
{
    fields_were_cleared = n->a == NULL;
}

static void test_dealloc_clears_before_finalize(void **state)
{
    node *n = node_new(), *child = node_new();
    rc_set(&n->a, &child->ob);
    rc_decref(&child->ob);
    fields_were_cleared = 0;
    node_finalize_hook = check_cleared;
    rc_decref(&n->ob);
    assert_true(fields_were_cleared);
}

/* A finalize that stores a new reference to its object resurrects it. */
static node *saved;
static void resurrect(node *n)
{
    rc_incref(&n->ob);
    saved = n;
}

static void test_resurrecting_finalize_keeps_object_alive(void **state)
{
    node *n = node_new();
    node_finalize_hook = resurrect;
    rc_decref(&n->ob);
    node_finalize_hook = NULL;
    assert_int_equal(rc_refcount(&saved->ob), 1);
    rc_decref(&saved->ob);
}

static void test_resurrected_object_finalizes_only_once(void **state)
{
    node *n = node_new();
    node_finalize_hook = resurrect;
    rc_decref(&n->ob);
    rc_decref(&saved->ob);              /* dies for good, without finalize */
    assert_int_equal(node_finalized, 1);
    node_finalize_hook = NULL;
}

static void test_resurrected_object_is_tracked_again(void **state)
{
    size_t before = tracked_count();
    node *n = node_new();
    node_finalize_hook = resurrect;
    rc_decref(&n->ob);
    node_finalize_hook = NULL;
    assert_int_equal(tracked_count(), before + 1);
    rc_decref(&saved->ob);
}

static void test_new_tracks_type_with_traverse(void **state)
{
    size_t before = tracked_count();
    node *n = node_new();
    assert_int_equal(tracked_count(), before + 1);
    rc_decref(&n->ob);
}

static void test_dealloc_untracks(void **state)
{
    size_t before = tracked_count();
    rc_decref(&node_new()->ob);
    assert_int_equal(tracked_count(), before);
}

static void test_new_leaves_type_without_traverse_untracked(void **state)
{
    static const rc_type leaf = {.name = "leaf", .size = sizeof(rc_object)};
    size_t before = tracked_count();
    rc_object *o = rc_new(&leaf);
    assert_int_equal(tracked_count(), before);
    rc_decref(o);
}

/* A million nested nodes free without overflowing the C stack. */
static void test_deep_chain_frees_without_stack_overflow(void **state)
{
    rc_gc_disable();
    node *head = node_new(), *cur = head;
    for (int i = 0; i < 1000000; i++) {
        node *next = node_new();
        rc_set(&cur->a, &next->ob);
        rc_decref(&next->ob);
        cur = next;
    }
    rc_decref(&head->ob);
    rc_gc_enable();
    assert_int_equal(node_finalized, 1000001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_new_refcount_is_one, setup),
        cmocka_unit_test_setup(test_new_object_is_zeroed, setup),
        cmocka_unit_test_setup(test_new_sets_type, setup),
        cmocka_unit_test_setup(test_new_null_type_fails_einval, setup),
        cmocka_unit_test_setup(test_new_too_small_type_fails_einval, setup),
        cmocka_unit_test_setup(test_incref_raises_refcount, setup),
        cmocka_unit_test_setup(test_decref_lowers_refcount, setup),
        cmocka_unit_test_setup(test_decref_to_zero_finalizes, setup),
        cmocka_unit_test_setup(test_null_incref_decref_are_ignored, setup),
        cmocka_unit_test_setup(test_set_increfs_new_value, setup),
        cmocka_unit_test_setup(test_set_decrefs_old_value, setup),
        cmocka_unit_test_setup(test_set_same_value_keeps_it_alive, setup),
        cmocka_unit_test_setup(test_dealloc_releases_owned_chain, setup),
        cmocka_unit_test_setup(test_dealloc_clears_before_finalize, setup),
        cmocka_unit_test_setup(test_resurrecting_finalize_keeps_object_alive, setup),
        cmocka_unit_test_setup(test_resurrected_object_finalizes_only_once, setup),
        cmocka_unit_test_setup(test_resurrected_object_is_tracked_again, setup),
        cmocka_unit_test_setup(test_new_tracks_type_with_traverse, setup),
        cmocka_unit_test_setup(test_dealloc_untracks, setup),
        cmocka_unit_test_setup(test_new_leaves_type_without_traverse_untracked, setup),
        cmocka_unit_test_setup(test_deep_chain_frees_without_stack_overflow, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
