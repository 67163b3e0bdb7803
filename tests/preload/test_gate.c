/* test_gate.c - the gate of headered blocks (preload/gate.c): closing waits
 * for every hook inside, a hook waits while the gate is shut, and the
 * passes that must not wait (nested, the closer's own, under a shim lock)
 * do not; with membarrier and with the fence that replaces it. Real
 * threads, timed with sleeps long enough that a wrong order shows. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "gate.h"

__thread int lg_in_lock;                /* hooks.c's, which is not linked in */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void wait_for(atomic_int *flag)
{
    while (!atomic_load(flag))
        sleep_ms(1);
}

/* ---- a hook inside holds the closer back -------------------------------- */

static atomic_int inside, left;

static void *hook_holding_50ms(void *unused)
{
    (void)unused;
    enum lg_gate_pass pass = lg_gate_enter();
    atomic_store(&inside, 1);
    sleep_ms(50);
    atomic_store(&left, 1);
    lg_gate_leave(pass);
    return NULL;
}

static void close_waits_for_hook_inside(bool fenced)
{
    lg_gate_fenced = fenced;
    atomic_store(&inside, 0);
    atomic_store(&left, 0);
    pthread_t t;
    pthread_create(&t, NULL, hook_holding_50ms, NULL);
    wait_for(&inside);
    assert_true(lg_gate_close(-1));
    assert_int_equal(atomic_load(&left), 1);
    lg_gate_open();
    pthread_join(t, NULL);
}

static void test_gate_close_waits_for_hook_inside(void **state)
{
    (void)state;
    close_waits_for_hook_inside(false);
}

static void test_gate_close_waits_for_hook_inside_fenced(void **state)
{
    (void)state;
    close_waits_for_hook_inside(true);
}

/* ---- a hook waits at a shut gate ---------------------------------------- */

static atomic_int trying, entered;

static void *hook_passing(void *unused)
{
    (void)unused;
    atomic_store(&trying, 1);
    enum lg_gate_pass pass = lg_gate_enter();
    atomic_store(&entered, 1);
    lg_gate_leave(pass);
    return NULL;
}

static void hook_waits_while_shut(bool fenced)
{
    lg_gate_fenced = fenced;
    atomic_store(&trying, 0);
    atomic_store(&entered, 0);
    assert_true(lg_gate_close(-1));
    pthread_t t;
    pthread_create(&t, NULL, hook_passing, NULL);
    wait_for(&trying);
    sleep_ms(50);
    assert_int_equal(atomic_load(&entered), 0);
    lg_gate_open();
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&entered), 1);
}

static void test_gate_hook_waits_while_shut(void **state)
{
    (void)state;
    hook_waits_while_shut(false);
}

static void test_gate_hook_waits_while_shut_fenced(void **state)
{
    (void)state;
    hook_waits_while_shut(true);
}

/* ---- passes that must not wait -------------------------------------------- */

static void *hook_under_shim_lock(void *unused)
{
    (void)unused;
    lg_in_lock = 1;
    enum lg_gate_pass pass = lg_gate_enter();
    atomic_store(&entered, 1);
    lg_gate_leave(pass);
    lg_in_lock = 0;
    return NULL;
}

/* The closer's own hooks (the snapshot's frees) and a hook whose thread
 * holds a shim lock go through a shut gate. */
static void test_gate_closer_and_lock_holder_pass(void **state)
{
    (void)state;
    lg_gate_fenced = false;
    assert_true(lg_gate_close(-1));
    enum lg_gate_pass pass = lg_gate_enter();
    assert_int_not_equal(pass, LG_GATE_SLOTLESS);
    lg_gate_leave(pass);
    atomic_store(&entered, 0);
    pthread_t t;
    pthread_create(&t, NULL, hook_under_shim_lock, NULL);
    pthread_join(t, NULL);                  /* hangs if it waited */
    assert_int_equal(atomic_load(&entered), 1);
    lg_gate_open();
}

static atomic_int nested_pass;

/* A hook nested in a busy one on its thread (a signal handler) passes while
 * a closer waits for the outer one. */
