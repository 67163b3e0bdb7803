/* test_json.c - the JSON writer (json.c): escaping and structure, on
 * output captured in memory. One claim per test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

static char buf[4096];

static const char *escaped(const char *s)
{
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    lg_jw_escape(f, s);
    fclose(f);
    return buf;
}

/* Quotes and backslashes are escaped. */
static void test_json_escapes_quotes_and_backslashes(void **state)
{
    (void)state;
    assert_string_equal(escaped("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

/* Control characters become \n, \t or \u00XX. */
static void test_json_escapes_control_characters(void **state)
{
    (void)state;
    assert_string_equal(escaped("\n\t\x01\x1f"), "\"\\n\\t\\u0001\\u001f\"");
}

/* Valid UTF-8 passes through unchanged. */
static void test_json_keeps_valid_utf8(void **state)
{
    (void)state;
    assert_string_equal(escaped("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");
}

/* Bytes that are not UTF-8 become U+FFFD, one per byte. */
static void test_json_replaces_invalid_utf8(void **state)
{
    (void)state;
    assert_string_equal(escaped("a\xff\xc3("), "\"a\\ufffd\\ufffd(\"");
}

/* Objects, arrays, keys and commas nest correctly. */
static void test_json_structure(void **state)
{
    (void)state;
    struct lg_jw w;
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    lg_jw_init(&w, f);
    lg_jw_object(&w);
    lg_jw_kuint(&w, "n", 1);
    lg_jw_key(&w, "a");
    lg_jw_array(&w);
    lg_jw_hex(&w, 0xabc);
    lg_jw_null(&w);
    lg_jw_end_array(&w);
    lg_jw_key(&w, "e");
    lg_jw_object(&w);
    lg_jw_end_object(&w);
    lg_jw_end_object(&w);
    fclose(f);
    assert_string_equal(buf, "{\n  \"n\": 1,\n  \"a\": [\n    \"0xabc\",\n    null\n  ],\n  \"e\": {}\n}\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes_quotes_and_backslashes),
        cmocka_unit_test(test_json_escapes_control_characters),
        cmocka_unit_test(test_json_keeps_valid_utf8),
        cmocka_unit_test(test_json_replaces_invalid_utf8),
        cmocka_unit_test(test_json_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
