/* test_epochs.c - module epochs (docs/trace-format.md, "Modules loaded in
 * turn at one address"): which module lg_module_of() gives a frame, how the
 * symbolizer follows it, and when stacks with equal addresses are one stack
 * for the loss records. One claim per test. */
#include "cli_test_util.h"

#include "modules_lookup.h"
#include "symbolize.h"

#define PLUG_LO 0x7f0000000000ull
#define PLUG_HI 0x7f0000010000ull
#define PLUG_PC 0x7f0000001000ull

/* /bin/prog, then liba.so unloaded in epoch 1, then `second` loaded at its
 * address; stack 0 recorded in epoch 0 and stack 1 in epoch 1, both with
 * the frames {PLUG_PC, 0x401000}, each leaking one block. */
static struct lg_tb *two_plugins(const char *second, bool with_epochs)
{
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    lg_tb_module(tb, "/bin/prog", 0x400000, 0x500000);
    uint32_t a = lg_tb_module(tb, "/lib/liba.so", PLUG_LO, PLUG_HI);
    lg_tb_module(tb, second, PLUG_LO, PLUG_HI);
    uint64_t pcs[] = {PLUG_PC, 0x401000};
    uint32_t s0 = lg_tb_stack(tb, pcs, 2), s1 = lg_tb_stack(tb, pcs, 2);
    if (with_epochs) {
        lg_tb_module_unloaded(tb, a, 1);
        lg_tb_stack_epoch(tb, s1, 1);
    }
    lg_tb_block(tb, 10, s0, 0);
    lg_tb_block(tb, 20, s1, 0);
    return tb;
}

static const struct lg_snap *snap_of(const struct lg_loaded *l)
{
    return &l->t->snaps[l->t->nsnaps - 1];
}