static void *outer_then_nested(void *unused)
{
    (void)unused;
    enum lg_gate_pass outer = lg_gate_enter();
    atomic_store(&inside, 1);
    while (!atomic_load(&lg_gate_shut))
        sleep_ms(1);
    sleep_ms(20);                           /* the closer is waiting now */
    enum lg_gate_pass inner = lg_gate_enter();
    atomic_store(&nested_pass, inner);
    lg_gate_leave(inner);
    atomic_store(&left, 1);
    lg_gate_leave(outer);
    return NULL;
}

static void test_gate_nested_hook_passes(void **state)
{
    (void)state;
    lg_gate_fenced = false;
    atomic_store(&inside, 0);
    atomic_store(&left, 0);
    pthread_t t;
    pthread_create(&t, NULL, outer_then_nested, NULL);
    wait_for(&inside);
    assert_true(lg_gate_close(-1));
    assert_int_equal(atomic_load(&left), 1);
    assert_int_equal(atomic_load(&nested_pass), LG_GATE_NESTED);
    lg_gate_open();
    pthread_join(t, NULL);
}

/* ---- a hook that does not leave, and threads without a slot --------------- */

static void *hook_holding_300ms(void *unused)
{
    (void)unused;
    enum lg_gate_pass pass = lg_gate_enter();
    atomic_store(&inside, 1);
    sleep_ms(300);
    lg_gate_leave(pass);
    return NULL;
}

/* With a limit (the fatal snapshot's), closing gives up and leaves the
 * gate open. */
static void test_gate_close_gives_up_after_limit(void **state)
{
    (void)state;
    atomic_store(&inside, 0);
    pthread_t t;
    pthread_create(&t, NULL, hook_holding_300ms, NULL);
    wait_for(&inside);
    assert_false(lg_gate_close(20));
    assert_int_equal(atomic_load(&lg_gate_shut), 0);
    pthread_join(t, NULL);
    assert_true(lg_gate_close(20));
    lg_gate_open();
}

static void *ending_thread_hook(void *unused)
{
    (void)unused;
    lg_gate_thread_exit();                  /* its slot is gone: TLS destructors */
    enum lg_gate_pass pass = lg_gate_enter();
    atomic_store(&nested_pass, pass);
    atomic_store(&inside, 1);
    sleep_ms(50);
    atomic_store(&left, 1);
    lg_gate_leave(pass);
    return NULL;
}

static void test_gate_waits_for_slotless_thread(void **state)
{
    (void)state;
    atomic_store(&inside, 0);
    atomic_store(&left, 0);
    pthread_t t;
    pthread_create(&t, NULL, ending_thread_hook, NULL);
    wait_for(&inside);
    assert_int_equal(atomic_load(&nested_pass), LG_GATE_SLOTLESS);
    assert_true(lg_gate_close(-1));
    assert_int_equal(atomic_load(&left), 1);
    lg_gate_open();
    pthread_join(t, NULL);
}

/* ---- many hooks, many closings -------------------------------------------- */

static atomic_int in_section, stop;

static void *hammer(void *unused)
{
    (void)unused;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        enum lg_gate_pass pass = lg_gate_enter();
        atomic_fetch_add_explicit(&in_section, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&in_section, 1, memory_order_relaxed);
        lg_gate_leave(pass);
    }
    return NULL;
}

/* While the gate is shut no hook is inside, round after round. */
static void test_gate_shut_means_nobody_inside(void **state)
{
    (void)state;
    lg_gate_init();
    atomic_store(&stop, 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int round = 0; round < 300; round++) {
        assert_true(lg_gate_close(-1));
        assert_int_equal(atomic_load(&in_section), 0);
        for (volatile int spin = 0; spin < 20000; spin++)
            ;
        assert_int_equal(atomic_load(&in_section), 0);
        lg_gate_open();
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
}

int main(void)
{
    lg_gate_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_close_waits_for_hook_inside),
        cmocka_unit_test(test_gate_close_waits_for_hook_inside_fenced),
        cmocka_unit_test(test_gate_hook_waits_while_shut),
        cmocka_unit_test(test_gate_hook_waits_while_shut_fenced),
        cmocka_unit_test(test_gate_closer_and_lock_holder_pass),
        cmocka_unit_test(test_gate_nested_hook_passes),
        cmocka_unit_test(test_gate_close_gives_up_after_limit),
        cmocka_unit_test(test_gate_waits_for_slotless_thread),
        cmocka_unit_test(test_gate_shut_means_nobody_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
