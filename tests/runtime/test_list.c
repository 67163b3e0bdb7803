/* test_list.c - the built-in list: append, get, len, ownership of items,
 * its type name, tracking, and the field names traverse reports. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rt_node.h"

static void test_new_list_is_empty(void **state)
{
    rc_object *l = rc_list_new();
    assert_int_equal(rc_list_len(l), 0);
    rc_decref(l);
}

static void test_list_type_name_is_list(void **state)
{
    rc_object *l = rc_list_new();
    assert_string_equal(l->type->name, "list");
    rc_decref(l);
}

static void test_list_is_tracked(void **state)
{
    size_t before = tracked_count();
    rc_object *l = rc_list_new();
    assert_int_equal(tracked_count(), before + 1);
    rc_decref(l);
}

static void test_append_grows_len(void **state)
{
    rc_object *l = rc_list_new();
    for (int i = 0; i < 100; i++)
        assert_int_equal(rc_list_append(l, NULL), 0);
    assert_int_equal(rc_list_len(l), 100);
    rc_decref(l);
}

static void test_append_takes_a_reference(void **state)
{
    rc_object *l = rc_list_new();
    rc_object *item = rc_str_new("x");
    rc_list_append(l, item);
    assert_int_equal(rc_refcount(item), 2);
    rc_decref(item);
    rc_decref(l);
}

static void test_get_returns_item_in_order(void **state)
{
    rc_object *l = rc_list_new();
    rc_object *items[10];
    for (int i = 0; i < 10; i++) {
        items[i] = rc_int_new(1000 + i);
        rc_list_append(l, items[i]);
        rc_decref(items[i]);
    }
    for (int i = 0; i < 10; i++)
        assert_ptr_equal(rc_list_get(l, i), items[i]);
    rc_decref(l);
}

static void test_get_is_borrowed(void **state)
{
    rc_object *l = rc_list_new();
    rc_object *item = rc_str_new("x");
    rc_list_append(l, item);
    (void)rc_list_get(l, 0);
    assert_int_equal(rc_refcount(item), 2);
    rc_decref(item);
    rc_decref(l);
}

static void test_get_out_of_range_is_null_erange(void **state)
{
    rc_object *l = rc_list_new();
    errno = 0;
    assert_null(rc_list_get(l, 0));
    assert_int_equal(errno, ERANGE);
    rc_decref(l);
}

static void test_dealloc_releases_items(void **state)
{
    rc_object *l = rc_list_new();
    rc_object *item = rc_str_new("x");
    rc_list_append(l, item);
    rc_list_append(l, item);
    rc_decref(l);
    assert_int_equal(rc_refcount(item), 1);
    rc_decref(item);
}

struct seen {
    char names[8][16];
    rc_object *children[8];
    int n;
};

static int record_visit(rc_object *child, const char *field, void *arg)
{
    struct seen *s = arg;
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", field ? field : "(null)");
    s->children[s->n++] = child;
    return 0;
}

static void test_traverse_names_items_by_index(void **state)
{
    rc_object *l = rc_list_new();
    rc_object *x = rc_str_new("x"), *y = rc_str_new("y");
    rc_list_append(l, x);
    rc_list_append(l, y);
    struct seen s = {0};
    l->type->traverse(l, record_visit, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.names[0], "[0]");
    assert_string_equal(s.names[1], "[1]");
    rc_decref(x);
    rc_decref(y);
    rc_decref(l);
}

static void test_traverse_visits_the_items(void **state)
{
    rc_object *l = rc_list_new();
    rc_object *x = rc_str_new("x");
    rc_list_append(l, x);
    struct seen s = {0};
    l->type->traverse(l, record_visit, &s);
    assert_ptr_equal(s.children[0], x);
    rc_decref(x);
    rc_decref(l);
}

static int check_name(rc_object *child, const char *field, void *arg)
{
    size_t *i = arg;
    char want[32];
    snprintf(want, sizeof(want), "[%zu]", (*i)++);
    return field != NULL && strcmp(field, want) == 0 ? 0 : 1;
}

static void test_traverse_names_past_first_name_chunk(void **state)
{
    rc_object *l = rc_list_new();
    rc_object *x = rc_str_new("x");
    for (int i = 0; i < 10000; i++)
        rc_list_append(l, x);
    size_t i = 0;
    assert_int_equal(l->type->traverse(l, check_name, &i), 0);
    assert_int_equal(i, 10000);
    rc_decref(x);
    rc_decref(l);
}

/* Field names outlive the list: a tool may read them at snapshot time. */
static int grab_name(rc_object *child, const char *field, void *arg)
{
    *(const char **)arg = field;
    return 0;
}

static void test_field_names_outlive_list(void **state)
{
    rc_object *l = rc_list_new();
    rc_list_append(l, NULL);
    rc_object *x = rc_str_new("x");
    rc_list_append(l, x);
    const char *name = NULL;
    l->type->traverse(l, grab_name, &name);
    rc_decref(x);
    rc_decref(l);
    assert_string_equal(name, "[1]");   /* ASan would flag a freed name */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_list_is_empty),
        cmocka_unit_test(test_list_type_name_is_list),
        cmocka_unit_test(test_list_is_tracked),
        cmocka_unit_test(test_append_grows_len),
        cmocka_unit_test(test_append_takes_a_reference),
        cmocka_unit_test(test_get_returns_item_in_order),
        cmocka_unit_test(test_get_is_borrowed),
        cmocka_unit_test(test_get_out_of_range_is_null_erange),
        cmocka_unit_test(test_dealloc_releases_items),
        cmocka_unit_test(test_traverse_names_items_by_index),
        cmocka_unit_test(test_traverse_visits_the_items),
        cmocka_unit_test(test_traverse_names_past_first_name_chunk),
        cmocka_unit_test(test_field_names_outlive_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
