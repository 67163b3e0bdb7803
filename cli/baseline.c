/* baseline.c - the baseline file of known leaks: leak identities, the entry
 * table, and reading and writing the JSON file. Owns the entries and a small
 * JSON reader for exactly this file (objects, arrays, strings, numbers,
 * true/false/null; unknown members are skipped, so later versions can add
 * some). The file:
 *   {"leakgraph_baseline": 1,
 *    "leaks": [{"kind": "definitely_lost", "type": null,
 *               "stack": ["malloc", "make_node", "main"],
 *               "bytes": 32, "blocks": 1}]} */
#include "baseline.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#define LG_BASELINE_VERSION 1

struct entry_ix {
    UT_hash_handle hh;
    size_t index;
};

struct lg_baseline {
    struct lg_baseline_entry *e;
    struct entry_ix **ix;            /* per entry, the hash node (keyed by e[i].key) */
    struct entry_ix *by_key;
    size_t n, cap;
};

/* ---- identity ----------------------------------------------------------- */

static const char *frame_name(const struct lg_frame *f, char *buf, size_t len)
{
    if (f->function != NULL)
        return f->function;
    snprintf(buf, len, "%s!?", f->module != NULL ? f->module : "");
    return f->module != NULL ? buf : "?";
}

/* Frames below main and a thread's start routine are the C library's own
 * (_start, __libc_start_call_main, start_thread, clone3) and differ between
 * glibc versions: they are no part of a leak's identity. */
size_t lg_identity_depth(const struct lg_frame *f, size_t n)
{
    static const char *const below[] = { "_start", "__libc_start_main", "__libc_start_main_impl",
                                         "__libc_start_call_main", "start_thread", "clone",
                                         "clone3", NULL };

    for (size_t i = 0; i < n; i++)
        if (f[i].function != NULL && strcmp(f[i].function, "main") == 0)
            return i + 1;
    while (n > 0 && f[n - 1].function != NULL) {
        size_t k = 0;

        while (below[k] != NULL && strcmp(below[k], f[n - 1].function) != 0)
            k++;
        if (below[k] == NULL)
            break;
        n--;
    }
    return n;
}

char *lg_leak_key(const char *kind, const char *type, const struct lg_frame *f, size_t n)
{
    size_t len = strlen(kind) + (type != NULL ? strlen(type) : 0) + 4;
    char buf[300];
    char *key, *p;

    n = lg_identity_depth(f, n);
    for (size_t i = 0; i < n; i++)
        len += strlen(frame_name(&f[i], buf, sizeof(buf))) + 1;
    key = malloc(len);
    if (key == NULL)
        return NULL;
    p = key + sprintf(key, "%s|%s|", kind, type != NULL ? type : "");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i > 0 ? ";" : "", frame_name(&f[i], buf, sizeof(buf)));
    return key;
}

/* ---- the table ---------------------------------------------------------- */

struct lg_baseline *lg_baseline_new(void)
{
    return calloc(1, sizeof(struct lg_baseline));
}

static void entry_clear(struct lg_baseline_entry *e)
{
    free(e->key);
    free(e->kind);
    free(e->type);
    for (size_t i = 0; i < e->nstack; i++)
        free(e->stack[i]);
    free(e->stack);
}

void lg_baseline_free(struct lg_baseline *b)
{
    if (b == NULL)
        return;
    HASH_CLEAR(hh, b->by_key);
    for (size_t i = 0; i < b->n; i++) {
        entry_clear(&b->e[i]);
        free(b->ix[i]);
    }
    free(b->e);
    free(b->ix);
    free(b);
}

static struct lg_baseline_entry *find(const struct lg_baseline *b, const char *key)
{
    struct entry_ix *x;

    HASH_FIND_STR(b->by_key, key, x);
    return x != NULL ? &b->e[x->index] : NULL;
}

