/* test_gc.c - the cycle collector: what a collection frees and keeps,
 * generations and promotion, counts and thresholds, automatic collection,
 * enable/disable, foreach, weak references and resurrection during a
 * collection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "rt_node.h"

static int setup(void **state)
{
    rc_gc_collect(-1);                  /* start from a clean heap, counts zero */
    rc_gc_set_threshold(700, 10, 10);
    rc_gc_enable();
    node_finalized = 0;
    node_finalize_hook = NULL;
    return 0;
}

/* a garbage pair: each holds the other, nobody else holds either */
static void drop_pair_cycle(void)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
}

static void test_default_thresholds_are_700_10_10(void **state)
{
    long t[3];
    rc_gc_get_threshold(t);
    assert_true(t[0] == 700 && t[1] == 10 && t[2] == 10);
}

static void test_set_threshold_is_read_back(void **state)
{
    long t[3];
    rc_gc_set_threshold(1000, 20, 30);
    rc_gc_get_threshold(t);
    assert_true(t[0] == 1000 && t[1] == 20 && t[2] == 30);
}

static void test_collector_is_enabled_by_default(void **state)
{
    assert_true(rc_gc_isenabled());
}

static void test_disable_turns_collector_off(void **state)
{
    rc_gc_disable();
    assert_false(rc_gc_isenabled());
    rc_gc_enable();
}

static void test_collect_frees_unreferenced_pair(void **state)
{
    drop_pair_cycle();
    assert_int_equal(rc_gc_collect(-1), 2);
}

static void test_collect_finalizes_pair_members(void **state)
{
    drop_pair_cycle();
    rc_gc_collect(-1);
    assert_int_equal(node_finalized, 2);
}

static void test_collect_untracks_freed_pair(void **state)
{
    size_t before = tracked_count();
    drop_pair_cycle();
    rc_gc_collect(-1);
    assert_int_equal(tracked_count(), before);
}

static void test_collect_frees_self_cycle(void **state)
{
    node *n = node_new();
    rc_set(&n->a, &n->ob);
    rc_decref(&n->ob);
    assert_int_equal(rc_gc_collect(-1), 1);
}

static void test_collect_keeps_externally_held_cycle(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_decref(&b->ob);                  /* a still held here */
    assert_int_equal(rc_gc_collect(-1), 0);
    rc_set(&a->a, NULL);                /* break it by hand */
    rc_decref(&a->ob);
}

static void test_collect_keeps_what_a_live_object_reaches(void **state)
{
    node *root = node_new(), *a, *b;
    node_pair(&a, &b);
    rc_set(&root->b, &a->ob);           /* root -> a <-> b */
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    rc_gc_collect(-1);
    assert_int_equal(node_finalized, 0);
    rc_decref(&root->ob);
    rc_gc_collect(-1);
}

static void test_collect_frees_what_garbage_owns(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    node *leaf = node_new();
    rc_set(&a->b, &leaf->ob);           /* a <-> b, a -> leaf */
    rc_decref(&leaf->ob);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    assert_int_equal(rc_gc_collect(-1), 3);
}

static void test_collect_frees_list_cycle(void **state)
{
    rc_object *d = rc_list_new(), *e = rc_list_new();
    rc_list_append(e, d);
    rc_list_append(d, e);
    rc_decref(d);
    rc_decref(e);
    assert_int_equal(rc_gc_collect(-1), 2);
}

static void test_collect_bad_generation_fails_einval(void **state)
{
    errno = 0;
    assert_int_equal(rc_gc_collect(3), 0);
    assert_int_equal(errno, EINVAL);
}

static void test_survivor_of_gen0_is_promoted_out_of_gen0(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_gc_collect(0);                   /* both survive: promoted to generation 1 */
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    assert_int_equal(rc_gc_collect(0), 0);   /* generation 0 no longer holds them */
    rc_gc_collect(1);
}

static void test_collect_gen1_frees_promoted_garbage(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_gc_collect(0);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    assert_int_equal(rc_gc_collect(1), 2);
}

static void test_survivor_of_gen1_is_promoted_to_gen2(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_gc_collect(1);                   /* generation 2 now */
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    assert_int_equal(rc_gc_collect(1), 0);
    rc_gc_collect(2);
}

