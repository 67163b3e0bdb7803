/* test_map.c - the shim's sharded address map (preload/map.c): what goes in
 * comes out, deletion (backward shift) never loses a neighbour, growth keeps
 * every entry. Checked against a plain array of the expected contents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lg_shim.h"

static struct lg_map map;

static struct lg_shard *shard(uintptr_t k)
{
    return lg_map_shard(&map, k);
}

static void reset(void)
{
    for (int i = 0; i < LG_SHARDS; i++)
        lg_map_release(&map.shards[i]);
}

/* A value put under a key is what get returns for it. */
static void test_map_put_then_get_returns_value(void **state)
{
    (void)state;
    reset();
    assert_int_equal(lg_map_put(shard(0x1000), 0x1000, 42), 0);
    uint64_t v = 0;
    assert_true(lg_map_get(shard(0x1000), 0x1000, &v));
    assert_int_equal(v, 42);
}

/* Deleting keys from the middle of probe runs leaves every other key
 * findable with its value (backward-shift deletion), across growth. */
static void test_map_random_deletes_keep_the_rest(void **state)
{
    (void)state;
    reset();
    enum { N = 200000 };
    uintptr_t *keys = malloc(N * sizeof *keys);
    char *live = calloc(N, 1);
    srand(7);
    for (size_t i = 0; i < N; i++) {
        /* dense runs from few pages, and scattered ones, like a heap */
        keys[i] = (i % 3 ? 0x10000000u + i * 16 : 0x7f0000000000ull + (uintptr_t)rand() * 4096u + (i % 256) * 16);
        keys[i] += 16;
    }
    for (size_t i = 0; i < N; i++) {
        uint64_t old;
        if (lg_map_get(shard(keys[i]), keys[i], &old))
            continue;                   /* a repeated random key */
        assert_int_equal(lg_map_put(shard(keys[i]), keys[i], i), 0);
        live[i] = 1;
    }
    for (size_t i = 0; i < N; i += 2)
        if (live[i]) {
            assert_true(lg_map_del(shard(keys[i]), keys[i], NULL));
            live[i] = 0;
        }
    size_t expect = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t v;
        bool found = lg_map_get(shard(keys[i]), keys[i], &v);
        if (live[i]) {
            expect++;
            assert_true(found);
            assert_int_equal(v, i);
        }
    }
    assert_int_equal(lg_map_count(&map), expect);
    free(keys);
    free(live);
}

/* A deleted key is gone. */
static void test_map_deleted_key_is_not_found(void **state)
{
    (void)state;
    reset();
    assert_int_equal(lg_map_put(shard(0x2000), 0x2000, 1), 0);
    assert_true(lg_map_del(shard(0x2000), 0x2000, NULL));
    uint64_t v;
    assert_false(lg_map_get(shard(0x2000), 0x2000, &v));
}

/* Block metadata keeps size and stack id apart, and a missing stack reads
 * back as LG_NONE. */
static void test_meta_round_trips_size_and_stack(void **state)
{
    (void)state;
    uint64_t m = lg_meta_make(123456, 77);
    assert_int_equal(lg_meta_size(m), 123456);
    assert_int_equal(lg_meta_stack(m), 77);
    assert_int_equal(lg_meta_stack(lg_meta_make(8, LG_NONE)), LG_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_put_then_get_returns_value),
        cmocka_unit_test(test_map_random_deletes_keep_the_rest),
        cmocka_unit_test(test_map_deleted_key_is_not_found),
        cmocka_unit_test(test_meta_round_trips_size_and_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
