/* test_records.c - loss records (records.c): grouping by kind and
 * allocating stack, equal stacks merged, owned blocks kept out, sorting by
 * bytes, and the suppressed totals. One claim per test. */
#include "cli_test_util.h"

/* Lost blocks from one stack are one record. */
static void test_records_same_stack_one_record(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t st = lg_tb_stack1(tb, 0x401000);
    for (int i = 0; i < 5; i++)
        lg_tb_block(tb, 10, st, 0);
    struct lg_loaded l;
    lg_load(tb, "samestack", &l);
    assert_true(l.a->nrecords == 1 && l.a->records[0].self.blocks == 5 &&
                l.a->records[0].self.bytes == 50);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Two stack ids with the same frames are one stack. */
static void test_records_equal_stacks_merge(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint64_t pcs[] = {0x401000, 0x402000};
    uint32_t s1 = lg_tb_stack(tb, pcs, 2), s2 = lg_tb_stack(tb, pcs, 2);
    lg_tb_block(tb, 10, s1, 0);
    lg_tb_block(tb, 10, s2, 0);
    struct lg_loaded l;
    lg_load(tb, "equalstacks", &l);
    assert_int_equal(l.a->nrecords, 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Different stacks are different records. */
static void test_records_different_stacks_apart(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    lg_tb_block(tb, 10, lg_tb_stack1(tb, 0x401000), 0);
    lg_tb_block(tb, 10, lg_tb_stack1(tb, 0x402000), 0);
    struct lg_loaded l;
    lg_load(tb, "diffstacks", &l);
    assert_int_equal(l.a->nrecords, 2);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The same stack in two classes gives two records. */
static void test_records_kinds_apart(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t st = lg_tb_stack1(tb, 0x401000);
    uint32_t a = lg_tb_block(tb, 10, st, 0), b = lg_tb_block(tb, 10, st, 0);
    lg_tb_global(tb, a);
    (void)b;
    struct lg_loaded l;
    lg_load(tb, "kinds", &l);
    assert_true(lg_count_records(l.a, LG_LEAK_STILL_REACHABLE) == 1 &&
                lg_count_records(l.a, LG_LEAK_DEFINITELY_LOST) == 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Records are sorted by bytes, largest first. */
static void test_records_sorted_by_bytes(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    lg_tb_block(tb, 10, lg_tb_stack1(tb, 0x401000), 0);
    lg_tb_block(tb, 300, lg_tb_stack1(tb, 0x402000), 0);
    lg_tb_block(tb, 20, lg_tb_stack1(tb, 0x403000), 0);
    struct lg_loaded l;
    lg_load(tb, "sorted", &l);
    assert_true(l.a->records[0].self.bytes == 300 && l.a->records[1].self.bytes == 20 &&
                l.a->records[2].self.bytes == 10);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A record's type is the objects' type when all share it. */
static void test_records_type_when_shared(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t st = lg_tb_stack1(tb, 0x401000);
    uint32_t a = lg_tb_object(tb, "User", 32, 1, st), b = lg_tb_object(tb, "User", 32, 1, st);
    lg_tb_global(tb, a);
    lg_tb_global(tb, b);
    struct lg_loaded l;
    lg_load(tb, "type", &l);
    assert_string_equal(lg_snap_string(&l.t->snaps[0], l.a->records[0].type), "User");
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Mixed types give no type. */
static void test_records_no_type_when_mixed(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t st = lg_tb_stack1(tb, 0x401000);
    uint32_t a = lg_tb_object(tb, "User", 32, 1, st), b = lg_tb_object(tb, "Order", 32, 1, st);
    lg_tb_global(tb, a);
    lg_tb_global(tb, b);
    struct lg_loaded l;
    lg_load(tb, "mixed", &l);
    assert_int_equal(l.a->records[0].type, LG_NONE);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Blocks a head owns are not records of their own. */
static void test_records_owned_blocks_not_records(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t leak = lg_tb_object(tb, "Obj", 32, 2, lg_tb_stack1(tb, 0x401000));
    uint32_t plain = lg_tb_block(tb, 64, lg_tb_stack1(tb, 0x402000), 0);
    lg_tb_ptr(tb, leak, plain);
    struct lg_loaded l;
    lg_load(tb, "owned", &l);
    assert_true(l.a->nrecords == 1 && l.a->records[0].kind == LG_LEAK_REFERENCE_LEAK &&
                l.a->records[0].owned.bytes == 64);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Suppressing a record moves its blocks from their class to suppressed. */
static void test_records_suppressed_leave_summary(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    lg_tb_block(tb, 100, lg_tb_stack1(tb, 0x401000), 0);
    struct lg_loaded l;
    lg_load(tb, "suppressed", &l);
    l.a->records[0].suppressed = true;
    lg_analysis_update_suppressed(l.a);
    assert_true(l.a->summary.cls[LG_DEFINITELY_LOST].bytes == 0 &&
                l.a->summary.suppressed.bytes == 100 && !lg_gate_fails(l.a, LG_FAIL_REACHABLE));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Cycles from the same stack are one record counting them. */
static void test_records_cycles_grouped_by_stack(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t st = lg_tb_stack1(tb, 0x401000);
    for (int i = 0; i < 3; i++) {
        uint32_t a = lg_tb_object(tb, "A", 32, 1, st), b = lg_tb_object(tb, "B", 32, 1, st);
        lg_tb_ref(tb, a, b, "b");
        lg_tb_ref(tb, b, a, "a");
    }
    struct lg_loaded l;
    lg_load(tb, "cyclesgrouped", &l);
    assert_true(l.a->nrecords == 1 && l.a->records[0].count == 3 &&
                l.a->records[0].self.blocks == 6);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A definitely lost record holds its clique's indirect bytes, as memcheck's
 * "(direct, indirect)" numbers: here an earlier leader and its child join the
 * clique of the block that points to them. */
static void test_records_definite_holds_clique_bytes(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t low = lg_tb_block(tb, 10, lg_tb_stack1(tb, 0x401000), 0);
    uint32_t child = lg_tb_block(tb, 20, lg_tb_stack1(tb, 0x402000), 0);
    uint32_t high = lg_tb_block(tb, 40, lg_tb_stack1(tb, 0x403000), 0);
    lg_tb_ptr(tb, low, child);
    lg_tb_ptr(tb, high, low);
    struct lg_loaded l;
    lg_load(tb, "clique", &l);
    const struct lg_record *r = lg_find_record(l.a, LG_LEAK_DEFINITELY_LOST, 0);
    assert_true(r && r->self.bytes == 40 && r->owned.bytes == 30 && r->owned.blocks == 2);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_same_stack_one_record),
        cmocka_unit_test(test_records_equal_stacks_merge),
        cmocka_unit_test(test_records_different_stacks_apart),
        cmocka_unit_test(test_records_kinds_apart),
        cmocka_unit_test(test_records_sorted_by_bytes),
        cmocka_unit_test(test_records_type_when_shared),
        cmocka_unit_test(test_records_no_type_when_mixed),
        cmocka_unit_test(test_records_owned_blocks_not_records),
        cmocka_unit_test(test_records_suppressed_leave_summary),
        cmocka_unit_test(test_records_cycles_grouped_by_stack),
        cmocka_unit_test(test_records_definite_holds_clique_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
