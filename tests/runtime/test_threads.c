/* test_threads.c - the runtime lock and the runtime's own locking: rc_lock
 * excludes other threads and is recursive; the intern table, the small-int
 * cache and the collector stay consistent when threads use them at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rt_node.h"

#define THREADS 4
#define ROUNDS 20000

static void run_threads(void *(*fn)(void *), void *args[THREADS])
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, args ? args[i] : NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

static long counter;

static void *bump(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        rc_lock();
        long v = counter;           /* a lost update shows without mutual exclusion */
        __asm__ volatile("" ::: "memory");
        counter = v + 1;
        rc_unlock();
    }
    return NULL;
}

static void test_lock_excludes_other_threads(void **state)
{
    counter = 0;
    run_threads(bump, NULL);
    assert_int_equal(counter, (long)THREADS * ROUNDS);
}

static void *try_take(void *arg)
{
    rc_lock();
    *(int *)arg = 1;
    rc_unlock();
    return NULL;
}

static void test_lock_is_recursive(void **state)
{
    rc_lock();
    rc_lock();                      /* would deadlock if not recursive */
    rc_unlock();
    rc_unlock();
    int taken = 0;
    pthread_t t;
    pthread_create(&t, NULL, try_take, &taken);
    pthread_join(t, NULL);          /* would hang if an unlock were missing */
    assert_true(taken);
}

static void *intern_many(void *arg)
{
    rc_object **out = arg;
    char buf[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof(buf), "thread text %d", i);
        out[i] = rc_str_intern(buf);
    }
    return NULL;
}

static void test_threads_intern_to_the_same_objects(void **state)
{
    static rc_object *seen[THREADS][2000];
    void *args[THREADS];
    for (int i = 0; i < THREADS; i++)
        args[i] = seen[i];
    run_threads(intern_many, args);
    int mismatches = 0;
    for (int t = 1; t < THREADS; t++)
        for (int i = 0; i < 2000; i++)
            mismatches += seen[t][i] != seen[0][i];
    assert_int_equal(mismatches, 0);
}

static void *small_ints(void *arg)
{
    rc_object **out = arg;
    for (int v = -5; v <= 256; v++)
        out[v + 5] = rc_int_new(v);
    return NULL;
}

static void test_threads_share_small_ints(void **state)
{
    static rc_object *seen[THREADS][262];
    void *args[THREADS];
    for (int i = 0; i < THREADS; i++)
        args[i] = seen[i];
    run_threads(small_ints, args);
    int mismatches = 0;
    for (int t = 1; t < THREADS; t++)
        for (int i = 0; i < 262; i++)
            mismatches += seen[t][i] != seen[0][i];
    assert_int_equal(mismatches, 0);
}

/* Threads make garbage cycles under the lock while automatic collections run. */
static void *make_cycles(void *arg)
{
    for (int i = 0; i < ROUNDS / 4; i++) {
        rc_lock();
        node *a, *b;
        node_pair(&a, &b);
        rc_decref(&a->ob);
        rc_decref(&b->ob);
        rc_unlock();
    }
    return NULL;
}

static void test_threads_cycles_are_all_collected(void **state)
{
    size_t before = tracked_count();
    rc_gc_set_threshold(100, 10, 10);
    run_threads(make_cycles, NULL);
    rc_gc_collect(-1);
    rc_gc_set_threshold(700, 10, 10);
    assert_int_equal(tracked_count(), before);
}

/* Untracked objects (str) may live and die in threads without the lock. */
static void *private_strings(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        rc_object *s = rc_str_new("private");
        rc_object *l = rc_int_new(100000 + i);
        rc_decref(s);
        rc_decref(l);
    }
    return NULL;
}

static void test_threads_private_untracked_objects_need_no_lock(void **state)
{
    size_t before = tracked_count();
    run_threads(private_strings, NULL);
    assert_int_equal(tracked_count(), before);
}

/* fork() while other threads work under the lock: the child can use the
 * runtime (it would hang on a lock held by a thread it does not have). */
static volatile int keep_busy;

static void *busy_cycles(void *arg)
{
    while (keep_busy)
        make_cycles(NULL);
    return NULL;
}

static void test_fork_child_can_use_runtime(void **state)
{
    pthread_t t[2];
    keep_busy = 1;
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, busy_cycles, NULL);
    int failures = 0;
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            node *a, *b;
            node_pair(&a, &b);
            rc_decref(&a->ob);
            rc_decref(&b->ob);
            rc_str_intern("in the child");
            _exit(rc_gc_collect(-1) >= 2 ? 0 : 1);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        failures += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    keep_busy = 0;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    rc_gc_collect(-1);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_excludes_other_threads),
        cmocka_unit_test(test_lock_is_recursive),
        cmocka_unit_test(test_threads_intern_to_the_same_objects),
        cmocka_unit_test(test_threads_share_small_ints),
        cmocka_unit_test(test_threads_cycles_are_all_collected),
        cmocka_unit_test(test_threads_private_untracked_objects_need_no_lock),
        cmocka_unit_test(test_fork_child_can_use_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
