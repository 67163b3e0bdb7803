/* test_suppress.c - suppression files in both formats (supp/lsan.supp,
 * supp/memcheck.supp) matched against hand-made symbolized stacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "suppress.h"

#define F(fn, file, mod) { 0x1000, fn, file, 10, mod, 0, 0 }

static struct lg_suppressions *load(const char *name)
{
    char path[512], err[256];
    struct lg_suppressions *s;

    snprintf(path, sizeof(path), "%s/%s", SUPP_DIR, name);
    s = lg_suppressions_load(path, err, sizeof(err));
    if (s == NULL)
        fail_msg("%s", err);
    return s;
}

static const char *match(const char *file, const char *kind, const struct lg_frame *fr,
                         size_t n)
{
    static char name[128];
    struct lg_suppressions *s = load(file);
    const char *m = lg_suppressions_match(s, kind, fr, n, NULL);

    snprintf(name, sizeof(name), "%s", m != NULL ? m : "(none)");
    lg_suppressions_free(s);
    return name;
}

/* ---- LeakSanitizer format ----------------------------------------------- */

static void test_lsan_loads_leak_lines_only(void **state)
{
    struct lg_suppressions *s = load("lsan.supp");

    (void)state;
    assert_int_equal(lg_suppressions_count(s), 4);
    lg_suppressions_free(s);
}

static void test_lsan_module_substring_matches_any_frame(void **state)
{
    struct lg_frame fr[] = { F("helper", NULL, "libc.so.6"),
                             F("tp_init", NULL, "libthirdparty.so.1") };

    (void)state;
    assert_string_equal(match("lsan.supp", "definitely_lost", fr, 2), "leak:libthirdparty.so");
}

static void test_lsan_star_matches_function(void **state)
{
    struct lg_frame fr[] = { F("make_font_cache", "fonts.c", "app") };

    (void)state;
    assert_string_equal(match("lsan.supp", "possibly_lost", fr, 1), "leak:make_*_cache");
}

static void test_lsan_leaves_still_reachable_alone(void **state)
{
    struct lg_frame fr[] = { F("make_font_cache", "fonts.c", "app") };

    (void)state;
    assert_string_equal(match("lsan.supp", "still_reachable", fr, 1), "(none)");
}

static void test_lsan_anchors_reject_longer_name(void **state)
{
    struct lg_frame fr[] = { F("init_tables_twice", "t.c", "app") };

    (void)state;
    assert_string_equal(match("lsan.supp", "definitely_lost", fr, 1), "(none)");
}

static void test_lsan_anchored_exact_name_matches(void **state)
{
    struct lg_frame fr[] = { F("init_tables", "t.c", "app") };

    (void)state;
    assert_string_equal(match("lsan.supp", "definitely_lost", fr, 1), "leak:^init_tables$");
}

static void test_lsan_file_name_matches(void **state)
{
    struct lg_frame fr[] = { F("read_token", "/src/legacy/parser.c", "app") };

    (void)state;
    assert_string_equal(match("lsan.supp", "garbage_cycle", fr, 1), "leak:legacy/parser.c");
}

static void test_lsan_unrelated_stack_not_matched(void **state)
{
    struct lg_frame fr[] = { F("main", "main.c", "app") };

    (void)state;
    assert_string_equal(match("lsan.supp", "definitely_lost", fr, 1), "(none)");
}

/* ---- Valgrind format ---------------------------------------------------- */

static void test_memcheck_skips_other_kinds_of_block(void **state)
{
    struct lg_suppressions *s = load("memcheck.supp");

    (void)state;
    assert_int_equal(lg_suppressions_count(s), 5);
    lg_suppressions_free(s);
}

