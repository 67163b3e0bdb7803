/* test_check.c - `leakgraph check` on synthetic traces (fixture.c): exit
 * codes for each gate, limits, baselines (new / known / fixed),
 * suppressions, several traces, and bad input. Calls lg_cmd_check()
 * directly; output goes to a file with --output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "commands.h"
#include "fixture.h"

/* lg_cmd_check with argv = "check", args..., NULL-terminated list */
static int check(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    argv[argc++] = "check";
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return lg_cmd_check(argc, argv);
}

static char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return strcpy(buf, "");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    return fx_init();
}

/* ---- the gate ----------------------------------------------------------- */

static void test_check_clean_trace_passes(void **state)
{
    (void)state;
    assert_int_equal(check("--output", fx_path("out"), fx_trace("clean", SC_CLEAN), NULL),
                     LG_EXIT_OK);
}

static void test_check_definite_leak_fails(void **state)
{
    (void)state;
    assert_int_equal(check("--output", fx_path("out"), fx_trace("leak_a", SC_LEAK_A), NULL),
                     LG_EXIT_GATE);
}

static void test_check_failing_line_names_the_leaking_function(void **state)
{
    char want[64];

    (void)state;
    check("--output", fx_path("out"), fx_trace("leak_a", SC_LEAK_A), NULL);
    snprintf(want, sizeof(want), "at site_a (");
    assert_non_null(strstr(slurp(fx_path("out")), want));
}

static void test_check_failing_line_has_source_line(void **state)
{
    char want[64];

    (void)state;
    check("--output", fx_path("out"), fx_trace("leak_a", SC_LEAK_A), NULL);
    snprintf(want, sizeof(want), "fixture.c:%d)", fx_site_a_line());
    assert_non_null(strstr(slurp(fx_path("out")), want));
}

static void test_check_fail_on_none_passes_leak(void **state)
{
    (void)state;
    assert_int_equal(check("--fail-on", "none", "--output", fx_path("out"),
                           fx_trace("leak_a", SC_LEAK_A), NULL), LG_EXIT_OK);
}

static void test_check_possible_passes_default_gate(void **state)
{
    (void)state;
    assert_int_equal(check("--output", fx_path("out"), fx_trace("possible", SC_POSSIBLE), NULL),
                     LG_EXIT_OK);
}

static void test_check_possible_fails_fail_on_possible(void **state)
{
    (void)state;
    assert_int_equal(check("--fail-on", "possible", "--output", fx_path("out"),
                           fx_trace("possible", SC_POSSIBLE), NULL), LG_EXIT_GATE);
}

static void test_check_max_bytes_above_leak_passes(void **state)
{
    (void)state;
    assert_int_equal(check("--max-bytes", "80", "--output", fx_path("out"),
                           fx_trace("leak_ab", SC_LEAK_AB), NULL), LG_EXIT_OK);
}

static void test_check_max_bytes_below_leak_fails(void **state)
{
    (void)state;
    assert_int_equal(check("--max-bytes", "79", "--output", fx_path("out"),
                           fx_trace("leak_ab", SC_LEAK_AB), NULL), LG_EXIT_GATE);
}

static void test_check_garbage_cycle_fails(void **state)
{
    (void)state;
    assert_int_equal(check("--output", fx_path("out"), fx_trace("cycle", SC_CYCLE), NULL),
                     LG_EXIT_GATE);
}

static void test_check_max_cycles_allows_one_cycle(void **state)
{
    (void)state;
    assert_int_equal(check("--max-cycles", "1", "--output", fx_path("out"),
                           fx_trace("cycle", SC_CYCLE), NULL), LG_EXIT_OK);
}

static void test_check_max_cycles_zero_fails_cycle(void **state)
{
    (void)state;
    assert_int_equal(check("--max-cycles", "0", "--max-bytes", "1000000", "--output",
                           fx_path("out"), fx_trace("cycle", SC_CYCLE), NULL), LG_EXIT_GATE);
}

static void test_check_reference_leak_fails(void **state)
{
    (void)state;
    assert_int_equal(check("--output", fx_path("out"), fx_trace("refleak", SC_REFLEAK), NULL),
                     LG_EXIT_GATE);
}

static void test_check_leak_in_any_trace_fails(void **state)
{
    (void)state;
    assert_int_equal(check("--output", fx_path("out"), fx_trace("clean", SC_CLEAN),
                           fx_trace("leak_a", SC_LEAK_A), NULL), LG_EXIT_GATE);
}

static void test_check_same_leak_in_two_traces_is_one_line(void **state)
{
    const char *out;

    (void)state;
    check("--output", fx_path("out"), fx_trace("leak_a", SC_LEAK_A),
          fx_trace("leak_a2", SC_LEAK_A), NULL);
    out = slurp(fx_path("out"));
    assert_non_null(strstr(out, "[2 processes, 64 bytes in all]"));
}

