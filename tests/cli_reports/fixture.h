/* fixture.h - synthetic traces for the reporting tests whose stacks point
 * into this very test program, so that they symbolize to real functions,
 * files and lines (the module map names /proc/self/exe at its real load
 * bias). Owns the scenario builders and a temporary directory. */
#ifndef LG_REPORTS_FIXTURE_H
#define LG_REPORTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum scenario {
    SC_CLEAN,            /* one rooted block */
    SC_LEAK_A,           /* a 32-byte definitely lost block from site_a */
    SC_LEAK_AB,          /* SC_LEAK_A plus 48 bytes lost from site_b */
    SC_POSSIBLE,         /* a 64-byte block rooted only by an interior pointer */
    SC_CYCLE,            /* Node.next -> Node, Node.prev -> Node, unrooted, from site_cycle */
    SC_REFLEAK,          /* a Widget with refcnt 2 and nothing holding it */
    SC_CYCLE_SCANNED,    /* SC_CYCLE whose two fields the scan found as pointers too */
    SC_GROWN,
    SC_LEAK_GONE,
    SC_NESTED,           /* Outer.peer <-> Outer, Outer.child -> an Inner.peer <-> Inner cycle */        /* SC_LEAK_A, but the module map names a file that is gone */            /* SC_CLEAN plus 3 rooted Node objects from site_b and SC_CYCLE */
};

/* Make the directory (LG_TEST_TMPDIR or /tmp) and learn this program's module. */
int fx_init(void);
/* Remove the directory and what the tests wrote in it (a group teardown). */
int fx_cleanup(void **state);
/* Write a trace of the scenario to DIR/name and return its path (static buffer per call
 * slot: up to 8 live paths). */
const char *fx_trace(const char *name, enum scenario sc);
/* The same with `copies` snapshots (1, 2, ...), the last cut short when cut_last. */
const char *fx_trace_ex(const char *name, enum scenario sc, unsigned copies, int cut_last);
/* DIR/name */
const char *fx_path(const char *name);
/* The line where site_a (the leaking function) is defined in fixture.c. */
int fx_site_a_line(void);

/* Does `jq -e FILTER FILE` succeed (the filter gives true)? */
bool fx_jq(const char *file, const char *filter);
/* Does the file contain the text? How many times? */
bool fx_file_has(const char *file, const char *needle);
size_t fx_count_in(const char *file, const char *needle);
/* Call a subcommand entry (lg_cmd_graph, ...) with argv = name, args..., NULL. */
int fx_cmd(int (*fn)(int, char **), const char *name, ...);

#endif
