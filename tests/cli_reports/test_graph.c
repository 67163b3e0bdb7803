/* test_graph.c - `leakgraph graph` DOT on synthetic traces (fixture.c):
 * clusters, node and edge labels, --cycle, checked as facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"
#include "fixture.h"

static int setup(void **state)
{
    (void)state;
    return fx_init();
}

/* ---- graph (DOT) -------------------------------------------------------- */

static void test_graph_edges_labelled_with_fields(void **state)
{
    const char *out = fx_path("cycle.dot");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("cycle", SC_CYCLE), "--output", out,
                         NULL), LG_EXIT_OK);
    assert_true(fx_count_in(out, "[label=\"next\"]") == 1 && fx_count_in(out, "[label=\"prev\"]") == 1);
}

static void test_graph_nodes_labelled_with_type_and_address(void **state)
{
    const char *out = fx_path("cycle.dot");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("cycle", SC_CYCLE), "--output", out,
                         NULL), LG_EXIT_OK);
    assert_int_equal(fx_count_in(out, "[label=\"Node\\n0x"), 2);
}

static void test_graph_scanned_pointer_under_field_not_drawn_twice(void **state)
{
    const char *out = fx_path("scanned.dot");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("scanned", SC_CYCLE_SCANNED), "--output",
                         out, NULL), LG_EXIT_OK);
    assert_int_equal(fx_count_in(out, " -> b"), 2);
}

static void test_graph_cycle_is_a_numbered_cluster(void **state)
{
    const char *out = fx_path("cycle1.dot");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("cycle", SC_CYCLE), "--cycle", "1",
                         "--output", out, NULL), LG_EXIT_OK);
    assert_true(fx_file_has(out, "subgraph cluster_") &&
                fx_file_has(out, "label=\"cycle 1: 2 objects, 64 bytes\\nNode.next -> Node"));
}

static void test_graph_missing_cycle_number_exits_2(void **state)
{
    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("cycle", SC_CYCLE), "--cycle", "2",
                         "--output", fx_path("none.dot"), NULL), LG_EXIT_USAGE);
}

static void test_graph_owned_cycle_drawn_inside_owner(void **state)
{
    const char *out = fx_path("nested.dot");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("nested", SC_NESTED), "--output",
                            out, NULL), LG_EXIT_OK);
    assert_true(fx_file_has(out, "label=\"owned cycle: 2 objects, 32 bytes\\nInner.peer -> Inner") &&
                fx_count_in(out, "subgraph cluster_") == 2);
}

static void test_graph_owner_edge_into_owned_cycle_drawn(void **state)
{
    const char *out = fx_path("nested.dot");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("nested", SC_NESTED), "--output",
                            out, NULL), LG_EXIT_OK);
    assert_int_equal(fx_count_in(out, "[label=\"child\"]"), 1);
}

static void test_graph_owned_cycle_has_no_number(void **state)
{
    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("nested", SC_NESTED), "--cycle", "2",
                            "--output", fx_path("none.dot"), NULL), LG_EXIT_USAGE);
}

static void test_graph_without_cycles_is_empty_digraph(void **state)
{
    const char *out = fx_path("empty.dot");

    (void)state;
    assert_int_equal(fx_cmd(lg_cmd_graph, "graph", fx_trace("leak_a", SC_LEAK_A), "--output", out,
                         NULL), LG_EXIT_OK);
    assert_true(fx_file_has(out, "digraph leakgraph {") && !fx_file_has(out, "subgraph"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_edges_labelled_with_fields),
        cmocka_unit_test(test_graph_nodes_labelled_with_type_and_address),
        cmocka_unit_test(test_graph_scanned_pointer_under_field_not_drawn_twice),
        cmocka_unit_test(test_graph_cycle_is_a_numbered_cluster),
        cmocka_unit_test(test_graph_missing_cycle_number_exits_2),
        cmocka_unit_test(test_graph_owned_cycle_drawn_inside_owner),
        cmocka_unit_test(test_graph_owner_edge_into_owned_cycle_drawn),
        cmocka_unit_test(test_graph_owned_cycle_has_no_number),
        cmocka_unit_test(test_graph_without_cycles_is_empty_digraph),
    };

    return cmocka_run_group_tests(tests, setup, fx_cleanup);
}