static void test_collect_gen0_scans_young_referenced_from_old(void **state)
{
    node *old = node_new();
    rc_gc_collect(1);                   /* old is in generation 2 */
    node *young = node_new();
    rc_set(&old->a, &young->ob);        /* only old holds young */
    rc_decref(&young->ob);
    rc_gc_collect(0);
    assert_int_equal(node_finalized, 0);
    rc_decref(&old->ob);
}

static void test_tracked_allocation_raises_count0(void **state)
{
    long c[3];
    node *n = node_new();
    rc_gc_get_count(c);
    assert_int_equal(c[0], 1);
    rc_decref(&n->ob);
}

static void test_tracked_deallocation_lowers_count0(void **state)
{
    long c[3];
    node *n = node_new(), *m = node_new();
    rc_decref(&m->ob);
    rc_gc_get_count(c);
    assert_int_equal(c[0], 1);
    rc_decref(&n->ob);
}

static void test_untracked_allocation_leaves_count0(void **state)
{
    long c[3];
    rc_object *s = rc_str_new("not tracked");
    rc_gc_get_count(c);
    assert_int_equal(c[0], 0);
    rc_decref(s);
}

static void test_gen0_collection_resets_count0_and_raises_count1(void **state)
{
    long c[3];
    node *n = node_new();
    rc_gc_collect(0);
    rc_gc_get_count(c);
    assert_true(c[0] == 0 && c[1] == 1 && c[2] == 0);
    rc_decref(&n->ob);
}

static void test_gen1_collection_resets_count1_and_raises_count2(void **state)
{
    long c[3];
    rc_gc_collect(0);
    rc_gc_collect(1);
    rc_gc_get_count(c);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 1);
}

static void test_automatic_collection_runs_past_threshold0(void **state)
{
    rc_gc_set_threshold(10, 10, 10);
    for (int i = 0; i < 6; i++)
        drop_pair_cycle();              /* 12 allocations: the 11th collects */
    assert_int_equal(node_finalized, 10);
}

static void test_automatic_collection_waits_for_threshold0(void **state)
{
    rc_gc_set_threshold(10, 10, 10);
    for (int i = 0; i < 5; i++)
        drop_pair_cycle();              /* 10 allocations: not past 10 */
    assert_int_equal(node_finalized, 0);
}

static void test_disabled_collector_never_collects_automatically(void **state)
{
    rc_gc_set_threshold(10, 10, 10);
    rc_gc_disable();
    for (int i = 0; i < 100; i++)
        drop_pair_cycle();
    rc_gc_enable();
    assert_int_equal(node_finalized, 0);
}

static void test_threshold0_zero_turns_automatic_collection_off(void **state)
{
    rc_gc_set_threshold(0, 10, 10);
    for (int i = 0; i < 1000; i++)
        drop_pair_cycle();
    assert_int_equal(node_finalized, 0);
}

/* count[1] counts generation-0 collections; the one after threshold[1] of
 * them collects generation 1, which resets count[1] and raises count[2]. */
static void test_gen1_runs_after_threshold1_gen0_collections(void **state)
{
    long c[3];
    rc_gc_set_threshold(2, 3, 10);
    node *keep[64];
    int k = 0;
    /* each automatic collection needs 3 tracked allocations past the last */
    for (int i = 0; i < 4 * 3; i++)
        keep[k++] = node_new();         /* 4 automatic collections: 0, 0, 0, then 1 */
    rc_gc_get_count(c);
    for (int i = 0; i < k; i++)
        rc_decref(&keep[i]->ob);
    assert_true(c[1] == 0 && c[2] == 1);
}

static void test_gen1_waits_for_threshold1_gen0_collections(void **state)
{
    long c[3];
    rc_gc_set_threshold(2, 3, 10);
    node *keep[64];
    int k = 0;
    for (int i = 0; i < 3 * 3; i++)
        keep[k++] = node_new();         /* 3 automatic collections, all of 0 */
    rc_gc_get_count(c);
    for (int i = 0; i < k; i++)
        rc_decref(&keep[i]->ob);
    assert_true(c[1] == 3 && c[2] == 0);
}

static void test_gen2_runs_after_threshold2_gen1_collections(void **state)
{
    long c[3];
    rc_gc_set_threshold(1, 1, 2);
    /* a collection every 2 allocations: of 0, 1, 0, 1, then 2 */
    node *keep[64];
    int k = 0;
    for (int i = 0; i < 5 * 2; i++)
        keep[k++] = node_new();
    rc_gc_get_count(c);
    for (int i = 0; i < k; i++)
        rc_decref(&keep[i]->ob);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 0);
}