/* Takes ownership of *e (on success and on failure). */
static int push_entry(struct lg_baseline *b, struct lg_baseline_entry *e)
{
    struct lg_baseline_entry *old = find(b, e->key);
    struct entry_ix *x;

    if (old != NULL) {
        old->bytes += e->bytes;
        old->blocks += e->blocks;
        entry_clear(e);
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct lg_baseline_entry *ne = realloc(b->e, cap * sizeof(*ne));
        struct entry_ix **nx;

        if (ne == NULL)
            goto fail;
        b->e = ne;
        nx = realloc(b->ix, cap * sizeof(*nx));
        if (nx == NULL)
            goto fail;
        b->ix = nx;
        b->cap = cap;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        goto fail;
    x->index = b->n;
    b->e[b->n] = *e;
    b->ix[b->n] = x;
    b->n++;
    HASH_ADD_KEYPTR(hh, b->by_key, b->e[x->index].key, strlen(b->e[x->index].key), x);
    return 0;

fail:
    entry_clear(e);
    return -ENOMEM;
}

int lg_baseline_add(struct lg_baseline *b, const char *kind, const char *type,
                    const struct lg_frame *f, size_t n, uint64_t bytes, uint64_t blocks)
{
    struct lg_baseline_entry e = { 0 };
    char buf[300];

    e.key = lg_leak_key(kind, type, f, n);
    n = lg_identity_depth(f, n);     /* the file lists what the identity uses */
    e.kind = strdup(kind);
    e.type = type != NULL ? strdup(type) : NULL;
    e.stack = calloc(n > 0 ? n : 1, sizeof(*e.stack));
    if (e.key == NULL || e.kind == NULL || (type != NULL && e.type == NULL) || e.stack == NULL)
        goto fail;
    for (; e.nstack < n; e.nstack++) {
        e.stack[e.nstack] = strdup(frame_name(&f[e.nstack], buf, sizeof(buf)));
        if (e.stack[e.nstack] == NULL)
            goto fail;
    }
    e.bytes = bytes;
    e.blocks = blocks;
    return push_entry(b, &e);

fail:
    entry_clear(&e);
    return -ENOMEM;
}

bool lg_baseline_mark(struct lg_baseline *b, const char *key)
{
    struct lg_baseline_entry *e = find(b, key);

    if (e == NULL)
        return false;
    e->seen = true;
    return true;
}

size_t lg_baseline_count(const struct lg_baseline *b)
{
    return b->n;
}

const struct lg_baseline_entry *lg_baseline_entry(const struct lg_baseline *b, size_t i)
{
    return i < b->n ? &b->e[i] : NULL;
}

/* ---- writing ------------------------------------------------------------ */

static void put_string(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int lg_baseline_write(const struct lg_baseline *b, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (f == NULL) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    fprintf(f, "{\n  \"leakgraph_baseline\": %d,\n  \"leaks\": [", LG_BASELINE_VERSION);
    for (size_t i = 0; i < b->n; i++) {
        const struct lg_baseline_entry *e = &b->e[i];

        fprintf(f, "%s\n    {\"kind\": ", i > 0 ? "," : "");
        put_string(f, e->kind);
        fputs(", \"type\": ", f);
        put_string(f, e->type);
        fprintf(f, ", \"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64 ",\n     \"stack\": [",
                e->bytes, e->blocks);
        for (size_t j = 0; j < e->nstack; j++) {
            fputs(j > 0 ? ", " : "", f);
            put_string(f, e->stack[j]);
        }
        fputs("]}", f);
    }
    fputs(b->n > 0 ? "\n  ]\n}\n" : "]\n}\n", f);
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(-rc));
    return rc;
}

/* ---- reading: a small JSON reader --------------------------------------- */

struct rd {
    const char *path;
    const char *buf, *p, *end;
    char *err;
    size_t errlen;
};

static int rd_fail(struct rd *r, const char *what)
{
    snprintf(r->err, r->errlen, "%s: offset %zu: %s", r->path, (size_t)(r->p - r->buf), what);
    return -EINVAL;
}

static void ws(struct rd *r)
{
    while (r->p < r->end && isspace((unsigned char)*r->p))
        r->p++;
}

static int expect(struct rd *r, char c)
{
    char msg[32];

    ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 0;
    }
    snprintf(msg, sizeof(msg), "expected '%c'", c);
    return rd_fail(r, msg);
}

