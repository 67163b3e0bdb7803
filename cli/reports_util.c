/* reports_util.c - shared pieces of the reporting extras: open a trace at a
 * snapshot and analyse it, symbolized record stacks, the user-frame test,
 * record headlines and JSON strings. See reports_util.h for each contract. */
#include "reports_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "TRACE#N": N when spec ends in #digits and spec itself is not a file. */
static int split_spec(const char *spec, char *path, size_t pathlen, uint32_t *seq)
{
    const char *hash = strrchr(spec, '#');
    struct stat st;

    *seq = 0;
    snprintf(path, pathlen, "%s", spec);
    if (hash == NULL || hash[1] == '\0' || strspn(hash + 1, "0123456789") != strlen(hash + 1))
        return 0;
    if (stat(spec, &st) == 0)
        return 0;                    /* a file whose name has a '#' */
    *seq = (uint32_t)strtoul(hash + 1, NULL, 10);
    if ((size_t)(hash - spec) < pathlen)
        path[hash - spec] = '\0';
    return *seq == 0 ? -EDOM : 0;
}

int lg_open_snapshot(const char *spec, bool reach_paths, struct lg_opened *out, char *err,
                     size_t errlen)
{
    struct lg_analysis_options opt = { .reach_paths = reach_paths };
    char path[4096];
    uint32_t seq;
    int rc;

    memset(out, 0, sizeof(*out));
    if (split_spec(spec, path, sizeof(path), &seq) < 0) {
        snprintf(err, errlen, "%s: snapshots are numbered from 1", spec);
        return -EDOM;
    }
    rc = lg_trace_load(path, &out->trace, err, errlen);
    if (rc < 0)
        return rc;
    rc = -ENODATA;
    if (seq == 0) {
        for (uint32_t i = out->trace->nsnaps; i-- > 0;) {
            if (out->trace->snaps[i].complete) {
                out->snap_index = i;
                out->snap = &out->trace->snaps[i];
                break;
            }
        }
        if (out->snap == NULL) {
            snprintf(err, errlen, "%s: no complete snapshot", path);
            goto fail_trace;
        }
    } else {
        for (uint32_t i = 0; i < out->trace->nsnaps; i++) {
            if (out->trace->snaps[i].begin.seq == seq && out->trace->snaps[i].complete) {
                out->snap_index = i;
                out->snap = &out->trace->snaps[i];
            }
        }
        if (out->snap == NULL) {
            rc = -ERANGE;
            snprintf(err, errlen, "%s: no complete snapshot %" PRIu32 " (the trace has %" PRIu32 ")",
                     path, seq, out->trace->nsnaps);
            goto fail_trace;
        }
    }
    rc = lg_analyze(out->snap, &opt, &out->a);
    if (rc < 0) {
        snprintf(err, errlen, "%s: analysis failed: %s", path, strerror(-rc));
        goto fail_trace;
    }
    out->sym = lg_symbolizer_new(out->snap);
    if (out->sym == NULL) {
        rc = -errno;
        snprintf(err, errlen, "%s: symbolizer: %s", path, strerror(errno));
        goto fail_analysis;
    }
    return 0;

fail_analysis:
    lg_analysis_free(out->a);
fail_trace:
    lg_trace_free(out->trace);
    memset(out, 0, sizeof(*out));
    return rc;
}

int lg_open_exit_code(int rc)
{
    return rc == -EDOM || rc == -ERANGE ? 2 : 3;     /* LG_EXIT_USAGE, LG_EXIT_TRACE */
}

void lg_opened_close(struct lg_opened *o)
{
    if (o == NULL)
        return;
    lg_symbolizer_free(o->sym);
    lg_analysis_free(o->a);
    lg_trace_free(o->trace);
    memset(o, 0, sizeof(*o));
}

int lg_finish_output(FILE *out, const char *cmd, const char *path)
{
    errno = 0;
    int bad = fflush(out) != 0 || ferror(out);
    int e = errno ? errno : EIO;
    if (out != stdout && fclose(out) != 0 && !bad) {
        bad = 1;
        e = errno ? errno : EIO;
    }
    if (!bad)
        return 0;
    fprintf(stderr, "leakgraph %s: %s: cannot write: %s\n", cmd, path ? path : "stdout",
            strerror(e));
    return 2;                        /* LG_EXIT_USAGE, as an unwritable --output */
}

