/* test_sarif.c - the SARIF report on synthetic traces (fixture.c): valid
 * against the SARIF 2.1.0 JSON schema, then its facts checked with jq.
 * Facts, not bytes: addresses and pids never appear in an expectation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "commands.h"
#include "fixture.h"
#include "reports_util.h"
#include "sarif.h"
#include "suppress.h"

static int setup(void **state)
{
    (void)state;
    return fx_init();
}

/* Render the SARIF of the given traces into DIR/out; 0 on success. */
static int sarif_of(const char *out, bool show_reachable, const char *t1, const char *t2)
{
    struct lg_opened op[2];
    struct lg_sarif_input in[2];
    const char *traces[2] = { t1, t2 };
    char err[512];
    size_t n = 0;
    FILE *f;
    int rc;

    for (; n < 2 && traces[n] != NULL; n++) {
        if (lg_open_snapshot(traces[n], show_reachable, &op[n], err, sizeof(err)) < 0) {
            print_error("%s\n", err);
            return -1;
        }
        in[n].trace = op[n].trace;
        in[n].a = op[n].a;
        in[n].sym = op[n].sym;
    }
    f = fopen(out, "w");
    if (f == NULL)
        return -1;
    rc = lg_render_sarif(f, in, n, show_reachable);
    fclose(f);
    while (n-- > 0)
        lg_opened_close(&op[n]);
    return rc;
}

/* ---- SARIF -------------------------------------------------------------- */

static void test_sarif_leaks_validate_against_schema(void **state)
{
    char command[2048];
    const char *out = fx_path("leaks.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, true, fx_trace("leak_ab", SC_LEAK_AB),
                              fx_trace("possible", SC_POSSIBLE)), 0);
    snprintf(command, sizeof(command), "/usr/bin/python3 '%s' '%s' '%s'", VALIDATE, SCHEMA, out);
    assert_int_equal(system(command), 0);
}

static void test_sarif_refcount_leaks_validate_against_schema(void **state)
{
    char command[2048];
    const char *out = fx_path("rc.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("cycle", SC_CYCLE),
                              fx_trace("refleak", SC_REFLEAK)), 0);
    snprintf(command, sizeof(command), "/usr/bin/python3 '%s' '%s' '%s'", VALIDATE, SCHEMA, out);
    assert_int_equal(system(command), 0);
}

static void test_sarif_has_required_properties(void **state)
{
    const char *out = fx_path("leaks.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("leak_ab", SC_LEAK_AB), NULL), 0);
    assert_true(fx_jq(out, ".version == \"2.1.0\" and (.\"$schema\" | test(\"sarif-2.1.0\")) and "
                        ".runs[0].tool.driver.name == \"leakgraph\" and "
                        "(.runs[0].results | all(.ruleId and .message.text and "
                        ".locations[0].physicalLocation.artifactLocation.uri and "
                        ".locations[0].physicalLocation.region.startLine))"));
}

static void test_sarif_one_result_per_lost_record(void **state)
{
    const char *out = fx_path("leaks.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("leak_ab", SC_LEAK_AB), NULL), 0);
    assert_true(fx_jq(out, "[.runs[0].results[] | select(.ruleId == \"definitely-lost\")] | "
                        "length == 2"));
}

static void test_sarif_reachable_only_with_show_reachable(void **state)
{
    const char *hidden = fx_path("hidden.sarif"), *shown = fx_path("shown.sarif");

    (void)state;
    assert_int_equal(sarif_of(hidden, false, fx_trace("clean", SC_CLEAN), NULL), 0);
    assert_int_equal(sarif_of(shown, true, fx_trace("clean", SC_CLEAN), NULL), 0);
    assert_true(fx_jq(hidden, ".runs[0].results | length == 0") &&
                fx_jq(shown, ".runs[0].results | map(.ruleId) == [\"still-reachable\"]"));
}

static void test_sarif_location_is_leaking_line(void **state)
{
    const char *out = fx_path("a.sarif");
    char filter[512];

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("leak_a", SC_LEAK_A), NULL), 0);
    snprintf(filter, sizeof(filter), ".runs[0].results[0].locations[0].physicalLocation | "
             "(.region.startLine == %d and (.artifactLocation.uri | endswith(\"fixture.c\")))",
             fx_site_a_line());
    assert_true(fx_jq(out, filter));
}

static void test_sarif_uri_is_relative_to_current_dir(void **state)
{
    const char *out = fx_path("rel.sarif");
    char cwd[4096];

    (void)state;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(SOURCE_ROOT), 0);
    assert_int_equal(sarif_of(out, false, fx_trace("leak_a", SC_LEAK_A), NULL), 0);
    assert_int_equal(chdir(cwd), 0);
    assert_true(fx_jq(out, ".runs[0].results[0].locations[0].physicalLocation.artifactLocation | "
                        ".uri == \"tests/cli_reports/fixture.c\" and .uriBaseId == \"SRCROOT\""));
}

static void test_sarif_levels_follow_kinds(void **state)
{
    const char *out = fx_path("levels.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("cycle", SC_CYCLE),
                              fx_trace("possible", SC_POSSIBLE)), 0);
    assert_true(fx_jq(out, "[.runs[0].results[] | [.ruleId, .level]] | sort == "
                        "[[\"garbage-cycle\", \"error\"], [\"possibly-lost\", \"warning\"]]"));
}

