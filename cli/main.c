/* main.c - the `leakgraph` command: dispatches on the subcommand name
 * (commands.h) and prints the usage. Owns nothing else. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char usage[] =
    "usage: leakgraph run [OPTIONS] -- PROGRAM [ARGS...]   run under the shim, then report\n"
    "       leakgraph report [OPTIONS] TRACE...            report from trace files\n"
    "       leakgraph check [OPTIONS] TRACE...             CI gate: exit 1 when leaks pass the limits\n"
    "       leakgraph diff OLD NEW                          what grew between two snapshots\n"
    "       leakgraph graph TRACE [--cycle N]               Graphviz DOT of cycles and owners\n"
    "Options of run and report: --format text|json|sarif, --output FILE,\n"
    "  --suppressions FILE, --show-reachable, --max-records N; run also takes\n"
    "  --fail-on none|definite|possible|reachable, --error-exitcode N, --keep-traces DIR.\n"
    "`leakgraph COMMAND --help` says more.\n";

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"run", lg_cmd_run},     {"report", lg_cmd_report}, {"check", lg_cmd_check},
        {"diff", lg_cmd_diff},   {"graph", lg_cmd_graph},
    };
    if (argc < 2) {
        fputs(usage, stderr);
        return LG_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return LG_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("leakgraph 0.1.0");
        return LG_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "leakgraph: unknown command '%s' (run, report, check, diff, graph)\n", argv[1]);
    return LG_EXIT_USAGE;
}