static int peek(struct rd *r)
{
    ws(r);
    return r->p < r->end ? (unsigned char)*r->p : -1;
}

/* A string into a malloc'd buffer (\uXXXX below 0x80 kept, others as '?'). */
static int read_string(struct rd *r, char **out)
{
    char *s;
    size_t n = 0;

    if (expect(r, '"') < 0)
        return -EINVAL;
    s = malloc((size_t)(r->end - r->p) + 1);
    if (s == NULL)
        return -ENOMEM;
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;

        if (c == '\\' && r->p < r->end) {
            c = *r->p++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned v = 0;

                if (r->end - r->p < 4 || sscanf(r->p, "%4x", &v) != 1) {
                    free(s);
                    return rd_fail(r, "bad \\u escape");
                }
                r->p += 4;
                c = v < 0x80 ? (char)v : '?';
                break;
            }
            default: break;      /* \" \\ \/ */
            }
        }
        s[n++] = c;
    }
    if (r->p >= r->end) {
        free(s);
        return rd_fail(r, "unterminated string");
    }
    r->p++;
    s[n] = '\0';
    *out = s;
    return 0;
}

static int read_u64(struct rd *r, uint64_t *out)
{
    char *endp;

    ws(r);
    if (r->p >= r->end || !isdigit((unsigned char)*r->p))
        return rd_fail(r, "expected a number");
    errno = 0;
    *out = strtoull(r->p, &endp, 10);
    if (errno != 0 || endp > r->end)
        return rd_fail(r, "number out of range");
    r->p = endp;
    return 0;
}

static int skip_value(struct rd *r, int depth)
{
    int c = peek(r);
    char *s;

    if (depth > 64)
        return rd_fail(r, "nested too deeply");
    if (c == '"') {
        if (read_string(r, &s) < 0)
            return -EINVAL;
        free(s);
        return 0;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';

        r->p++;
        if (peek(r) == close) {
            r->p++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                if (read_string(r, &s) < 0)
                    return -EINVAL;
                free(s);
                if (expect(r, ':') < 0)
                    return -EINVAL;
            }
            if (skip_value(r, depth + 1) < 0)
                return -EINVAL;
            if (peek(r) == ',') {
                r->p++;
                continue;
            }
            return expect(r, close);
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        while (r->p < r->end && strchr("+-0123456789.eE", *r->p) != NULL)
            r->p++;
        return 0;
    }
    for (const char *const *w = (const char *const[]){ "true", "false", "null", NULL }; *w; w++) {
        size_t len = strlen(*w);

        if ((size_t)(r->end - r->p) >= len && strncmp(r->p, *w, len) == 0) {
            r->p += len;
            return 0;
        }
    }
    return rd_fail(r, "expected a value");
}

static int read_stack(struct rd *r, struct lg_baseline_entry *e)
{
    if (expect(r, '[') < 0)
        return -EINVAL;
    if (peek(r) == ']') {
        r->p++;
        return 0;
    }
    for (;;) {
        char **grown = realloc(e->stack, (e->nstack + 1) * sizeof(*grown));

        if (grown == NULL)
            return -ENOMEM;
        e->stack = grown;
        if (read_string(r, &e->stack[e->nstack]) < 0)
            return -EINVAL;
        e->nstack++;
        if (peek(r) == ',') {
            r->p++;
            continue;
        }
        return expect(r, ']');
    }
}

