/* options.h - the options `run` and `report` share, their parsing, and the
 * report pipeline both end in (report.c): read traces, analyse the last
 * complete snapshot of each, apply suppressions, render. Owns struct
 * lg_cli_opts (strings in it are borrowed from argv). */
#ifndef LG_OPTIONS_H
#define LG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"

enum lg_format { LG_FORMAT_TEXT, LG_FORMAT_JSON, LG_FORMAT_SARIF };

#define LG_MAX_SUPPRESSIONS 32

struct lg_suppressions;

struct lg_cli_opts {
    enum lg_format format;
    const char *output;                   /* NULL: stdout */
    const char *suppressions[LG_MAX_SUPPRESSIONS];
    size_t nsuppressions;
    bool show_reachable;
    uint32_t max_records;                 /* 0: all */
    /* run only */
    enum lg_fail_on fail_on;              /* default LG_FAIL_DEFINITE */
    int error_exitcode;                   /* default LG_EXIT_LEAKS */
    const char *keep_traces;              /* directory, or NULL */
    struct lg_suppressions *supp;         /* lg_opts_load_suppressions(); owned */
};

void lg_opts_init(struct lg_cli_opts *o);

/* Parse argv[*i] (and its value) if it is a shared option (or, with
 * run_opts, a run option). Returns 1 when consumed (*i moves past it), 0
 * when it is not such an option, -1 after printing a usage error. */
int lg_opts_parse(struct lg_cli_opts *o, int argc, char **argv, int *i, bool run_opts);

/* Read every --suppressions file into o->supp. 0, or -1 after printing one
 * line (a usage error). Free with lg_opts_free(). */
int lg_opts_load_suppressions(struct lg_cli_opts *o);
void lg_opts_free(struct lg_cli_opts *o);

/* Open the output named in o (stdout when none). NULL after printing one
 * line when it cannot be written. */
FILE *lg_opts_open_output(const struct lg_cli_opts *o);

/* The outcome of a report */
struct lg_report_result {
    bool any_bad_trace;                  /* a trace could not be read */
    bool gate_fails;                     /* a record fails o->fail_on */
    size_t reported;                     /* traces read and analysed */
    int status;                          /* 0, or -errno when rendering failed */
};

/* Read, analyse and render the traces at paths[0..n) into out. The process
 * whose pid is signal_pid gets end_signal (0: none). */
void lg_report_traces(const struct lg_cli_opts *o, char *const *paths, size_t n, FILE *out,
                      uint32_t signal_pid, int end_signal, struct lg_report_result *res);

#endif /* LG_OPTIONS_H */
