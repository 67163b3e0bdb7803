/* commands.h - the subcommands of `leakgraph` and the hooks between the core
 * of the CLI (trace reading, analysis, text/JSON reports, run, report) and
 * the reporting extras (SARIF, DOT, check, diff, suppressions, baselines).
 * main.c dispatches on argv[1]; each lg_cmd_* takes the arguments after the
 * subcommand name (argv[0] is the subcommand) and returns the exit status.
 * Exit statuses are the LG_EXIT_* values below or the wrapped program's own. */
#ifndef LG_COMMANDS_H
#define LG_COMMANDS_H

#define LG_EXIT_OK 0
#define LG_EXIT_GATE 1        /* check: leaks pass the limits */
#define LG_EXIT_USAGE 2       /* bad option, missing program, static target */
#define LG_EXIT_TRACE 3       /* report/check/diff: unreadable or corrupt trace */
#define LG_EXIT_LEAKS 23      /* run: a leak fails the gate (--error-exitcode) */

int lg_cmd_run(int argc, char **argv);     /* run.c */
int lg_cmd_report(int argc, char **argv);  /* report.c */
int lg_cmd_check(int argc, char **argv);   /* check.c */
int lg_cmd_diff(int argc, char **argv);    /* diff.c */
int lg_cmd_graph(int argc, char **argv);   /* dot.c */

#endif /* LG_COMMANDS_H */
