/* test_refcount.c - the refcount verdicts (refcycles.c, increfs.c,
 * records.c) on hand-built object graphs: garbage cycles and their closing
 * paths, reference leaks, ownership, nesting, and the pairing of increfs
 * with decrefs. One claim per test. */
#include "cli_test_util.h"
#include "render.h"

/* a <-> b, each held only by the other: refcnt 1 each, no roots */
static void pair_cycle(struct lg_tb *tb, uint32_t *a, uint32_t *b)
{
    *a = lg_tb_object(tb, "A", 32, 1, LG_NONE);
    *b = lg_tb_object(tb, "B", 48, 1, LG_NONE);
    lg_tb_ref(tb, *a, *b, "b");
    lg_tb_ref(tb, *b, *a, "a");
}

static const struct lg_summary *sum(const struct lg_loaded *l)
{
    return &l->a->summary;
}

/* Two objects that only hold each other are one garbage cycle. */
static void test_refcount_pair_is_garbage_cycle(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a, b;
    pair_cycle(tb, &a, &b);
    struct lg_loaded l;
    lg_load(tb, "pair", &l);
    assert_int_equal(sum(&l)->garbage_cycles * 10 + sum(&l)->cycle_objects, 12);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The closing path names the fields: A.b -> B, B.a -> A. */
static void test_refcount_cycle_path_names_fields(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a, b;
    pair_cycle(tb, &a, &b);
    struct lg_loaded l;
    lg_load(tb, "path", &l);
    char text[256];
    lg_cycle_text(l.a, 0, text, sizeof(text));
    assert_string_equal(text, "A.b -> B, B.a -> A");
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A garbage cycle is one record of kind garbage_cycle, not a lost record. */
static void test_refcount_cycle_is_one_record(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a, b;
    pair_cycle(tb, &a, &b);
    struct lg_loaded l;
    lg_load(tb, "onerec", &l);
    assert_int_equal(l.a->nrecords * 10 + lg_count_records(l.a, LG_LEAK_GARBAGE_CYCLE), 11);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* One object that owns itself is a garbage cycle. */
static void test_refcount_self_loop_is_cycle(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_object(tb, "Node", 32, 1, LG_NONE);
    lg_tb_ref(tb, a, a, "self");
    struct lg_loaded l;
    lg_load(tb, "selfloop", &l);
    assert_int_equal(sum(&l)->garbage_cycles * 10 + sum(&l)->cycle_objects, 11);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A cycle a global holds (and counts in refcnt) is not garbage. */
static void test_refcount_rooted_cycle_not_garbage(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_object(tb, "A", 32, 2, LG_NONE), b = lg_tb_object(tb, "B", 32, 1, LG_NONE);
    lg_tb_ref(tb, a, b, "b");
    lg_tb_ref(tb, b, a, "a");
    lg_tb_global(tb, a);
    struct lg_loaded l;
    lg_load(tb, "rooted", &l);
    assert_int_equal(sum(&l)->garbage_cycles + sum(&l)->reference_leaks, 0);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A cycle reached from a root only through a plain malloc'd block is not
 * garbage either. */
static void test_refcount_cycle_rooted_through_plain_block(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t holder = lg_tb_block(tb, 64, LG_NONE, 0);
    uint32_t a = lg_tb_object(tb, "A", 32, 2, LG_NONE), b = lg_tb_object(tb, "B", 32, 1, LG_NONE);
    lg_tb_ref(tb, a, b, "b");
    lg_tb_ref(tb, b, a, "a");
    lg_tb_global(tb, holder);
    lg_tb_ptr(tb, holder, a);
    struct lg_loaded l;
    lg_load(tb, "plainroot", &l);
    assert_int_equal(sum(&l)->garbage_cycles + sum(&l)->reference_leaks, 0);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* An object with a reference nobody accounts for and no root is a
 * reference leak. */
static void test_refcount_unrooted_external_is_reference_leak(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    lg_tb_object(tb, "Obj", 32, 2, LG_NONE);
    struct lg_loaded l;
    lg_load(tb, "refleak", &l);
    assert_int_equal(sum(&l)->reference_leaks, 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* external = refcnt minus the references from objects. */
static void test_refcount_external_subtracts_object_refs(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t h = lg_tb_object(tb, "Holder", 32, 1, LG_NONE);
    uint32_t o = lg_tb_object(tb, "Obj", 32, 3, LG_NONE);
    lg_tb_ref(tb, h, o, "x");
    lg_tb_ref(tb, h, o, "y");
    struct lg_loaded l;
    lg_load(tb, "external", &l);
    assert_int_equal(l.a->external[lg_tb_object_index(tb, o)], 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A cycle reachable only from a reference leak is owned by the leak: it is
 * not garbage (the leak keeps it alive) and not a separate record. */
static void test_refcount_cycle_under_reference_leak_is_owned(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t r = lg_tb_object(tb, "Leaked", 16, 1, LG_NONE);
    uint32_t a = lg_tb_object(tb, "A", 32, 2, LG_NONE), b = lg_tb_object(tb, "B", 32, 1, LG_NONE);
    lg_tb_ref(tb, r, a, "a");
    lg_tb_ref(tb, a, b, "b");
    lg_tb_ref(tb, b, a, "a");
    struct lg_loaded l;
    lg_load(tb, "undereleak", &l);
    const struct lg_record *rec = lg_find_record(l.a, LG_LEAK_REFERENCE_LEAK, 0);
    assert_non_null(rec);
    assert_int_equal(l.a->nrecords * 1000 + sum(&l)->garbage_cycles * 100 + rec->owned.blocks, 1002);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A long tail a cycle owns is reported under the cycle (owned bytes), not
 * as lost records. */
static void test_refcount_long_tail_owned_by_cycle(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a, b;
    pair_cycle(tb, &a, &b);
    uint32_t prev = a;
    for (int i = 0; i < 50; i++) {
        uint32_t t = lg_tb_object(tb, "Tail", 10, 1, LG_NONE);
        lg_tb_ref(tb, prev, t, "next");
        prev = t;
    }
    uint32_t plain = lg_tb_block(tb, 100, LG_NONE, 0);
    lg_tb_ptr(tb, prev, plain);
    struct lg_loaded l;
    lg_load(tb, "tail", &l);
    const struct lg_record *rec = lg_find_record(l.a, LG_LEAK_GARBAGE_CYCLE, 0);
    assert_non_null(rec);
    assert_int_equal(l.a->nrecords * 100000 + rec->owned.bytes, 100000 + 50 * 10 + 100);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Two cycles sharing a member are one strongly connected component. */
static void test_refcount_cycles_sharing_member_one_component(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a = lg_tb_object(tb, "A", 32, 1, LG_NONE), b = lg_tb_object(tb, "B", 32, 2, LG_NONE),
             c = lg_tb_object(tb, "C", 32, 1, LG_NONE);
    lg_tb_ref(tb, a, b, "b");
    lg_tb_ref(tb, b, a, "a");
    lg_tb_ref(tb, b, c, "c");
    lg_tb_ref(tb, c, b, "b");
    struct lg_loaded l;
    lg_load(tb, "sharing", &l);
    assert_int_equal(sum(&l)->garbage_cycles * 10 + sum(&l)->cycle_objects, 13);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The closing path of a component is one simple cycle back to its entry. */
static void test_refcount_closing_path_returns_to_entry(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t o[6];
    for (int i = 0; i < 6; i++)
        o[i] = lg_tb_object(tb, "N", 16, 1, LG_NONE);
    for (int i = 0; i < 6; i++)
        lg_tb_ref(tb, o[i], o[(i + 1) % 6], "next");
    lg_tb_ref(tb, o[3], o[3], "me");          /* a chord that is not on the path */
    struct lg_loaded l;
    lg_load(tb, "closing", &l);
    const struct lg_cycle *cy = &l.a->cycles[0];
    const struct lg_edge *first = &l.t->snaps[0].edges[l.a->cycle_edges[cy->first_path]];
    const struct lg_edge *last = &l.t->snaps[0].edges[l.a->cycle_edges[cy->first_path + cy->npath - 1]];
    assert_true(cy->npath == 6 && first->from == last->to);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A cycle that another garbage cycle owns is listed under it. */
static void test_refcount_nested_cycle_listed_under_owner(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a, b;
    pair_cycle(tb, &a, &b);
    uint32_t c = lg_tb_object(tb, "C", 32, 2, LG_NONE), d = lg_tb_object(tb, "D", 32, 1, LG_NONE);
    lg_tb_ref(tb, a, c, "c");
    lg_tb_ref(tb, c, d, "d");
    lg_tb_ref(tb, d, c, "c");
    struct lg_loaded l;
    lg_load(tb, "nested", &l);
    uint32_t top = l.a->cycles[0].owner == LG_NONE ? 0 : 1;
    assert_true(l.a->ncycles == 2 && l.a->cycles[1 - top].owner == top &&
                lg_count_records(l.a, LG_LEAK_GARBAGE_CYCLE) == 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Garbage cycles still count in memcheck's summary: 1 definite + 1 indirect. */
static void test_refcount_summary_follows_memcheck(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a, b;
    pair_cycle(tb, &a, &b);
    lg_tb_ptr(tb, a, b);
    lg_tb_ptr(tb, b, a);
    struct lg_loaded l;
    lg_load(tb, "summary", &l);
    assert_int_equal(sum(&l)->cls[LG_DEFINITELY_LOST].blocks * 10 +
                     sum(&l)->cls[LG_INDIRECTLY_LOST].blocks, 11);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* An object kept by a rooted plain block (a reference the refcount counts
 * but no traverse reports) is neither garbage nor a leak. */
static void test_refcount_object_held_by_rooted_block_is_fine(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t s = lg_tb_block(tb, 64, LG_NONE, 0);
    uint32_t o = lg_tb_object(tb, "Obj", 32, 1, LG_NONE);
    lg_tb_global(tb, s);
    lg_tb_ptr(tb, s, o);
    struct lg_loaded l;
    lg_load(tb, "heldbyblock", &l);
    assert_int_equal(sum(&l)->garbage_cycles + sum(&l)->reference_leaks + l.a->nrecords - 1, 0);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The gate fails on a garbage cycle at the default strictness. */
static void test_refcount_gate_fails_on_cycle(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t a, b;
    pair_cycle(tb, &a, &b);
    struct lg_loaded l;
    lg_load(tb, "gate", &l);
    assert_true(lg_gate_fails(l.a, LG_FAIL_DEFINITE) && !lg_gate_fails(l.a, LG_FAIL_NONE));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Still reachable blocks fail only --fail-on reachable. */
static void test_refcount_gate_reachable_only_when_asked(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    lg_tb_global(tb, lg_tb_block(tb, 16, LG_NONE, 0));
    struct lg_loaded l;
    lg_load(tb, "gate2", &l);
    assert_true(!lg_gate_fails(l.a, LG_FAIL_POSSIBLE) && lg_gate_fails(l.a, LG_FAIL_REACHABLE));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A ring of 200000 objects is one cycle: the searches are iterative, so
 * depth costs no stack. */
static void test_refcount_huge_ring_no_recursion(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    enum { N = 200000 };
    uint32_t first = lg_tb_object(tb, "R", 16, 1, LG_NONE), prev = first;
    for (int i = 1; i < N; i++) {
        uint32_t o = lg_tb_object(tb, "R", 16, 1, LG_NONE);
        lg_tb_ref(tb, prev, o, "next");
        lg_tb_ptr(tb, prev, o);
        prev = o;
    }
    lg_tb_ref(tb, prev, first, "next");
    lg_tb_ptr(tb, prev, first);
    struct lg_loaded l;
    lg_load(tb, "ring", &l);
    assert_true(sum(&l)->garbage_cycles == 1 && sum(&l)->cycle_objects == N &&
                l.a->cycles[0].npath == N && sum(&l)->cls[LG_INDIRECTLY_LOST].blocks == N - 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* ---- increfs ------------------------------------------------------------ */

/* one leaked object with history events at the given sites */
static void history_leak(struct lg_tb *tb, const uint32_t *events, const uint64_t *sites, int n,
                         int64_t refcnt, uint32_t *obj)
{
    *obj = lg_tb_object(tb, "Obj", 32, refcnt, LG_NONE);
    int64_t rc = 0;
    for (int i = 0; i < n; i++) {
        rc += events[i] == LG_HIST_DECREF ? -1 : 1;
        lg_tb_history(tb, *obj, events[i], lg_tb_stack1(tb, sites[i]), rc);
    }
}

static bool shown(const struct lg_loaded *l, uint64_t site)
{
    const struct lg_refleak *lk = &l->a->refleaks[0];
    for (uint32_t i = 0; i < lk->nincref; i++) {
        const struct lg_history *h = &l->t->snaps[0].history[l->a->increfs[lk->first_incref + i]];
        if (l->t->snaps[0].stacks[h->stack].pcs[0] == site)
            return true;
    }
    return false;
}

/* An incref and a decref from the same call site are balanced: not shown. */
static void test_increfs_balanced_pair_not_shown(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t ev[] = {LG_HIST_NEW, LG_HIST_INCREF, LG_HIST_INCREF, LG_HIST_DECREF};
    uint64_t site[] = {0x1000, 0x2000, 0x3000, 0x3000};
    uint32_t o;
    history_leak(tb, ev, site, 4, 2, &o);
    struct lg_loaded l;
    lg_load(tb, "balanced", &l);
    assert_false(shown(&l, 0x3000));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* The incref that was never given back is shown. */
static void test_increfs_leaked_incref_shown(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t ev[] = {LG_HIST_NEW, LG_HIST_INCREF, LG_HIST_INCREF, LG_HIST_DECREF};
    uint64_t site[] = {0x1000, 0x2000, 0x3000, 0x3000};
    uint32_t o;
    history_leak(tb, ev, site, 4, 2, &o);
    struct lg_loaded l;
    lg_load(tb, "leakedinc", &l);
    assert_true(shown(&l, 0x2000));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* A decref from a call site with no incref of its own cannot be paired for
 * sure: the leak is marked ambiguous and every open incref is shown, so the
 * leaked one (here the later, 0x2000) is among them. */
static void test_increfs_cross_site_decref_shows_all(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    uint32_t ev[] = {LG_HIST_NEW, LG_HIST_INCREF, LG_HIST_DECREF};
    uint64_t site[] = {0x1000, 0x2000, 0x9000};
    uint32_t o;
    history_leak(tb, ev, site, 3, 1, &o);
    struct lg_loaded l;
    lg_load(tb, "crosssite", &l);
    assert_true(l.a->refleaks[0].ambiguous && shown(&l, 0x1000) && shown(&l, 0x2000));
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

/* Frames inside librefcount are skipped: the call site is the first frame
 * outside it, so an incref and a decref made through the library from one
 * place pair up. */
static void test_increfs_runtime_frames_skipped(void **state)
{
    (void)state;
    struct lg_tb *tb = lg_tb_new(1, "/bin/p");
    lg_tb_module(tb, "/usr/lib/librefcount.so", 0x7000000, 0x7100000);
    uint32_t o = lg_tb_object(tb, "Obj", 32, 1, LG_NONE);
    uint64_t s_new[] = {0x7000100, 0x1000}, s_inc[] = {0x7000200, 0x5000},
             s_dec[] = {0x7000300, 0x5000};
    lg_tb_history(tb, o, LG_HIST_NEW, lg_tb_stack(tb, s_new, 2), 1);
    lg_tb_history(tb, o, LG_HIST_INCREF, lg_tb_stack(tb, s_inc, 2), 2);
    lg_tb_history(tb, o, LG_HIST_DECREF, lg_tb_stack(tb, s_dec, 2), 1);
    struct lg_loaded l;
    lg_load(tb, "rtskip", &l);
    assert_true(!l.a->refleaks[0].ambiguous && l.a->refleaks[0].nincref == 1);
    lg_loaded_free(&l);
    lg_tb_free(tb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcount_pair_is_garbage_cycle),
        cmocka_unit_test(test_refcount_cycle_path_names_fields),
        cmocka_unit_test(test_refcount_cycle_is_one_record),
        cmocka_unit_test(test_refcount_self_loop_is_cycle),
        cmocka_unit_test(test_refcount_rooted_cycle_not_garbage),
        cmocka_unit_test(test_refcount_cycle_rooted_through_plain_block),
        cmocka_unit_test(test_refcount_unrooted_external_is_reference_leak),
        cmocka_unit_test(test_refcount_external_subtracts_object_refs),
        cmocka_unit_test(test_refcount_cycle_under_reference_leak_is_owned),
        cmocka_unit_test(test_refcount_long_tail_owned_by_cycle),
        cmocka_unit_test(test_refcount_cycles_sharing_member_one_component),
        cmocka_unit_test(test_refcount_closing_path_returns_to_entry),
        cmocka_unit_test(test_refcount_nested_cycle_listed_under_owner),
        cmocka_unit_test(test_refcount_summary_follows_memcheck),
        cmocka_unit_test(test_refcount_object_held_by_rooted_block_is_fine),
        cmocka_unit_test(test_refcount_gate_fails_on_cycle),
        cmocka_unit_test(test_refcount_gate_reachable_only_when_asked),
        cmocka_unit_test(test_refcount_huge_ring_no_recursion),
        cmocka_unit_test(test_increfs_balanced_pair_not_shown),
        cmocka_unit_test(test_increfs_leaked_incref_shown),
        cmocka_unit_test(test_increfs_cross_site_decref_shows_all),
        cmocka_unit_test(test_increfs_runtime_frames_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