/* Run check with stderr sent to DIR/stderr; returns the exit status. */
static int check_capturing_stderr(const char *t1, const char *t2)
{
    int saved = dup(2), fd, rc;

    fflush(stderr);
    fd = open(fx_path("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    rc = check("--output", fx_path("out"), t1, t2, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return rc;
}

static void test_check_missing_module_warns_once_for_two_traces(void **state)
{
    const char *err;

    (void)state;
    check_capturing_stderr(fx_trace("gone1", SC_LEAK_GONE), fx_trace("gone2", SC_LEAK_GONE));
    err = strstr(slurp(fx_path("stderr")), "/nonexistent/fixture-app: file not found; showing offsets\n");
    assert_true(err != NULL && strstr(strchr(err, '\n'), "file not found") == NULL);
}

static void test_check_gone_module_leak_shown_as_offset(void **state)
{
    (void)state;
    check_capturing_stderr(fx_trace("gone1", SC_LEAK_GONE), NULL);
    assert_non_null(strstr(slurp(fx_path("out")), "at fixture-app+0x"));
}

static void test_check_directory_stands_for_its_traces(void **state)
{
    char dir[4200];

    (void)state;
    snprintf(dir, sizeof(dir), "%s", fx_path("tracedir"));
    assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
    fx_trace("tracedir/d1.trace", SC_CLEAN);
    fx_trace("tracedir/d2.trace", SC_LEAK_A);
    fx_trace("tracedir/notes.txt", SC_LEAK_A);      /* not a .trace: not read */
    check("--format", "json", "--output", fx_path("dir.json"), dir, NULL);
    assert_true(fx_jq(fx_path("dir.json"), ".verdict == \"fail\" and (.traces | map(.path | "
                                         "split(\"/\") | last) == [\"d1.trace\", \"d2.trace\"])"));
}

/* ---- suppressions --------------------------------------------------------- */

static void test_check_suppressed_leak_passes(void **state)
{
    FILE *f = fopen(fx_path("lsan.supp"), "w");

    (void)state;
    assert_non_null(f);
    fputs("leak:site_a\n", f);
    fclose(f);
    assert_int_equal(check("--suppressions", fx_path("lsan.supp"), "--output", fx_path("out"),
                           fx_trace("leak_a", SC_LEAK_A), NULL), LG_EXIT_OK);
}

static void test_check_verdict_counts_suppressed_bytes(void **state)
{
    FILE *f = fopen(fx_path("vg.supp"), "w");

    (void)state;
    assert_non_null(f);
    fputs("{\n  mine\n  Memcheck:Leak\n  fun:malloc\n  fun:site_a\n}\n", f);
    fclose(f);
    check("--suppressions", fx_path("vg.supp"), "--output", fx_path("out"),
          fx_trace("leak_a", SC_LEAK_A), NULL);
    assert_non_null(strstr(slurp(fx_path("out")), "suppressed: 32 bytes in 1 blocks"));
}

/* ---- baselines ------------------------------------------------------------ */

static void test_check_write_baseline_passes(void **state)
{
    (void)state;
    assert_int_equal(check("--write-baseline", fx_path("base.json"), "--output", fx_path("out"),
                           fx_trace("leak_a", SC_LEAK_A), NULL), LG_EXIT_OK);
}

static void test_check_known_leak_passes_baseline(void **state)
{
    (void)state;
    check("--write-baseline", fx_path("base.json"), "--output", fx_path("out"),
          fx_trace("leak_a", SC_LEAK_A), NULL);
    assert_int_equal(check("--baseline", fx_path("base.json"), "--output", fx_path("out"),
                           fx_trace("leak_a", SC_LEAK_A), NULL), LG_EXIT_OK);
}

static void test_check_new_leak_fails_baseline(void **state)
{
    (void)state;
    check("--write-baseline", fx_path("base.json"), "--output", fx_path("out"),
          fx_trace("leak_a", SC_LEAK_A), NULL);
    assert_int_equal(check("--baseline", fx_path("base.json"), "--output", fx_path("out"),
                           fx_trace("leak_ab", SC_LEAK_AB), NULL), LG_EXIT_GATE);
}

static void test_check_new_leak_line_names_only_new_site(void **state)
{
    const char *out;

    (void)state;
    check("--write-baseline", fx_path("base.json"), "--output", fx_path("out"),
          fx_trace("leak_a", SC_LEAK_A), NULL);
    check("--baseline", fx_path("base.json"), "--output", fx_path("out"),
          fx_trace("leak_ab", SC_LEAK_AB), NULL);
    out = slurp(fx_path("out"));
    assert_true(strstr(out, "new: 48 bytes") != NULL && strstr(out, "at site_a") == NULL);
}

static void test_check_fixed_leak_is_reported(void **state)
{
    (void)state;
    check("--write-baseline", fx_path("base.json"), "--output", fx_path("out"),
          fx_trace("leak_a", SC_LEAK_A), NULL);
    check("--baseline", fx_path("base.json"), "--output", fx_path("out"),
          fx_trace("clean", SC_CLEAN), NULL);
    assert_non_null(strstr(slurp(fx_path("out")), "fixed: definitely_lost at site_a < fx_caller"));
}

static void test_check_json_says_known_and_fixed(void **state)
{
    const char *out;

    (void)state;
    check("--write-baseline", fx_path("base2.json"), "--output", fx_path("out"),
          fx_trace("leak_ab", SC_LEAK_AB), NULL);
    check("--baseline", fx_path("base2.json"), "--format", "json", "--output",
          fx_path("out.json"), fx_trace("leak_a", SC_LEAK_A), NULL);
    out = slurp(fx_path("out.json"));
    assert_non_null(strstr(out, "\"known\": 1, \"fixed\": 1"));
}

static void test_check_cut_trace_checks_last_complete_snapshot(void **state)
{
    (void)state;
    check("--format", "json", "--output", fx_path("cut.json"),
          fx_trace_ex("cut", SC_LEAK_A, 3, 1), NULL);
    assert_non_null(strstr(slurp(fx_path("cut.json")), "\"snapshot\": 2}"));
}

static void test_check_cut_trace_still_gates(void **state)
{
    (void)state;
    assert_int_equal(check("--output", fx_path("out"), fx_trace_ex("cut", SC_LEAK_A, 3, 1), NULL),
                     LG_EXIT_GATE);
}

/* ---- bad input ------------------------------------------------------------ */

static void test_check_missing_trace_exits_3(void **state)
{
    (void)state;
    assert_int_equal(check(fx_path("no-such.trace"), NULL), LG_EXIT_TRACE);
}

static void test_check_corrupt_trace_exits_3(void **state)
{
    FILE *f = fopen(fx_path("garbage.trace"), "w");

    (void)state;
    assert_non_null(f);
    fputs("this is not a trace at all, just text\n", f);
    fclose(f);
    assert_int_equal(check(fx_path("garbage.trace"), NULL), LG_EXIT_TRACE);
}

static void test_check_no_trace_exits_2(void **state)
{
    (void)state;
    assert_int_equal(check(NULL), LG_EXIT_USAGE);
}

static void test_check_bad_fail_on_exits_2(void **state)
{
    (void)state;
    assert_int_equal(check("--fail-on", "sometimes", fx_trace("clean", SC_CLEAN), NULL),
                     LG_EXIT_USAGE);
}

static void test_check_bad_max_bytes_exits_2(void **state)
{
    (void)state;
    assert_int_equal(check("--max-bytes", "-5", fx_trace("clean", SC_CLEAN), NULL),
                     LG_EXIT_USAGE);
}

static void test_check_unreadable_baseline_exits_2(void **state)
{
    (void)state;
    assert_int_equal(check("--baseline", fx_path("garbage.trace"), fx_trace("clean", SC_CLEAN),
                           NULL), LG_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_clean_trace_passes),
        cmocka_unit_test(test_check_definite_leak_fails),
        cmocka_unit_test(test_check_failing_line_names_the_leaking_function),
        cmocka_unit_test(test_check_failing_line_has_source_line),
        cmocka_unit_test(test_check_fail_on_none_passes_leak),
        cmocka_unit_test(test_check_possible_passes_default_gate),
        cmocka_unit_test(test_check_possible_fails_fail_on_possible),
        cmocka_unit_test(test_check_max_bytes_above_leak_passes),
        cmocka_unit_test(test_check_max_bytes_below_leak_fails),
        cmocka_unit_test(test_check_garbage_cycle_fails),
        cmocka_unit_test(test_check_max_cycles_allows_one_cycle),
        cmocka_unit_test(test_check_max_cycles_zero_fails_cycle),
        cmocka_unit_test(test_check_reference_leak_fails),
        cmocka_unit_test(test_check_leak_in_any_trace_fails),
        cmocka_unit_test(test_check_same_leak_in_two_traces_is_one_line),
        cmocka_unit_test(test_check_directory_stands_for_its_traces),
        cmocka_unit_test(test_check_missing_module_warns_once_for_two_traces),
        cmocka_unit_test(test_check_gone_module_leak_shown_as_offset),
        cmocka_unit_test(test_check_suppressed_leak_passes),
        cmocka_unit_test(test_check_verdict_counts_suppressed_bytes),
        cmocka_unit_test(test_check_write_baseline_passes),
        cmocka_unit_test(test_check_known_leak_passes_baseline),
        cmocka_unit_test(test_check_new_leak_fails_baseline),
        cmocka_unit_test(test_check_new_leak_line_names_only_new_site),
        cmocka_unit_test(test_check_fixed_leak_is_reported),
        cmocka_unit_test(test_check_json_says_known_and_fixed),
        cmocka_unit_test(test_check_cut_trace_checks_last_complete_snapshot),
        cmocka_unit_test(test_check_cut_trace_still_gates),
        cmocka_unit_test(test_check_missing_trace_exits_3),
        cmocka_unit_test(test_check_corrupt_trace_exits_3),
        cmocka_unit_test(test_check_no_trace_exits_2),
        cmocka_unit_test(test_check_bad_fail_on_exits_2),
        cmocka_unit_test(test_check_bad_max_bytes_exits_2),
        cmocka_unit_test(test_check_unreadable_baseline_exits_2),
    };

    return cmocka_run_group_tests(tests, setup, fx_cleanup);
}
