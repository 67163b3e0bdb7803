/* test_config.c - the shim's settings (preload/config.c): good values are
 * taken, bad ones fall back to their defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include <cmocka.h>

#include "lg_shim.h"

static void load2(const char *name, const char *value, const char *name2, const char *value2)
{
    lg_cfg.depth = LG_DEPTH_DEFAULT;
    lg_cfg.history = LG_HISTORY_DEFAULT;
    lg_cfg.signal = SIGUSR2;
    lg_cfg.history_depth = LG_HISTORY_DEPTH_DEFAULT;
    unsetenv("LEAKGRAPH_DEPTH");
    unsetenv("LEAKGRAPH_HISTORY");
    unsetenv("LEAKGRAPH_HISTORY_DEPTH");
    unsetenv("LEAKGRAPH_SIGNAL");
    setenv(name, value, 1);
    if (name2 != NULL)
        setenv(name2, value2, 1);
    lg_config_load();
}

static void load(const char *name, const char *value)
{
    load2(name, value, NULL, NULL);
}

/* LEAKGRAPH_DEPTH=abc is not a number: the default depth stays. */
static void test_depth_not_a_number_uses_default(void **state)
{
    (void)state;
    load("LEAKGRAPH_DEPTH", "abc");
    assert_int_equal(lg_cfg.depth, LG_DEPTH_DEFAULT);
}

/* LEAKGRAPH_HISTORY_DEPTH=deep is not a number: the default stays. */
static void test_history_depth_not_a_number_uses_default(void **state)
{
    (void)state;
    load("LEAKGRAPH_HISTORY_DEPTH", "deep");
    assert_int_equal(lg_cfg.history_depth, LG_HISTORY_DEPTH_DEFAULT);
}

/* LEAKGRAPH_HISTORY_DEPTH=12 keeps 12 frames of each incref/decref stack. */
static void test_history_depth_number_sets_frames(void **state)
{
    (void)state;
    load("LEAKGRAPH_HISTORY_DEPTH", "12");
    assert_int_equal(lg_cfg.history_depth, 12);
}

/* LEAKGRAPH_HISTORY_DEPTH=300 is past the 256-frame limit: the default stays. */
static void test_history_depth_too_large_uses_default(void **state)
{
    (void)state;
    load("LEAKGRAPH_HISTORY_DEPTH", "300");
    assert_int_equal(lg_cfg.history_depth, LG_HISTORY_DEPTH_DEFAULT);
}

/* LEAKGRAPH_DEPTH=0 turns stacks off. */
static void test_depth_zero_turns_stacks_off(void **state)
{
    (void)state;
    load("LEAKGRAPH_DEPTH", "0");
    assert_int_equal(lg_cfg.depth, 0);
}

/* LEAKGRAPH_DEPTH=0: no stacks, so no refcount history by default. */
static void test_depth_zero_turns_history_off(void **state)
{
    (void)state;
    load("LEAKGRAPH_DEPTH", "0");
    assert_int_equal(lg_cfg.history, 0);
}

/* LEAKGRAPH_DEPTH=0 with LEAKGRAPH_HISTORY=on: a history without stacks. */
static void test_depth_zero_history_on_keeps_history(void **state)
{
    (void)state;
    load2("LEAKGRAPH_DEPTH", "0", "LEAKGRAPH_HISTORY", "on");
    assert_int_equal(lg_cfg.history, LG_HISTORY_DEFAULT);
}

/* A depth above the maximum is clamped to it. */
static void test_depth_too_large_is_clamped(void **state)
{
    (void)state;
    load("LEAKGRAPH_DEPTH", "100000");
    assert_int_equal(lg_cfg.depth, LG_DEPTH_MAX);
}

/* LEAKGRAPH_HISTORY=off turns the history off. */
static void test_history_off_turns_it_off(void **state)
{
    (void)state;
    load("LEAKGRAPH_HISTORY", "off");
    assert_int_equal(lg_cfg.history, 0);
}

/* LEAKGRAPH_HISTORY=200 sets the bound. */
static void test_history_number_sets_bound(void **state)
{
    (void)state;
    load("LEAKGRAPH_HISTORY", "200");
    assert_int_equal(lg_cfg.history, 200);
}

/* LEAKGRAPH_SIGNAL accepts names with or without SIG. */
static void test_signal_name_is_accepted(void **state)
{
    (void)state;
    load("LEAKGRAPH_SIGNAL", "SIGUSR1");
    assert_int_equal(lg_cfg.signal, SIGUSR1);
}

/* LEAKGRAPH_SIGNAL=KILL cannot be caught: the default stays. */
static void test_signal_kill_uses_default(void **state)
{
    (void)state;
    load("LEAKGRAPH_SIGNAL", "9");
    assert_int_equal(lg_cfg.signal, SIGUSR2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_not_a_number_uses_default),
        cmocka_unit_test(test_depth_zero_turns_stacks_off),
        cmocka_unit_test(test_depth_zero_turns_history_off),
        cmocka_unit_test(test_depth_zero_history_on_keeps_history),
        cmocka_unit_test(test_history_depth_not_a_number_uses_default),
        cmocka_unit_test(test_history_depth_number_sets_frames),
        cmocka_unit_test(test_history_depth_too_large_uses_default),
        cmocka_unit_test(test_depth_too_large_is_clamped),
        cmocka_unit_test(test_history_off_turns_it_off),
        cmocka_unit_test(test_history_number_sets_bound),
        cmocka_unit_test(test_signal_name_is_accepted),
        cmocka_unit_test(test_signal_kill_uses_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