static void test_sarif_rule_index_points_at_rule(void **state)
{
    const char *out = fx_path("rc.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("cycle", SC_CYCLE),
                              fx_trace("refleak", SC_REFLEAK)), 0);
    assert_true(fx_jq(out, ".runs[0] as $r | $r.results | length == 2 and "
                        "all(.ruleId == $r.tool.driver.rules[.ruleIndex].id)"));
}

static void test_sarif_cycle_members_are_related_locations(void **state)
{
    const char *out = fx_path("cycle.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("cycle", SC_CYCLE), NULL), 0);
    assert_true(fx_jq(out, ".runs[0].results[0].relatedLocations | length == 2 and "
                        "all(.message.text | startswith(\"cycle member Node at 0x\"))"));
}

static void test_sarif_refleak_names_incref_site(void **state)
{
    const char *out = fx_path("refleak.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("refleak", SC_REFLEAK), NULL), 0);
    assert_true(fx_jq(out, "[.runs[0].results[0].relatedLocations[].logicalLocations[0].name] | "
                        "index(\"site_incref\") != null"));
}

static void test_sarif_code_flow_ends_at_innermost_frame(void **state)
{
    const char *out = fx_path("a.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("leak_a", SC_LEAK_A), NULL), 0);
    assert_true(fx_jq(out, "[.runs[0].results[0].codeFlows[0].threadFlows[0].locations[]"
                        ".location.logicalLocations[0].name] == [\"fx_caller\", \"site_a\"]"));
}

static void test_sarif_fingerprint_same_for_same_leak(void **state)
{
    const char *a = fx_path("fp1.sarif"), *b = fx_path("fp2.sarif");
    char cmd[4096];

    (void)state;
    assert_int_equal(sarif_of(a, false, fx_trace("leak_a", SC_LEAK_A), NULL), 0);
    assert_int_equal(sarif_of(b, false, fx_trace("leak_a2", SC_LEAK_A), NULL), 0);
    snprintf(cmd, sizeof(cmd), "jq -e -n --slurpfile a '%s' --slurpfile b '%s' "
             "'[$a, $b] | map(.[0].runs[0].results[0].partialFingerprints[\"leakgraph/v1\"]) | "
             ".[0] == .[1] and (.[0] | length == 16)' >/dev/null", a, b);
    assert_int_equal(system(cmd), 0);
}

static void test_sarif_same_leak_in_two_processes_is_one_result(void **state)
{
    const char *out = fx_path("two.sarif");

    (void)state;
    assert_int_equal(sarif_of(out, false, fx_trace("leak_a", SC_LEAK_A),
                              fx_trace("leak_a2", SC_LEAK_A)), 0);
    assert_true(fx_jq(out, ".runs[0].results | length == 1 and .[0].occurrenceCount == 2 and "
                           ".[0].properties.processes == 2 and .[0].properties.totalBytes == 64"));
}

static void test_sarif_suppressed_record_left_out(void **state)
{
    struct lg_opened op;
    struct lg_sarif_input in;
    struct lg_suppressions *s;
    const char *out = fx_path("supp.sarif");
    char err[512];
    FILE *f;

    (void)state;
    f = fopen(fx_path("b.supp"), "w");
    assert_non_null(f);
    fputs("leak:site_b\n", f);
    fclose(f);
    s = lg_suppressions_load(fx_path("b.supp"), err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(lg_open_snapshot(fx_trace("leak_ab", SC_LEAK_AB), false, &op, err,
                                      sizeof(err)), 0);
    lg_suppress_records(s, op.a, op.sym);
    in = (struct lg_sarif_input){ op.trace, op.a, op.sym };
    f = fopen(out, "w");
    assert_non_null(f);
    lg_render_sarif(f, &in, 1, false);
    fclose(f);
    lg_opened_close(&op);
    lg_suppressions_free(s);
    assert_true(fx_jq(out, ".runs[0].results | length == 1 and .[0].properties.bytes == 32"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sarif_leaks_validate_against_schema),
        cmocka_unit_test(test_sarif_refcount_leaks_validate_against_schema),
        cmocka_unit_test(test_sarif_has_required_properties),
        cmocka_unit_test(test_sarif_one_result_per_lost_record),
        cmocka_unit_test(test_sarif_reachable_only_with_show_reachable),
        cmocka_unit_test(test_sarif_location_is_leaking_line),
        cmocka_unit_test(test_sarif_uri_is_relative_to_current_dir),
        cmocka_unit_test(test_sarif_levels_follow_kinds),
        cmocka_unit_test(test_sarif_rule_index_points_at_rule),
        cmocka_unit_test(test_sarif_cycle_members_are_related_locations),
        cmocka_unit_test(test_sarif_refleak_names_incref_site),
        cmocka_unit_test(test_sarif_code_flow_ends_at_innermost_frame),
        cmocka_unit_test(test_sarif_fingerprint_same_for_same_leak),
        cmocka_unit_test(test_sarif_same_leak_in_two_processes_is_one_result),
        cmocka_unit_test(test_sarif_suppressed_record_left_out),
    };

    return cmocka_run_group_tests(tests, setup, fx_cleanup);
}