size_t lg_stack_frames(const struct lg_snap *s, struct lg_symbolizer *sym, uint32_t stack,
                       struct lg_frame *out, size_t max)
{
    const struct lg_stk *st;
    uint32_t first = 0;
    size_t n = 0;

    if (stack == LG_NONE || stack >= s->nstacks)
        return 0;
    st = &s->stacks[stack];
    /* the shim's frames on top: keep only the last, the interposer */
    while (first + 1 < st->depth && lg_pc_in_shim(s, st->pcs[first]) &&
           lg_pc_in_shim(s, st->pcs[first + 1]))
        first++;
    for (uint32_t i = first; i < st->depth && n < max; i++)
        n += lg_symbolize_in(sym, stack, st->pcs[i], out + n, max - n);
    return n;
}

/* The module the symbolizer resolved f in: with epochs, modules may
 * overlap, and the one with the frame's module name and base is it. */
static const struct lg_mod *module_of_frame(const struct lg_snap *s, const struct lg_frame *f)
{
    uint64_t pc = f->address > 0 ? f->address - 1 : 0;
    const struct lg_mod *first = NULL;

    for (uint32_t i = 0; i < s->nmodules; i++) {
        const struct lg_mod *m = &s->modules[i];
        const char *b = strrchr(m->path, '/');

        if (pc < m->m.start || pc >= m->m.end)
            continue;
        if (f->module != NULL && m->m.base == f->address - f->module_offset &&
            strcmp(b != NULL ? b + 1 : m->path, f->module) == 0)
            return m;
        if (first == NULL)
            first = m;
    }
    return first;
}

const char *lg_frame_module_path(const struct lg_snap *s, const struct lg_frame *f)
{
    const struct lg_mod *m = module_of_frame(s, f);

    return m != NULL ? m->path : NULL;
}

static bool is_system_path(const char *path)
{
    static const char *const dirs[] = { "/lib/", "/lib32/", "/lib64/", "/usr/lib/",
                                        "/usr/lib32/", "/usr/lib64/", "/usr/libexec/",
                                        "/usr/include/", NULL };
    const char *base = strrchr(path, '/');

    for (size_t i = 0; dirs[i] != NULL; i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
            return true;
    base = base != NULL ? base + 1 : path;
    return strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "libc.so", 7) == 0 ||
           strncmp(base, "libstdc++", 9) == 0 || strncmp(base, "libgcc_s", 8) == 0;
}

bool lg_frame_is_user(const struct lg_snap *s, const struct lg_frame *f)
{
    const char *path;

    if (f->file == NULL || f->line <= 0 || is_system_path(f->file))
        return false;
    if (lg_pc_in_shim(s, f->address) || lg_pc_in_runtime(s, f->address))
        return false;
    path = lg_frame_module_path(s, f);
    return path != NULL && !is_system_path(path);
}

const struct lg_frame *lg_first_user_frame(const struct lg_snap *s, const struct lg_frame *f,
                                           size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lg_frame_is_user(s, &f[i]))
            return &f[i];
    return NULL;
}

const struct lg_frame *lg_where_frame(const struct lg_snap *s, const struct lg_frame *f,
                                      size_t n)
{
    const struct lg_frame *u = lg_first_user_frame(s, f, n);

    for (size_t i = 0; u == NULL && i < n; i++) {
        const char *path = lg_frame_module_path(s, &f[i]);

        if (f[i].function != NULL && path != NULL && !is_system_path(path) &&
            !lg_pc_in_shim(s, f[i].address) && !lg_pc_in_runtime(s, f[i].address))
            u = &f[i];
    }
    for (size_t i = 0; u == NULL && i < n; i++)
        if (f[i].function != NULL && !lg_pc_in_shim(s, f[i].address))
            u = &f[i];
    return u != NULL ? u : (n > 0 ? &f[0] : NULL);
}