static int read_entry(struct rd *r, struct lg_baseline *b)
{
    struct lg_baseline_entry e = { 0 };
    struct lg_frame *frames = NULL;
    char *name = NULL;
    int rc;

    if (expect(r, '{') < 0)
        return -EINVAL;
    while (peek(r) != '}') {
        rc = read_string(r, &name);
        if (rc < 0 || (rc = expect(r, ':')) < 0)
            goto fail;
        if (strcmp(name, "kind") == 0)
            rc = read_string(r, &e.kind);
        else if (strcmp(name, "type") == 0)
            rc = peek(r) == 'n' ? skip_value(r, 0) : read_string(r, &e.type);
        else if (strcmp(name, "stack") == 0)
            rc = read_stack(r, &e);
        else if (strcmp(name, "bytes") == 0)
            rc = read_u64(r, &e.bytes);
        else if (strcmp(name, "blocks") == 0)
            rc = read_u64(r, &e.blocks);
        else
            rc = skip_value(r, 0);
        free(name);
        name = NULL;
        if (rc < 0)
            goto fail;
        if (peek(r) != ',')
            break;
        r->p++;
    }
    rc = expect(r, '}');
    if (rc < 0)
        goto fail;
    if (e.kind == NULL) {
        rc = rd_fail(r, "leak without \"kind\"");
        goto fail;
    }
    /* the key is rebuilt from the names, exactly as lg_leak_key() would */
    frames = calloc(e.nstack > 0 ? e.nstack : 1, sizeof(*frames));
    if (frames == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < e.nstack; i++)
        frames[i].function = e.stack[i];
    e.key = lg_leak_key(e.kind, e.type, frames, e.nstack);
    free(frames);
    if (e.key == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    return push_entry(b, &e);

fail:
    free(name);
    entry_clear(&e);
    return rc;
}

static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "r");
    size_t cap = 4096, n = 0, got;
    char *p = NULL, *grown;
    int rc = 0;

    if (f == NULL)
        return -errno;
    do {
        grown = realloc(p, cap + 1);
        if (grown == NULL) {
            rc = -ENOMEM;
            break;
        }
        p = grown;
        got = fread(p + n, 1, cap - n, f);
        n += got;
        if (n == cap)
            cap *= 2;
    } while (got > 0);
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

int lg_baseline_load(const char *path, struct lg_baseline **out, char *err, size_t errlen)
{
    struct rd r = { .path = path, .err = err, .errlen = errlen };
    struct lg_baseline *b;
    uint64_t version = 0;
    char *buf = NULL, *name = NULL;
    size_t len = 0;
    int rc, have_leaks = 0;

    rc = read_file(path, &buf, &len);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    b = lg_baseline_new();
    if (b == NULL) {
        rc = -ENOMEM;
        goto fail_buf;
    }
    r.buf = r.p = buf;
    r.end = buf + len;
    rc = expect(&r, '{');
    while (rc == 0 && peek(&r) != '}') {
        rc = read_string(&r, &name);
        if (rc < 0 || (rc = expect(&r, ':')) < 0)
            break;
        if (strcmp(name, "leakgraph_baseline") == 0) {
            rc = read_u64(&r, &version);
        } else if (strcmp(name, "leaks") == 0) {
            have_leaks = 1;
            rc = expect(&r, '[');
            if (rc == 0 && peek(&r) == ']')
                r.p++;
            else
                while (rc == 0) {
                    rc = read_entry(&r, b);
                    if (rc < 0)
                        break;
                    if (peek(&r) != ',') {
                        rc = expect(&r, ']');
                        break;
                    }
                    r.p++;
                }
        } else {
            rc = skip_value(&r, 0);
        }
        free(name);
        name = NULL;
        if (rc < 0 || peek(&r) != ',')
            break;
        r.p++;
    }
    if (rc == 0)
        rc = expect(&r, '}');
    if (rc == 0 && (version != LG_BASELINE_VERSION || !have_leaks)) {
        snprintf(err, errlen, "%s: not a leakgraph baseline (version %d with \"leaks\")", path,
                 LG_BASELINE_VERSION);
        rc = -EINVAL;
    }
    free(name);
    if (rc < 0)
        goto fail_b;
    free(buf);
    *out = b;
    return 0;

fail_b:
    if (rc == -ENOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    lg_baseline_free(b);
fail_buf:
    free(buf);
    return rc;
}
