/* cli_test_util.h - what the CLI's cmocka tests share: write a builder's
 * trace to a temporary file, load it and analyse its last snapshot. Each
 * test owns one struct lg_loaded and frees it with lg_loaded_free(). */
#ifndef LG_CLI_TEST_UTIL_H
#define LG_CLI_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "analysis.h"
#include "model.h"
#include "trace_builder.h"

struct lg_loaded {
    char path[512];
    struct lg_proc_trace *t;
    struct lg_analysis *a;
};

static inline void lg_test_path(char *buf, size_t len, const char *name)
{
    const char *dir = getenv("LG_TEST_TMPDIR");
    snprintf(buf, len, "%s/%s.%d.trace", dir && *dir ? dir : "/tmp", name, (int)getpid());
}

/* write, load, analyse (with reach paths); fails the test on any error */
static inline void lg_load(struct lg_tb *tb, const char *name, struct lg_loaded *l)
{
    char err[512];
    memset(l, 0, sizeof(*l));
    lg_test_path(l->path, sizeof(l->path), name);
    assert_int_equal(lg_tb_write(tb, l->path), 0);
    int rc = lg_trace_load(l->path, &l->t, err, sizeof(err));
    if (rc != 0)
        fail_msg("load: %s", err);
    struct lg_analysis_options opt = {.reach_paths = true};
    assert_int_equal(lg_analyze(&l->t->snaps[l->t->nsnaps - 1], &opt, &l->a), 0);
}

static inline void lg_loaded_free(struct lg_loaded *l)
{
    lg_analysis_free(l->a);
    lg_trace_free(l->t);
    unlink(l->path);
}

/* the record of a kind, n-th of that kind (0-based), or NULL */
static inline const struct lg_record *lg_find_record(const struct lg_analysis *a,
                                                     enum lg_leak_kind k, unsigned nth)
{
    for (uint32_t r = 0; r < a->nrecords; r++)
        if (a->records[r].kind == k && nth-- == 0)
            return &a->records[r];
    return NULL;
}

static inline unsigned lg_count_records(const struct lg_analysis *a, enum lg_leak_kind k)
{
    unsigned n = 0;
    for (uint32_t r = 0; r < a->nrecords; r++)
        n += a->records[r].kind == k;
    return n;
}

#endif /* LG_CLI_TEST_UTIL_H */
