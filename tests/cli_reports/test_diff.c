/* test_diff.c - `leakgraph diff` on synthetic traces (fixture.c): growth by
 * type, by stack, new cycles, snapshot selection and exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"
#include "fixture.h"

static int setup(void **state)
{
    (void)state;
    return fx_init();
}

/* ---- diff --------------------------------------------------------------- */

static void test_diff_counts_new_objects_by_type(void **state)
{
    const char *out = fx_path("diff.json");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", "--format", "json", "--output", out,
                         fx_trace("clean", SC_CLEAN), fx_trace("grown", SC_GROWN), NULL),
                     LG_EXIT_OK);
    assert_true(fx_jq(out, ".by_type | map(select(.type == \"Node\"))[0].objects.delta == 5"));
}

static void test_diff_names_growing_stack(void **state)
{
    const char *out = fx_path("diff.json");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", "--format", "json", "--output", out,
                         fx_trace("clean", SC_CLEAN), fx_trace("grown", SC_GROWN), NULL),
                     LG_EXIT_OK);
    assert_true(fx_jq(out, ".by_stack | map(select(.stack[0] == \"site_b\"))[0] | "
                        ".blocks.delta == 3 and .bytes.delta == 120"));
}

static void test_diff_names_new_cycle(void **state)
{
    const char *out = fx_path("diff.txt");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", "--output", out, fx_trace("clean", SC_CLEAN),
                         fx_trace("grown", SC_GROWN), NULL), LG_EXIT_OK);
    assert_true(fx_file_has(out, "new garbage cycles:\n  1 x Node.next -> Node, Node.prev -> Node"));
}

static void test_diff_shrinking_is_negative(void **state)
{
    const char *out = fx_path("diff_back.json");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", "--format", "json", "--output", out,
                         fx_trace("grown", SC_GROWN), fx_trace("clean", SC_CLEAN), NULL),
                     LG_EXIT_OK);
    assert_true(fx_jq(out, "(.by_type | map(select(.type == \"Node\"))[0].objects.delta == -5) "
                        "and (.new_cycles | length == 0)"));
}

static void test_diff_same_snapshot_has_no_change(void **state)
{
    const char *out = fx_path("same.txt");
    const char *t = fx_trace("same", SC_GROWN);
    char spec[4200];

    (void)state;
    snprintf(spec, sizeof(spec), "%s#1", t);
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", "--output", out, spec, t, NULL), LG_EXIT_OK);
    assert_true(fx_file_has(out, "by type: no change") &&
                fx_file_has(out, "by allocating stack: no change"));
}

static void test_diff_two_snapshots_of_one_trace(void **state)
{
    const char *out = fx_path("two.json");
    const char *t = fx_trace_ex("two", SC_GROWN, 2, 0);
    char a[4200], b[4200];

    (void)state;
    snprintf(a, sizeof(a), "%s#1", t);
    snprintf(b, sizeof(b), "%s#2", t);
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", "--format", "json", "--output", out, a, b, NULL),
                     LG_EXIT_OK);
    assert_true(fx_jq(out, ".old.snapshot == 1 and .new.snapshot == 2 and (.by_type | length == 0)"));
}

static void test_diff_missing_snapshot_number_exits_2(void **state)
{
    char spec[4200];

    (void)state;
    snprintf(spec, sizeof(spec), "%s#2", fx_trace("clean", SC_CLEAN));
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", "--output", fx_path("x.txt"), spec,
                         fx_trace("clean", SC_CLEAN), NULL), LG_EXIT_USAGE);
}

static void test_diff_one_argument_exits_2(void **state)
{
    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", fx_trace("clean", SC_CLEAN), NULL), LG_EXIT_USAGE);
}

static void test_diff_unreadable_trace_exits_3(void **state)
{
    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_diff, "diff", fx_path("missing.trace"),
                         fx_trace("clean", SC_CLEAN), NULL), LG_EXIT_TRACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_counts_new_objects_by_type),
        cmocka_unit_test(test_diff_names_growing_stack),
        cmocka_unit_test(test_diff_names_new_cycle),
        cmocka_unit_test(test_diff_shrinking_is_negative),
        cmocka_unit_test(test_diff_same_snapshot_has_no_change),
        cmocka_unit_test(test_diff_two_snapshots_of_one_trace),
        cmocka_unit_test(test_diff_missing_snapshot_number_exits_2),
        cmocka_unit_test(test_diff_one_argument_exits_2),
        cmocka_unit_test(test_diff_unreadable_trace_exits_3),
    };

    return cmocka_run_group_tests(tests, setup, fx_cleanup);
}
