/* test_baseline.c - leak identities and the baseline file: identity from
 * kind, type and function names only; write/read round trip; known, new and
 * fixed; files that are not baselines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cmocka.h>

#include "baseline.h"
#include "fixture.h"

static int setup(void **state)
{
    (void)state;
    return fx_init();
}

static const struct lg_frame run1[] = {
    { 0x55550001, "malloc", NULL, 0, "libleakgraph.so", 0x1, 0 },
    { 0x55551234, "make_node", "/src/list.c", 12, "app", 0x1234, 0 },
    { 0x55552000, "main", "/src/main.c", 5, "app", 0x2000, 0 },
};
/* the same leak in a rebuilt binary at another base */
static const struct lg_frame run2[] = {
    { 0x7f000001, "malloc", NULL, 0, "libleakgraph.so", 0x1, 0 },
    { 0x7f003456, "make_node", "/src/list.c", 14, "app", 0x3456, 0 },
    { 0x7f004000, "main", "/src/main.c", 6, "app", 0x4000, 0 },
};

static void test_key_ignores_addresses_and_lines(void **state)
{
    char *a = lg_leak_key("definitely_lost", NULL, run1, 3);
    char *b = lg_leak_key("definitely_lost", NULL, run2, 3);

    (void)state;
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_key_ignores_libc_frames_below_main(void **state)
{
    struct lg_frame old_glibc[] = { run1[0], run1[1], run1[2],
                                    { 0x7f10, "__libc_start_main", NULL, 0, "libc.so.6", 0, 0 },
                                    { 0x5510, "_start", NULL, 0, "app", 0, 0 } };
    struct lg_frame new_glibc[] = { run1[0], run1[1], run1[2],
                                    { 0x7f20, "__libc_start_call_main", NULL, 0, "libc.so.6", 0, 0 },
                                    { 0x7f30, "__libc_start_main_impl", NULL, 0, "libc.so.6", 0, 0 },
                                    { 0x5520, "_start", NULL, 0, "app", 0, 0 } };
    char *a = lg_leak_key("definitely_lost", NULL, old_glibc, 5);
    char *b = lg_leak_key("definitely_lost", NULL, new_glibc, 6);

    (void)state;
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_key_of_thread_stack_ends_at_its_routine(void **state)
{
    struct lg_frame f[] = { { 0x10, "worker", "w.c", 3, "app", 0, 0 },
                            { 0x7f20, "start_thread", NULL, 0, "libc.so.6", 0, 0 },
                            { 0x7f30, "clone3", NULL, 0, "libc.so.6", 0, 0 } };
    char *k = lg_leak_key("definitely_lost", NULL, f, 3);

    (void)state;
    assert_string_equal(k, "definitely_lost||worker");
    free(k);
}

static void test_key_differs_by_kind(void **state)
{
    char *a = lg_leak_key("definitely_lost", NULL, run1, 3);
    char *b = lg_leak_key("possibly_lost", NULL, run1, 3);

    (void)state;
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void test_key_differs_by_type(void **state)
{
    char *a = lg_leak_key("garbage_cycle", "Node", run1, 3);
    char *b = lg_leak_key("garbage_cycle", "Edge", run1, 3);

    (void)state;
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void test_key_unknown_function_uses_module(void **state)
{
    struct lg_frame f[] = { { 0x1000, NULL, NULL, 0, "libthird.so", 0x1000, 0 } };
    char *k = lg_leak_key("definitely_lost", NULL, f, 1);

    (void)state;
    assert_string_equal(k, "definitely_lost||libthird.so!?");
    free(k);
}

static void test_add_same_leak_sums_bytes(void **state)
{
    struct lg_baseline *b = lg_baseline_new();

    (void)state;
    lg_baseline_add(b, "definitely_lost", NULL, run1, 3, 32, 1);
    lg_baseline_add(b, "definitely_lost", NULL, run2, 3, 32, 1);
    assert_true(lg_baseline_count(b) == 1 && lg_baseline_entry(b, 0)->bytes == 64);
    lg_baseline_free(b);
}

static void test_round_trip_keeps_identity(void **state)
{
    struct lg_baseline *b = lg_baseline_new(), *back = NULL;
    char err[256], *key = lg_leak_key("garbage_cycle", "Node \"quoted\"", run1, 3);

    (void)state;
    lg_baseline_add(b, "garbage_cycle", "Node \"quoted\"", run1, 3, 64, 2);
    lg_baseline_add(b, "definitely_lost", NULL, run1, 2, 16, 1);
    assert_int_equal(lg_baseline_write(b, fx_path("rt.json"), err, sizeof(err)), 0);
    assert_int_equal(lg_baseline_load(fx_path("rt.json"), &back, err, sizeof(err)), 0);
    assert_true(lg_baseline_count(back) == 2 && lg_baseline_mark(back, key));
    free(key);
    lg_baseline_free(b);
    lg_baseline_free(back);
}

static void test_mark_unknown_leak_is_new(void **state)
{
    struct lg_baseline *b = lg_baseline_new();
    char *key = lg_leak_key("possibly_lost", NULL, run1, 3);

    (void)state;
    lg_baseline_add(b, "definitely_lost", NULL, run1, 3, 32, 1);
    assert_false(lg_baseline_mark(b, key));
    free(key);
    lg_baseline_free(b);
}

static void test_unmarked_entry_is_fixed(void **state)
{
    struct lg_baseline *b = lg_baseline_new();
    char *key = lg_leak_key("definitely_lost", NULL, run2, 3);

    (void)state;
    lg_baseline_add(b, "definitely_lost", NULL, run1, 3, 32, 1);
    lg_baseline_add(b, "possibly_lost", NULL, run1, 3, 8, 1);
    lg_baseline_mark(b, key);
    assert_true(lg_baseline_entry(b, 0)->seen && !lg_baseline_entry(b, 1)->seen);
    free(key);
    lg_baseline_free(b);
}

static void test_load_skips_unknown_members(void **state)
{
    struct lg_baseline *b = NULL;
    char err[256];
    FILE *f = fopen(fx_path("extra.json"), "w");

    (void)state;
    assert_non_null(f);
    fputs("{\"leakgraph_baseline\": 1, \"comment\": {\"x\": [1, 2.5, true, null]},\n"
          " \"leaks\": [{\"kind\": \"definitely_lost\", \"stack\": [\"f\", \"main\"],"
          " \"note\": \"from CI\", \"bytes\": 8, \"blocks\": 1}]}\n", f);
    fclose(f);
    assert_int_equal(lg_baseline_load(fx_path("extra.json"), &b, err, sizeof(err)), 0);
    assert_true(lg_baseline_count(b) == 1 && lg_baseline_mark(b, "definitely_lost||f;main"));
    lg_baseline_free(b);
}

static void test_load_broken_json_names_offset(void **state)
{
    struct lg_baseline *b = NULL;
    char err[256] = "";
    FILE *f = fopen(fx_path("broken.json"), "w");

    (void)state;
    assert_non_null(f);
    fputs("{\"leakgraph_baseline\": 1, \"leaks\": [{\"kind\" \"x\"}]}", f);
    fclose(f);
    assert_int_equal(lg_baseline_load(fx_path("broken.json"), &b, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "broken.json: offset 44: expected ':'"));
}

static void test_load_other_json_is_refused(void **state)
{
    struct lg_baseline *b = NULL;
    char err[256] = "";
    FILE *f = fopen(fx_path("other.json"), "w");

    (void)state;
    assert_non_null(f);
    fputs("{\"format\": 1, \"processes\": []}", f);
    fclose(f);
    assert_int_equal(lg_baseline_load(fx_path("other.json"), &b, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not a leakgraph baseline"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_ignores_addresses_and_lines),
        cmocka_unit_test(test_key_ignores_libc_frames_below_main),
        cmocka_unit_test(test_key_of_thread_stack_ends_at_its_routine),
        cmocka_unit_test(test_key_differs_by_kind),
        cmocka_unit_test(test_key_differs_by_type),
        cmocka_unit_test(test_key_unknown_function_uses_module),
        cmocka_unit_test(test_add_same_leak_sums_bytes),
        cmocka_unit_test(test_round_trip_keeps_identity),
        cmocka_unit_test(test_mark_unknown_leak_is_new),
        cmocka_unit_test(test_unmarked_entry_is_fixed),
        cmocka_unit_test(test_load_skips_unknown_members),
        cmocka_unit_test(test_load_broken_json_names_offset),
        cmocka_unit_test(test_load_other_json_is_refused),
    };

    return cmocka_run_group_tests(tests, setup, fx_cleanup);
}