/* A stack recorded before the unload resolves in the retired module. */
static void test_epochs_old_stack_in_retired_module(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_old", &l);
    assert_int_equal(lg_module_of(snap_of(&l), 0, PLUG_PC), 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A stack recorded after the unload resolves in the loaded module. */
static void test_epochs_new_stack_in_loaded_module(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_new", &l);
    assert_int_equal(lg_module_of(snap_of(&l), 1, PLUG_PC), 2);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Of two modules retired after a stack's epoch, the first one unloaded wins. */
static void test_epochs_earliest_unload_wins(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    uint32_t late = lg_tb_module(tb, "/lib/late.so", PLUG_LO, PLUG_HI);
    uint32_t early = lg_tb_module(tb, "/lib/early.so", PLUG_LO, PLUG_HI);
    lg_tb_module_unloaded(tb, late, 3);
    lg_tb_module_unloaded(tb, early, 2);
    uint32_t st = lg_tb_stack1(tb, PLUG_PC);
    lg_tb_stack_epoch(tb, st, 1);
    lg_tb_block(tb, 10, st, 0);
    struct lg_loaded l;
    lg_load(tb, "ep_earliest", &l);
    assert_int_equal(lg_module_of(snap_of(&l), st, PLUG_PC), early);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* An address outside every module has no module. */
static void test_epochs_uncovered_address_none(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_none", &l);
    assert_int_equal(lg_module_of(snap_of(&l), 0, 0x1000), LG_NONE);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Without a stack, an address in overlapping modules resolves in the
 * loaded one. */
static void test_epochs_no_stack_loaded_module(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_nostack", &l);
    assert_int_equal(lg_module_of(snap_of(&l), LG_NONE, PLUG_PC), 2);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Without EPOCHS, the first covering module is the frame's, whatever the stack. */
static void test_epochs_absent_first_module(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", false);
    struct lg_loaded l;
    lg_load(tb, "ep_absent", &l);
    assert_int_equal(lg_module_of(snap_of(&l), 1, PLUG_PC), 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The symbolizer names each stack's own module for one address (its cache
 * keys on the module, not the address alone). */
static void test_epochs_symbolize_in_names_each_module(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_sym", &l);
    struct lg_symbolizer *sym = lg_symbolizer_new(snap_of(&l));
    assert_non_null(sym);
    struct lg_frame f0[4], f1[4];
    assert_true(lg_symbolize_in(sym, 0, PLUG_PC, f0, 4) >= 1);
    assert_true(lg_symbolize_in(sym, 1, PLUG_PC, f1, 4) >= 1);
    assert_true(f0[0].module != NULL && strcmp(f0[0].module, "liba.so") == 0 &&
                f1[0].module != NULL && strcmp(f1[0].module, "libb.so") == 0);
    lg_symbolizer_free(sym);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* EPOCHS with a module unloaded makes frames' modules depend on stacks. */
static void test_epochs_unloaded_module_detected(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_has", &l);
    assert_true(lg_snap_has_unloaded(snap_of(&l)));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* EPOCHS with every module loaded (what the shim writes for most programs)
 * does not: the symbolizer then skips the module scan on a cache hit. */
static void test_epochs_all_loaded_no_unloaded_module(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/prog");
    lg_tb_module(tb, "/bin/prog", 0x400000, 0x500000);
    uint32_t s0 = lg_tb_stack1(tb, 0x401000);
    lg_tb_stack_epoch(tb, s0, 0);              /* EPOCHS, nothing unloaded */
    lg_tb_block(tb, 10, s0, 0);
    struct lg_loaded l;
    lg_load(tb, "ep_none", &l);
    assert_true(snap_of(&l)->module_unload != NULL && !lg_snap_has_unloaded(snap_of(&l)));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* With EPOCHS and nothing unloaded, one address symbolizes to its module
 * whatever the stack, from the cache the second time. */
static void test_epochs_all_loaded_symbolize_same_module(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", false);
    lg_tb_stack_epoch(tb, 1, 1);               /* EPOCHS, nothing unloaded */
    struct lg_loaded l;
    lg_load(tb, "ep_symall", &l);
    struct lg_symbolizer *sym = lg_symbolizer_new(snap_of(&l));
    assert_non_null(sym);
    struct lg_frame f0[4], f1[4];
    assert_true(lg_symbolize_in(sym, 0, PLUG_PC, f0, 4) >= 1);
    assert_true(lg_symbolize_in(sym, 1, PLUG_PC, f1, 4) >= 1);
    assert_true(f0[0].module != NULL && strcmp(f0[0].module, "liba.so") == 0 &&
                f1[0].module != NULL && strcmp(f1[0].module, "liba.so") == 0);
    lg_symbolizer_free(sym);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Equal frames in two different modules are two loss records. */
static void test_epochs_equal_frames_other_file_two_records(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/libb.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_two", &l);
    assert_int_equal(lg_count_records(l.a, LG_LEAK_DEFINITELY_LOST), 2);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Equal frames in the same file reloaded at the same base are one record. */
static void test_epochs_equal_frames_same_file_one_record(void **state)
{
    (void)state;
    struct lg_tb *tb = two_plugins("/lib/liba.so", true);
    struct lg_loaded l;
    lg_load(tb, "ep_one", &l);
    const struct lg_record *r = lg_find_record(l.a, LG_LEAK_DEFINITELY_LOST, 0);
    assert_true(lg_count_records(l.a, LG_LEAK_DEFINITELY_LOST) == 1 && r != NULL &&
                r->self.blocks == 2);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epochs_old_stack_in_retired_module),
        cmocka_unit_test(test_epochs_new_stack_in_loaded_module),
        cmocka_unit_test(test_epochs_earliest_unload_wins),
        cmocka_unit_test(test_epochs_uncovered_address_none),
        cmocka_unit_test(test_epochs_no_stack_loaded_module),
        cmocka_unit_test(test_epochs_absent_first_module),
        cmocka_unit_test(test_epochs_symbolize_in_names_each_module),
        cmocka_unit_test(test_epochs_unloaded_module_detected),
        cmocka_unit_test(test_epochs_all_loaded_no_unloaded_module),
        cmocka_unit_test(test_epochs_all_loaded_symbolize_same_module),
        cmocka_unit_test(test_epochs_equal_frames_other_file_two_records),
        cmocka_unit_test(test_epochs_equal_frames_same_file_one_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
