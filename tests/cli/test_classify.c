/* test_classify.c - memcheck's classes on hand-built graphs (classify.c):
 * still reachable, possibly lost through interior pointers, indirectly
 * lost, definitely lost, lost cycles counted 1 definite + n-1 indirect,
 * and blocks that are never lost. One claim per test. */
#include "cli_test_util.h"

static uint8_t cls(const struct lg_loaded *l, uint32_t b)
{
    return l->a->block_class[b];
}

/* A block a global points at is still reachable. */
static void test_classify_rooted_block_still_reachable(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_global(tb, a);
    struct lg_loaded l;
    lg_load(tb, "rooted", &l);
    assert_int_equal(cls(&l, a), LG_STILL_REACHABLE);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A chain of start pointers from a root keeps its end still reachable. */
static void test_classify_start_chain_still_reachable(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0), b = lg_tb_block(tb, 16, LG_NONE, 0),
             c = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_global(tb, a);
    lg_tb_ptr(tb, a, b);
    lg_tb_ptr(tb, b, c);
    struct lg_loaded l;
    lg_load(tb, "chain", &l);
    assert_int_equal(cls(&l, c), LG_STILL_REACHABLE);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A block reached only through an interior root pointer is possibly lost. */
static void test_classify_interior_root_possibly_lost(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_global_interior(tb, a);
    struct lg_loaded l;
    lg_load(tb, "interior_root", &l);
    assert_int_equal(cls(&l, a), LG_POSSIBLY_LOST);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A start pointer out of a possibly lost block does not make its target
 * still reachable: the chain holds an interior pointer. */
static void test_classify_start_after_interior_possibly_lost(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0), b = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_global(tb, a);
    uint32_t c = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_interior(tb, a, b);
    lg_tb_ptr(tb, b, c);
    struct lg_loaded l;
    lg_load(tb, "after_interior", &l);
    assert_int_equal(cls(&l, c), LG_POSSIBLY_LOST);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* An interior pointer does not spoil a block that also has a start chain. */
static void test_classify_start_chain_beats_interior(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0), b = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_global_interior(tb, a);
    lg_tb_global(tb, b);
    lg_tb_ptr(tb, b, a);
    struct lg_loaded l;
    lg_load(tb, "beats_interior", &l);
    assert_int_equal(cls(&l, a), LG_STILL_REACHABLE);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A block nothing points to is definitely lost. */
static void test_classify_unreferenced_definitely_lost(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 100, LG_NONE, 0);
    struct lg_loaded l;
    lg_load(tb, "unref", &l);
    assert_int_equal(cls(&l, a), LG_DEFINITELY_LOST);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* What a lost block points to is indirectly lost. */
static void test_classify_child_of_lost_indirectly_lost(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0), b = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_ptr(tb, a, b);
    struct lg_loaded l;
    lg_load(tb, "child", &l);
    assert_int_equal(cls(&l, b), LG_INDIRECTLY_LOST);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A lost cycle of plain blocks counts one definitely lost, n-1 indirectly. */
static void test_classify_lost_cycle_one_definite(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t b[5];
    for (int i = 0; i < 5; i++)
        b[i] = lg_tb_block(tb, 32, LG_NONE, 0);
    for (int i = 0; i < 5; i++)
        lg_tb_ptr(tb, b[(i + 3) % 5], b[(i + 4) % 5]);
    struct lg_loaded l;
    lg_load(tb, "lost_cycle", &l);
    const struct lg_summary *s = &l.a->summary;
    assert_int_equal(s->cls[LG_DEFINITELY_LOST].blocks * 10 + s->cls[LG_INDIRECTLY_LOST].blocks, 14);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The definite member of a lost cycle is its lowest address (memcheck's
 * first clique leader). */
static void test_classify_lost_cycle_definite_is_lowest(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 32, LG_NONE, 0), b = lg_tb_block(tb, 32, LG_NONE, 0);
    lg_tb_ptr(tb, b, a);
    lg_tb_ptr(tb, a, b);
    struct lg_loaded l;
    lg_load(tb, "lowest", &l);
    assert_int_equal(cls(&l, a), LG_DEFINITELY_LOST);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A lost block at a lower address than the lost block pointing to it still
 * ends indirectly lost (a later clique leader absorbs an earlier one). */
static void test_classify_later_leader_absorbs_earlier(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t low = lg_tb_block(tb, 16, LG_NONE, 0), high = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_ptr(tb, high, low);
    struct lg_loaded l;
    lg_load(tb, "absorb", &l);
    assert_int_equal(cls(&l, low), LG_INDIRECTLY_LOST);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A lost block pointing to itself is definitely lost (one block). */
static void test_classify_lost_self_loop_definite(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_ptr(tb, a, a);
    struct lg_loaded l;
    lg_load(tb, "self", &l);
    assert_int_equal(cls(&l, a), LG_DEFINITELY_LOST);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* libc bookkeeping blocks are never lost, and neither is what they hold. */
static void test_classify_libc_blocks_never_lost(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t libc = lg_tb_block(tb, 1024, LG_NONE, LG_BLOCKF_LIBC);
    uint32_t held = lg_tb_block(tb, 64, LG_NONE, 0);
    lg_tb_ptr(tb, libc, held);
    struct lg_loaded l;
    lg_load(tb, "libc", &l);
    const struct lg_summary *s = &l.a->summary;
    assert_int_equal(s->cls[LG_DEFINITELY_LOST].blocks + s->cls[LG_INDIRECTLY_LOST].blocks +
                     s->cls[LG_POSSIBLY_LOST].blocks, 0);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Immortal objects (cached ints, interned strings) are never lost. */
static void test_classify_immortal_object_never_lost(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t o = lg_tb_object(tb, "int", 32, 1000000, LG_NONE);
    lg_tb_object_flags(tb, o, LG_OBJF_IMMORTAL);
    struct lg_loaded l;
    lg_load(tb, "immortal", &l);
    assert_int_equal(cls(&l, o), LG_STILL_REACHABLE);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The summary adds bytes per class. */
static void test_classify_summary_adds_bytes(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    lg_tb_block(tb, 100, LG_NONE, 0);
    lg_tb_block(tb, 28, LG_NONE, 0);
    uint32_t r = lg_tb_block(tb, 7, LG_NONE, 0);
    lg_tb_global(tb, r);
    struct lg_loaded l;
    lg_load(tb, "bytes", &l);
    assert_int_equal(l.a->summary.cls[LG_DEFINITELY_LOST].bytes, 128);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Objects are classified like any block: a lost object pair is 1 + 1. */
static void test_classify_object_cycle_counts_as_memcheck(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_object(tb, "A", 32, 1, LG_NONE), b = lg_tb_object(tb, "B", 32, 1, LG_NONE);
    lg_tb_ref(tb, a, b, "b");
    lg_tb_ref(tb, b, a, "a");
    struct lg_loaded l;
    lg_load(tb, "objcycle", &l);
    const struct lg_summary *s = &l.a->summary;
    assert_int_equal(s->cls[LG_DEFINITELY_LOST].blocks * 10 + s->cls[LG_INDIRECTLY_LOST].blocks, 11);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The shortest path from a root is kept for a still reachable block. */
static void test_classify_reach_path_is_shortest(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_block(tb, 16, LG_NONE, 0), b = lg_tb_block(tb, 16, LG_NONE, 0),
             c = lg_tb_block(tb, 16, LG_NONE, 0);
    lg_tb_global(tb, a);
    lg_tb_ptr(tb, a, b);
    lg_tb_ptr(tb, b, c);
    lg_tb_ptr(tb, a, c);
    struct lg_loaded l;
    lg_load(tb, "path", &l);
    uint32_t root, edges[8];
    assert_int_equal(lg_reach_path(l.a, c, &root, edges, 8), 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* An empty snapshot analyses to no records and an empty summary. */
static void test_classify_empty_snapshot_no_records(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    struct lg_loaded l;
    lg_load(tb, "empty", &l);
    assert_true(l.a->nrecords == 0 && l.a->summary.cls[LG_STILL_REACHABLE].blocks == 0);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_rooted_block_still_reachable),
        cmocka_unit_test(test_classify_start_chain_still_reachable),
        cmocka_unit_test(test_classify_interior_root_possibly_lost),
        cmocka_unit_test(test_classify_start_after_interior_possibly_lost),
        cmocka_unit_test(test_classify_start_chain_beats_interior),
        cmocka_unit_test(test_classify_unreferenced_definitely_lost),
        cmocka_unit_test(test_classify_child_of_lost_indirectly_lost),
        cmocka_unit_test(test_classify_lost_cycle_one_definite),
        cmocka_unit_test(test_classify_lost_cycle_definite_is_lowest),
        cmocka_unit_test(test_classify_later_leader_absorbs_earlier),
        cmocka_unit_test(test_classify_lost_self_loop_definite),
        cmocka_unit_test(test_classify_libc_blocks_never_lost),
        cmocka_unit_test(test_classify_immortal_object_never_lost),
        cmocka_unit_test(test_classify_summary_adds_bytes),
        cmocka_unit_test(test_classify_object_cycle_counts_as_memcheck),
        cmocka_unit_test(test_classify_reach_path_is_shortest),
        cmocka_unit_test(test_classify_empty_snapshot_no_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
