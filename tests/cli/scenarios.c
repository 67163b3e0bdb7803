/* scenarios.c - the named synthetic heaps of scenarios.h. */
#include "scenarios.h"

#include <string.h>

static void reachable(struct lg_tb *tb, uint32_t st)
{
    lg_tb_global(tb, lg_tb_block(tb, 32, st, 0));
}

static void leak(struct lg_tb *tb, const char *ta, const char *tb_name)
{
    uint32_t m = lg_tb_module(tb, "/bin/prog", 0x400000, 0x500000);
    (void)m;
    uint32_t s1 = lg_tb_stack1(tb, 0x401000), s2 = lg_tb_stack1(tb, 0x402000),
             s3 = lg_tb_stack1(tb, 0x403000), s4 = lg_tb_stack1(tb, 0x404000);
    uint32_t a = lg_tb_object(tb, ta, 32, 1, s1), b = lg_tb_object(tb, tb_name, 48, 1, s1);
    lg_tb_ref(tb, a, b, "b");
    lg_tb_ref(tb, b, a, "a");
    lg_tb_block(tb, 100, s2, 0);
    uint32_t o = lg_tb_object(tb, "Obj", 24, 2, s3);
    lg_tb_history(tb, o, LG_HIST_NEW, s3, 1);
    lg_tb_history(tb, o, LG_HIST_INCREF, s4, 2);
    reachable(tb, s2);
}

/* a plugin dlclose'd in epoch 1 and another loaded at its address: one
 * stack per epoch, with equal addresses, each leaking a block */
static void epochs(struct lg_tb *tb)
{
    lg_tb_module(tb, "/bin/prog", 0x400000, 0x500000);
    uint32_t old = lg_tb_module(tb, "/usr/lib/plugins/libplug_a.so", 0x7f0000000000, 0x7f0000010000);
    lg_tb_module(tb, "/usr/lib/plugins/libplug_b.so", 0x7f0000000000, 0x7f0000010000);
    lg_tb_module_unloaded(tb, old, 1);
    uint64_t pcs[] = {0x7f0000001000, 0x401000};
    uint32_t s_old = lg_tb_stack(tb, pcs, 2), s_new = lg_tb_stack(tb, pcs, 2);
    lg_tb_stack_epoch(tb, s_new, 1);
    lg_tb_block(tb, 100, s_old, 0);
    lg_tb_block(tb, 200, s_new, 0);
    reachable(tb, lg_tb_stack1(tb, 0x402000));
}

int lg_scenario_build(struct lg_tb *tb, const char *name)
{
    if (strcmp(name, "leak") == 0) {
        leak(tb, "A", "B");
    } else if (strcmp(name, "clean") == 0) {
        reachable(tb, lg_tb_stack1(tb, 0x401000));
    } else if (strcmp(name, "possible") == 0) {
        lg_tb_global_interior(tb, lg_tb_block(tb, 64, lg_tb_stack1(tb, 0x401000), 0));
    } else if (strcmp(name, "many") == 0) {
        for (int i = 0; i < 20; i++)
            lg_tb_block(tb, 10 + (uint64_t)i, lg_tb_stack1(tb, 0x401000 + 16 * (uint64_t)i), 0);
    } else if (strcmp(name, "epochs") == 0) {
        epochs(tb);
    } else if (strcmp(name, "weird") == 0) {
        lg_tb_arg(tb, "we\"ird\\arg\n\t\x01\xff\xc3(");
        leak(tb, "A\"quoted\"", "B\\back\x02");
    } else {
        return -1;
    }
    return 0;
}