static int count_fn(rc_object *o, void *arg)
{
    (*(size_t *)arg)++;
    return 0;
}

static void test_foreach_null_counts_tracked_objects(void **state)
{
    size_t n = 0;
    node *a = node_new(), *b = node_new();
    rc_gc_collect(0);                   /* spread over generations */
    node *c = node_new();
    rc_gc_foreach(count_fn, &n);
    assert_int_equal(rc_gc_foreach(NULL, NULL), n);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    rc_decref(&c->ob);
}

struct find {
    rc_object *want;
    int found;
};

static int find_fn(rc_object *o, void *arg)
{
    struct find *f = arg;
    if (o == f->want)
        f->found = 1;
    return f->found;
}

static void test_foreach_visits_objects_of_every_generation(void **state)
{
    node *old = node_new();
    rc_gc_collect(1);
    node *young = node_new();
    struct find f1 = {&old->ob, 0}, f2 = {&young->ob, 0};
    rc_gc_foreach(find_fn, &f1);
    rc_gc_foreach(find_fn, &f2);
    rc_decref(&old->ob);
    rc_decref(&young->ob);
    assert_true(f1.found && f2.found);
}

static int stop_fn(rc_object *o, void *arg)
{
    return 1;
}

static void test_foreach_stops_when_fn_returns_nonzero(void **state)
{
    node *a = node_new(), *b = node_new();
    assert_int_equal(rc_gc_foreach(stop_fn, NULL), 1);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
}

/* Weak references to garbage die before any garbage is cleared. */
static node *watched_peer;
static int peer_was_intact;

static void check_peer(rc_weakref *w, void *arg)
{
    peer_was_intact = watched_peer->a != NULL;
}

static void test_weakrefs_to_garbage_die_before_any_clear(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    watched_peer = b;
    rc_weakref *wa = rc_weakref_new(&a->ob, check_peer, NULL);
    rc_weakref *wb = rc_weakref_new(&b->ob, NULL, NULL);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    rc_gc_collect(-1);
    rc_weakref_free(wa);
    rc_weakref_free(wb);
    assert_true(peer_was_intact);
}

static void test_weakref_to_garbage_is_dead_after_collect(void **state)
{
    node *a, *b;
    node_pair(&a, &b);
    rc_weakref *w = rc_weakref_new(&a->ob, NULL, NULL);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    rc_gc_collect(-1);
    assert_null(rc_weakref_get(w));
    rc_weakref_free(w);
}

/* Resurrection: a finalize that saves its object keeps it alive. */
static node *saved;
static void save_first(node *n)
{
    if (saved == NULL) {
        rc_incref(&n->ob);
        saved = n;
    }
}

static void test_collect_does_not_count_resurrected_object(void **state)
{
    saved = NULL;
    node_finalize_hook = save_first;
    drop_pair_cycle();
    size_t freed = rc_gc_collect(-1);
    node_finalize_hook = NULL;
    rc_decref(&saved->ob);
    assert_int_equal(freed, 1);
}

static void test_resurrected_cycle_member_stays_alive(void **state)
{
    saved = NULL;
    node_finalize_hook = save_first;
    drop_pair_cycle();
    rc_gc_collect(-1);
    node_finalize_hook = NULL;
    assert_int_equal(rc_refcount(&saved->ob), 1);
    rc_decref(&saved->ob);
}

static void test_resurrected_cycle_member_is_cleared(void **state)
{
    saved = NULL;
    node_finalize_hook = save_first;
    drop_pair_cycle();
    rc_gc_collect(-1);
    node_finalize_hook = NULL;
    assert_true(saved->a == NULL && saved->b == NULL);
    rc_decref(&saved->ob);
}

static size_t nested_result;
static void collect_inside(node *n)
{
    nested_result = rc_gc_collect(-1);
}

static void test_collect_inside_collection_returns_zero(void **state)
{
    nested_result = 99;
    node_finalize_hook = collect_inside;
    drop_pair_cycle();
    rc_gc_collect(-1);
    node_finalize_hook = NULL;
    assert_int_equal(nested_result, 0);
}

/* A type without clear cannot be broken by the collector. */
static const rc_type noclear_type = {
    .name = "noclear", .size = sizeof(node), .traverse = node_traverse,
};