static void test_memcheck_allocator_line_skipped_for_shim_stacks(void **state)
{
    struct lg_frame fr[] = { F("load_config", "c.c", "app"), F("main", "m.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "definitely_lost", fr, 2), "config_singleton");
}

static void test_memcheck_stack_with_allocator_frame_matches(void **state)
{
    struct lg_frame fr[] = { F("malloc", NULL, "libleakgraph.so"), F("load_config", "c.c", "app"),
                             F("main", "m.c", "app"), F("__libc_start_main", NULL, "libc.so.6") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "definitely_lost", fr, 4), "config_singleton");
}

static void test_memcheck_leak_kind_filter_rejects_reachable(void **state)
{
    struct lg_frame fr[] = { F("load_config", "c.c", "app"), F("main", "m.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "still_reachable", fr, 2), "(none)");
}

static void test_memcheck_definite_covers_garbage_cycles(void **state)
{
    struct lg_frame fr[] = { F("load_config", "c.c", "app"), F("main", "m.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "garbage_cycle", fr, 2), "config_singleton");
}

static void test_memcheck_ellipsis_spans_frames(void **state)
{
    struct lg_frame fr[] = { F("parse_doc", "p.c", "app"), F("a", "a.c", "app"),
                             F("b", "b.c", "app"), F("main", "m.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "possibly_lost", fr, 4),
                        "anything_from_main_via_parse");
}

static void test_memcheck_ellipsis_needs_the_frame_after_it(void **state)
{
    struct lg_frame fr[] = { F("parse_doc", "p.c", "app"), F("a", "a.c", "app"),
                             F("worker", "w.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "possibly_lost", fr, 3), "(none)");
}

static void test_memcheck_frames_match_from_innermost(void **state)
{
    /* load_config is there, but not as the innermost frame */
    struct lg_frame fr[] = { F("xmalloc", "x.c", "app"), F("load_config", "c.c", "app"),
                             F("main", "m.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "definitely_lost", fr, 3), "(none)");
}

static void test_memcheck_question_mark_matches_one_char(void **state)
{
    struct lg_frame fr[] = { F("make_widget", "w.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "definitely_lost", fr, 1), "glob_question_mark");
}

static void test_memcheck_question_mark_needs_a_char(void **state)
{
    struct lg_frame fr[] = { F("mae_widget", "w.c", "app") };

    (void)state;
    assert_string_equal(match("memcheck.supp", "definitely_lost", fr, 1), "(none)");
}

static void test_memcheck_obj_glob_uses_full_module_path(void **state)
{
    struct lg_mod mod = { .m = { .base = 0x7000, .start = 0x7000, .end = 0x9000 },
                          .path = "/opt/plugins/libgreet.so" };
    struct lg_snap snap = { .nmodules = 1, .modules = &mod };
    struct lg_frame fr[] = { { 0x7100, "greet", NULL, 0, "libgreet.so", 0x100, 0 } };
    struct lg_suppressions *s = load("memcheck.supp");
    const char *m;

    (void)state;
    m = lg_suppressions_match(s, "still_reachable", fr, 1, &snap);
    assert_string_equal(m != NULL ? m : "(none)", "in_plugin_object");
    lg_suppressions_free(s);
}

static void test_memcheck_src_line_matches_file_and_line(void **state)
{
    struct lg_frame fr[] = { { 0x1000, "w", "/src/widget.c", 42, "app", 0, 0 } };

    (void)state;
    assert_string_equal(match("memcheck.supp", "indirectly_lost", fr, 1), "source_line");
}

static void test_memcheck_src_line_rejects_other_line(void **state)
{
    struct lg_frame fr[] = { { 0x1000, "w", "/src/widget.c", 43, "app", 0, 0 } };

    (void)state;
    assert_string_equal(match("memcheck.supp", "indirectly_lost", fr, 1), "(none)");
}

/* ---- sets and errors ---------------------------------------------------- */

static void test_suppress_two_files_add_up(void **state)
{
    char path[512], err[256];
    struct lg_suppressions *s = lg_suppressions_new();

    (void)state;
    snprintf(path, sizeof(path), "%s/lsan.supp", SUPP_DIR);
    assert_int_equal(lg_suppressions_add_file(s, path, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/memcheck.supp", SUPP_DIR);
    assert_int_equal(lg_suppressions_add_file(s, path, err, sizeof(err)), 0);
    assert_int_equal(lg_suppressions_count(s), 9);
    lg_suppressions_free(s);
}

static void test_suppress_unterminated_block_names_line(void **state)
{
    char path[512], err[256] = "";

    (void)state;
    snprintf(path, sizeof(path), "%s/unterminated.supp", SUPP_DIR);
    assert_null(lg_suppressions_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "unterminated.supp:1: block opened here is not closed"));
}

static void test_suppress_garbage_line_is_an_error(void **state)
{
    char path[512], err[256] = "";

    (void)state;
    snprintf(path, sizeof(path), "%s/garbage.supp", SUPP_DIR);
    assert_null(lg_suppressions_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "garbage.supp:2: not a suppression"));
}

static void test_suppress_missing_file_is_an_error(void **state)
{
    char err[256] = "";

    (void)state;
    assert_null(lg_suppressions_load("/nonexistent.supp", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent.supp: No such file"));
}

static void collect_question_mark(const char *name, size_t count, void *arg)
{
    if (strcmp(name, "glob_question_mark") == 0)
        *(size_t *)arg = count;
}

static void test_suppress_counts_uses(void **state)
{
    struct lg_frame fr[] = { F("make_widget", "w.c", "app") };
    struct lg_suppressions *s = load("memcheck.supp");
    size_t i = 0;

    (void)state;
    lg_suppressions_match(s, "definitely_lost", fr, 1, NULL);
    lg_suppressions_match(s, "possibly_lost", fr, 1, NULL);
    lg_suppressions_used(s, collect_question_mark, &i);
    assert_int_equal(i, 2);
    lg_suppressions_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lsan_loads_leak_lines_only),
        cmocka_unit_test(test_lsan_module_substring_matches_any_frame),
        cmocka_unit_test(test_lsan_star_matches_function),
        cmocka_unit_test(test_lsan_leaves_still_reachable_alone),
        cmocka_unit_test(test_lsan_anchors_reject_longer_name),
        cmocka_unit_test(test_lsan_anchored_exact_name_matches),
        cmocka_unit_test(test_lsan_file_name_matches),
        cmocka_unit_test(test_lsan_unrelated_stack_not_matched),
        cmocka_unit_test(test_memcheck_skips_other_kinds_of_block),
        cmocka_unit_test(test_memcheck_allocator_line_skipped_for_shim_stacks),
        cmocka_unit_test(test_memcheck_stack_with_allocator_frame_matches),
        cmocka_unit_test(test_memcheck_leak_kind_filter_rejects_reachable),
        cmocka_unit_test(test_memcheck_definite_covers_garbage_cycles),
        cmocka_unit_test(test_memcheck_ellipsis_spans_frames),
        cmocka_unit_test(test_memcheck_ellipsis_needs_the_frame_after_it),
        cmocka_unit_test(test_memcheck_frames_match_from_innermost),
        cmocka_unit_test(test_memcheck_question_mark_matches_one_char),
        cmocka_unit_test(test_memcheck_question_mark_needs_a_char),
        cmocka_unit_test(test_memcheck_obj_glob_uses_full_module_path),
        cmocka_unit_test(test_memcheck_src_line_matches_file_and_line),
        cmocka_unit_test(test_memcheck_src_line_rejects_other_line),
        cmocka_unit_test(test_suppress_two_files_add_up),
        cmocka_unit_test(test_suppress_unterminated_block_names_line),
        cmocka_unit_test(test_suppress_garbage_line_is_an_error),
        cmocka_unit_test(test_suppress_missing_file_is_an_error),
        cmocka_unit_test(test_suppress_counts_uses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
