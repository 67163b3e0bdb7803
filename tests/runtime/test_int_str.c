/* test_int_str.c - the built-in int and str: the small-int cache, interning,
 * immortality, values, type names, and that neither type is tracked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <refcount.h>

static void test_small_int_is_one_object(void **state)
{
    assert_ptr_equal(rc_int_new(10), rc_int_new(10));
}

static void test_lowest_cached_int_is_minus_5(void **state)
{
    assert_ptr_equal(rc_int_new(-5), rc_int_new(-5));
}

static void test_highest_cached_int_is_256(void **state)
{
    assert_ptr_equal(rc_int_new(256), rc_int_new(256));
}

static void test_int_257_is_a_new_object_each_time(void **state)
{
    rc_object *a = rc_int_new(257), *b = rc_int_new(257);
    assert_ptr_not_equal(a, b);
    rc_decref(a);
    rc_decref(b);
}

static void test_int_minus_6_is_a_new_object_each_time(void **state)
{
    rc_object *a = rc_int_new(-6), *b = rc_int_new(-6);
    assert_ptr_not_equal(a, b);
    rc_decref(a);
    rc_decref(b);
}

static void test_int_value_round_trips(void **state)
{
    rc_object *big = rc_int_new(-123456789);
    assert_int_equal(rc_int_value(big), -123456789);
    rc_decref(big);
}

static void test_small_int_value_round_trips(void **state)
{
    assert_int_equal(rc_int_value(rc_int_new(-5)), -5);
}

static void test_big_int_refcount_is_one(void **state)
{
    rc_object *big = rc_int_new(1000);
    assert_int_equal(rc_refcount(big), 1);
    rc_decref(big);
}

static void test_small_int_refcount_is_immortal(void **state)
{
    assert_int_equal(rc_refcount(rc_int_new(3)), RC_IMMORTAL_REFCNT);
}

static void test_small_int_incref_decref_leave_it_unchanged(void **state)
{
    rc_object *o = rc_int_new(3);
    for (int i = 0; i < 10; i++)
        rc_decref(o);
    rc_incref(o);
    assert_int_equal(o->refcnt, RC_IMMORTAL_REFCNT);
}

static void test_int_type_name_is_int(void **state)
{
    assert_string_equal(rc_int_new(1)->type->name, "int");
}

static void test_big_int_type_name_is_int(void **state)
{
    rc_object *big = rc_int_new(100000);
    assert_string_equal(big->type->name, "int");
    rc_decref(big);
}

static void test_ints_are_not_tracked(void **state)
{
    size_t before = rc_gc_foreach(NULL, NULL);
    rc_object *big = rc_int_new(100000);
    rc_int_new(100);
    assert_int_equal(rc_gc_foreach(NULL, NULL), before);
    rc_decref(big);
}

static void test_interned_text_is_one_object(void **state)
{
    assert_ptr_equal(rc_str_intern("hello"), rc_str_intern("hello"));
}

static void test_interned_spaced_text_is_one_object(void **state)
{
    assert_ptr_equal(rc_str_intern("hello world"), rc_str_intern("hello world"));
}

static void test_different_texts_intern_apart(void **state)
{
    assert_ptr_not_equal(rc_str_intern("hello"), rc_str_intern("hello!"));
}

static void test_many_interned_texts_stay_unique(void **state)
{
    char buf[32];
    rc_object *first[500];
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof(buf), "name_%d", i);
        first[i] = rc_str_intern(buf);
    }
    int mismatches = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof(buf), "name_%d", i);
        mismatches += rc_str_intern(buf) != first[i];
    }
    assert_int_equal(mismatches, 0);
}

static void test_str_new_makes_distinct_objects(void **state)
{
    rc_object *a = rc_str_new("hello world"), *b = rc_str_new("hello world");
    assert_ptr_not_equal(a, b);
    rc_decref(a);
    rc_decref(b);
}

static void test_str_new_is_not_the_interned_object(void **state)
{
    rc_object *s = rc_str_new("hello world");
    assert_ptr_not_equal(s, rc_str_intern("hello world"));
    rc_decref(s);
}

static void test_str_value_round_trips(void **state)
{
    rc_object *s = rc_str_new("Hello");
    assert_string_equal(rc_str_value(s), "Hello");
    rc_decref(s);
}

static void test_interned_value_round_trips(void **state)
{
    assert_string_equal(rc_str_value(rc_str_intern("interned text")), "interned text");
}

static void test_interned_str_refcount_is_immortal(void **state)
{
    assert_int_equal(rc_refcount(rc_str_intern("x")), RC_IMMORTAL_REFCNT);
}

static void test_str_new_refcount_is_one(void **state)
{
    rc_object *s = rc_str_new("x");
    assert_int_equal(rc_refcount(s), 1);
    rc_decref(s);
}

static void test_str_type_name_is_str(void **state)
{
    rc_object *s = rc_str_new("x");
    assert_string_equal(s->type->name, "str");
    rc_decref(s);
}

static void test_interned_type_name_is_str(void **state)
{
    assert_string_equal(rc_str_intern("y")->type->name, "str");
}

static void test_strs_are_not_tracked(void **state)
{
    size_t before = rc_gc_foreach(NULL, NULL);
    rc_object *s = rc_str_new("x");
    rc_str_intern("tracked?");
    assert_int_equal(rc_gc_foreach(NULL, NULL), before);
    rc_decref(s);
}

static void test_str_new_null_fails_einval(void **state)
{
    errno = 0;
    assert_null(rc_str_new(NULL));
    assert_int_equal(errno, EINVAL);
}

static void test_intern_null_fails_einval(void **state)
{
    errno = 0;
    assert_null(rc_str_intern(NULL));
    assert_int_equal(errno, EINVAL);
}

static void test_empty_text_interns(void **state)
{
    assert_ptr_equal(rc_str_intern(""), rc_str_intern(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_int_is_one_object),
        cmocka_unit_test(test_lowest_cached_int_is_minus_5),
        cmocka_unit_test(test_highest_cached_int_is_256),
        cmocka_unit_test(test_int_257_is_a_new_object_each_time),
        cmocka_unit_test(test_int_minus_6_is_a_new_object_each_time),
        cmocka_unit_test(test_int_value_round_trips),
        cmocka_unit_test(test_small_int_value_round_trips),
        cmocka_unit_test(test_big_int_refcount_is_one),
        cmocka_unit_test(test_small_int_refcount_is_immortal),
        cmocka_unit_test(test_small_int_incref_decref_leave_it_unchanged),
        cmocka_unit_test(test_int_type_name_is_int),
        cmocka_unit_test(test_big_int_type_name_is_int),
        cmocka_unit_test(test_ints_are_not_tracked),
        cmocka_unit_test(test_interned_text_is_one_object),
        cmocka_unit_test(test_interned_spaced_text_is_one_object),
        cmocka_unit_test(test_different_texts_intern_apart),
        cmocka_unit_test(test_many_interned_texts_stay_unique),
        cmocka_unit_test(test_str_new_makes_distinct_objects),
        cmocka_unit_test(test_str_new_is_not_the_interned_object),
        cmocka_unit_test(test_str_value_round_trips),
        cmocka_unit_test(test_interned_value_round_trips),
        cmocka_unit_test(test_interned_str_refcount_is_immortal),
        cmocka_unit_test(test_str_new_refcount_is_one),
        cmocka_unit_test(test_str_type_name_is_str),
        cmocka_unit_test(test_interned_type_name_is_str),
        cmocka_unit_test(test_strs_are_not_tracked),
        cmocka_unit_test(test_str_new_null_fails_einval),
        cmocka_unit_test(test_intern_null_fails_einval),
        cmocka_unit_test(test_empty_text_interns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