const char *lg_record_type(const struct lg_analysis *a, const struct lg_record *r)
{
    return r->type != LG_NONE ? lg_snap_string(a->snap, r->type) : NULL;
}

static const char *block_type(const struct lg_analysis *a, uint32_t block)
{
    uint32_t o = block < a->nblocks ? a->block_object[block] : LG_NONE;

    return o != LG_NONE ? lg_snap_string(a->snap, a->snap->objects[o].type_name) : "block";
}

void lg_cycle_path_text(const struct lg_analysis *a, uint32_t c, char *buf, size_t len)
{
    const struct lg_cycle *cy = &a->cycles[c];
    size_t used = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < cy->npath && used < len; i++) {
        const struct lg_edge *e = &a->snap->edges[a->cycle_edges[cy->first_path + i]];
        const char *field = e->field != LG_NONE ? lg_snap_string(a->snap, e->field) : "?";
        int w = snprintf(buf + used, len - used, "%s%s.%s -> %s", i > 0 ? ", " : "",
                         block_type(a, e->from), field, block_type(a, e->to));

        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void lg_record_headline(const struct lg_analysis *a, const struct lg_record *r, char *buf,
                        size_t len)
{
    const char *type = lg_record_type(a, r);
    char tbuf[160] = "";
    char path[512];

    if (type != NULL)
        snprintf(tbuf, sizeof(tbuf), " (%s)", type);
    switch (r->kind) {
    case LG_LEAK_GARBAGE_CYCLE: {
        const struct lg_cycle *cy = &a->cycles[r->cycle];

        lg_cycle_path_text(a, r->cycle, path, sizeof(path));
        if (r->count > 1)
            snprintf(buf, len, "%" PRIu32 " garbage cycles like: %" PRIu32 " objects, %" PRIu64
                     " bytes in all: %s", r->count, cy->nmembers, r->self.bytes, path);
        else
            snprintf(buf, len, "garbage cycle of %" PRIu32 " %s, %" PRIu64 " bytes: %s",
                     cy->nmembers, plural(cy->nmembers, "object", "objects"), r->self.bytes,
                     path);
        break;
    }
    case LG_LEAK_REFERENCE_LEAK: {
        const struct lg_refleak *rl = &a->refleaks[r->refleak];

        snprintf(buf, len, "reference leak: %s with %" PRId64 " %s never released%s",
                 type != NULL ? type : "object", rl->external,
                 plural((uint64_t)rl->external, "reference", "references"),
                 r->count > 1 ? " (and similar objects)" : "");
        break;
    }
    default:
        snprintf(buf, len, "%" PRIu64 " bytes in %" PRIu64 " %s%s %s %s", r->self.bytes,
                 r->self.blocks, plural(r->self.blocks, "block", "blocks"), tbuf,
                 plural(r->self.blocks, "is", "are"), lg_leak_kind_words(r->kind));
        break;
    }
    if (r->owned.bytes > 0) {
        size_t used = strlen(buf);

        snprintf(buf + used, len - used, ", holding %" PRIu64 " more bytes in %" PRIu64 " %s",
                 r->owned.bytes, r->owned.blocks, plural(r->owned.blocks, "block", "blocks"));
    }
}

static char **said;                  /* warnings printed so far (process-wide) */
static size_t nsaid;

static void forget_warnings(void)
{
    while (nsaid > 0)
        free(said[--nsaid]);
    free(said);
    said = NULL;
}

void lg_print_symbolizer_warnings(struct lg_symbolizer *sym)
{

    for (const char *const *w = lg_symbolizer_warnings(sym); *w != NULL; w++) {
        size_t i = 0;
        char **grown;

        while (i < nsaid && strcmp(said[i], *w) != 0)
            i++;
        if (i < nsaid)
            continue;
        fprintf(stderr, "leakgraph: %s\n", *w);
        if (said == NULL)
            atexit(forget_warnings);
        grown = realloc(said, (nsaid + 1) * sizeof(*said));
        if (grown == NULL)
            continue;
        said = grown;
        said[nsaid] = strdup(*w);
        if (said[nsaid] != NULL)
            nsaid++;
    }
}

void lg_json_string(FILE *out, const char *s)
{
    if (s == NULL) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}