static void test_cycle_without_clear_survives_collection(void **state)
{
    node *a = (node *)rc_new(&noclear_type), *b = (node *)rc_new(&noclear_type);
    rc_set(&a->a, &b->ob);
    rc_set(&b->a, &a->ob);
    rc_weakref *w = rc_weakref_new(&a->ob, NULL, NULL);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    assert_int_equal(rc_gc_collect(-1), 0);
    /* its weak reference died with the rest of the garbage */
    assert_null(rc_weakref_get(w));
    rc_weakref_free(w);
    rc_incref(&a->ob);                  /* break it by hand so nothing leaks */
    node_clear(&b->ob);
    node_clear(&a->ob);
    rc_decref(&a->ob);
}

/* The collector's list links must not read as pointers to a conservative
 * leak scanner, or every tracked object would look reachable from the
 * runtime's globals and no garbage cycle could be reported as lost. */
static void *last_block;
static void remember_block(rc_object *o, rc_trace_event ev, void *block, void *arg)
{
    if (ev == RC_TRACE_NEW)
        last_block = block;
}

static int count_words(const void *from, const void *to, uintptr_t a, uintptr_t b)
{
    int n = 0;
    for (const char *p = from; p + sizeof(uintptr_t) <= (const char *)to; p += sizeof(uintptr_t)) {
        uintptr_t w;
        memcpy(&w, p, sizeof(w));
        n += w == a || w == b;
    }
    return n;
}

static void test_tracked_block_holds_no_plain_link_to_its_neighbour(void **state)
{
    rc_set_tracer(remember_block, NULL);
    node *a = node_new();
    void *a_block = last_block;
    node *b = node_new();               /* a's successor in generation 0 */
    void *b_block = last_block;
    rc_set_tracer(NULL, NULL);
    int hits = count_words(a_block, (char *)a + sizeof(node), (uintptr_t)b_block, (uintptr_t)b);
    rc_decref(&a->ob);
    rc_decref(&b->ob);
    assert_int_equal(hits, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
    const struct CMUnitTest tests[] = {
        T(test_default_thresholds_are_700_10_10),
        T(test_set_threshold_is_read_back),
        T(test_collector_is_enabled_by_default),
        T(test_disable_turns_collector_off),
        T(test_collect_frees_unreferenced_pair),
        T(test_collect_finalizes_pair_members),
        T(test_collect_untracks_freed_pair),
        T(test_collect_frees_self_cycle),
        T(test_collect_keeps_externally_held_cycle),
        T(test_collect_keeps_what_a_live_object_reaches),
        T(test_collect_frees_what_garbage_owns),
        T(test_collect_frees_list_cycle),
        T(test_collect_bad_generation_fails_einval),
        T(test_survivor_of_gen0_is_promoted_out_of_gen0),
        T(test_collect_gen1_frees_promoted_garbage),
        T(test_survivor_of_gen1_is_promoted_to_gen2),
        T(test_collect_gen0_scans_young_referenced_from_old),
        T(test_tracked_allocation_raises_count0),
        T(test_tracked_deallocation_lowers_count0),
        T(test_untracked_allocation_leaves_count0),
        T(test_gen0_collection_resets_count0_and_raises_count1),
        T(test_gen1_collection_resets_count1_and_raises_count2),
        T(test_automatic_collection_runs_past_threshold0),
        T(test_automatic_collection_waits_for_threshold0),
        T(test_disabled_collector_never_collects_automatically),
        T(test_threshold0_zero_turns_automatic_collection_off),
        T(test_gen1_runs_after_threshold1_gen0_collections),
        T(test_gen1_waits_for_threshold1_gen0_collections),
        T(test_gen2_runs_after_threshold2_gen1_collections),
        T(test_foreach_null_counts_tracked_objects),
        T(test_foreach_visits_objects_of_every_generation),
        T(test_foreach_stops_when_fn_returns_nonzero),
        T(test_weakrefs_to_garbage_die_before_any_clear),
        T(test_weakref_to_garbage_is_dead_after_collect),
        T(test_collect_does_not_count_resurrected_object),
        T(test_resurrected_cycle_member_stays_alive),
        T(test_resurrected_cycle_member_is_cleared),
        T(test_collect_inside_collection_returns_zero),
        T(test_cycle_without_clear_survives_collection),
        T(test_tracked_block_holds_no_plain_link_to_its_neighbour),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
