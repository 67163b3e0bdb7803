/* options.c - parsing of the options `run` and `report` share (and run's
 * own), each accepted as `--name value` or `--name=value`; usage errors are
 * one line and make the caller exit 2. Owns nothing. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

void lg_opts_init(struct lg_cli_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->format = LG_FORMAT_TEXT;
    o->fail_on = LG_FAIL_DEFINITE;
    o->error_exitcode = LG_EXIT_LEAKS;
}

/* --name value / --name=value: the value, or NULL after an error */
static const char *value_of(const char *name, int argc, char **argv, int *i, bool *matched)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    *matched = false;
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=') {
        *matched = true;
        (*i)++;
        return arg + n + 1;
    }
    if (arg[n] != '\0')
        return NULL;
    *matched = true;
    if (*i + 1 >= argc) {
        fprintf(stderr, "leakgraph: %s needs a value\n", name);
        return NULL;
    }
    *i += 2;
    return argv[*i - 1];
}

static bool parse_uint(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

int lg_opts_parse(struct lg_cli_opts *o, int argc, char **argv, int *i, bool run_opts)
{
    bool m;
    const char *v;
    long n;

    if (strcmp(argv[*i], "--show-reachable") == 0 || strcmp(argv[*i], "--show-reachable=yes") == 0) {
        o->show_reachable = true;
        (*i)++;
        return 1;
    }
    if ((v = value_of("--format", argc, argv, i, &m)) || m) {
        if (v == NULL)
            return -1;
        if (strcmp(v, "text") == 0)
            o->format = LG_FORMAT_TEXT;
        else if (strcmp(v, "json") == 0)
            o->format = LG_FORMAT_JSON;
        else if (strcmp(v, "sarif") == 0)
            o->format = LG_FORMAT_SARIF;
        else {
            fprintf(stderr, "leakgraph: --format must be text, json or sarif, not '%s'\n", v);
            return -1;
        }
        return 1;
    }
    if ((v = value_of("--output", argc, argv, i, &m)) || m) {
        if (v == NULL)
            return -1;
        if (*v == '\0') {
            fprintf(stderr, "leakgraph: --output needs a file name\n");
            return -1;
        }
        o->output = v;
        return 1;
    }
    if ((v = value_of("--suppressions", argc, argv, i, &m)) || m) {
        if (v == NULL)
            return -1;
        if (o->nsuppressions == LG_MAX_SUPPRESSIONS) {
            fprintf(stderr, "leakgraph: at most %d --suppressions files\n", LG_MAX_SUPPRESSIONS);
            return -1;
        }
        o->suppressions[o->nsuppressions++] = v;
        return 1;
    }
    if ((v = value_of("--max-records", argc, argv, i, &m)) || m) {
        if (v == NULL)
            return -1;
        if (!parse_uint(v, INT_MAX, &n)) {
            fprintf(stderr, "leakgraph: --max-records needs a number (0 = all), not '%s'\n", v);
            return -1;
        }
        o->max_records = (uint32_t)n;
        return 1;
    }
    if (!run_opts)
        return 0;
    if ((v = value_of("--fail-on", argc, argv, i, &m)) || m) {
        if (v == NULL)
            return -1;
        if (strcmp(v, "none") == 0)
            o->fail_on = LG_FAIL_NONE;
        else if (strcmp(v, "definite") == 0)
            o->fail_on = LG_FAIL_DEFINITE;
        else if (strcmp(v, "possible") == 0)
            o->fail_on = LG_FAIL_POSSIBLE;
        else if (strcmp(v, "reachable") == 0)
            o->fail_on = LG_FAIL_REACHABLE;
        else {
            fprintf(stderr, "leakgraph: --fail-on must be none, definite, possible or reachable, not '%s'\n", v);
            return -1;
        }
        return 1;
    }
    if ((v = value_of("--error-exitcode", argc, argv, i, &m)) || m) {
        if (v == NULL)
            return -1;
        if (!parse_uint(v, 255, &n)) {
            fprintf(stderr, "leakgraph: --error-exitcode needs a number from 0 to 255, not '%s'\n", v);
            return -1;
        }
        o->error_exitcode = (int)n;
        return 1;
    }
    if ((v = value_of("--keep-traces", argc, argv, i, &m)) || m) {
        if (v == NULL)
            return -1;
        if (*v == '\0') {
            fprintf(stderr, "leakgraph: --keep-traces needs a directory\n");
            return -1;
        }
        o->keep_traces = v;
        return 1;
    }
    return 0;
}

FILE *lg_opts_open_output(const struct lg_cli_opts *o)
{
    if (o->output == NULL || strcmp(o->output, "-") == 0)
        return stdout;
    FILE *f = fopen(o->output, "w");
    if (f == NULL)
        fprintf(stderr, "leakgraph: %s: %s\n", o->output, strerror(errno));
    return f;
}
