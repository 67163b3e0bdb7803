/* suppress.c - suppression files: parsing both formats and matching a
 * record's stack. Owns the parsed suppressions and their use counts.
 *
 * LeakSanitizer lines, `leak:<pattern>`: sanitizer_common's TemplateMatch,
 * i.e. the pattern is found as a substring, `*` matches any run of
 * characters, a leading `^` anchors at the start and a trailing `$` at the
 * end. It is tried against the function name, the source file and the
 * module path of every frame; it suppresses every kind of leak (not still
 * reachable blocks, which LeakSanitizer never reports). Other
 * sanitizer types (`race:`, `interceptor_via_fun:`, ...) are skipped.
 *
 * Valgrind blocks, `{ name  Memcheck:Leak  [match-leak-kinds: ...]  frame* }`:
 * frame lines are `fun:<glob>` (function), `obj:<glob>` (module path),
 * `src:<glob>[:line]` (source file basename) and `...` (zero or more frames);
 * globs are whole-string with `*`, `?` and `\` escapes. The frame lines
 * match a prefix of the stack, innermost first, as memcheck matches them.
 * memcheck's stacks start inside the allocator (fun:malloc, operator new)
 * while the shim's start at its caller, so leading frame lines that name
 * only an allocator are skipped when the stack itself does not start in
 * one. Blocks for other tools or other Memcheck kinds are skipped.
 * match-leak-kinds: definite, indirect, possible, reachable, all, none;
 * leakgraph adds cycle and refleak, and counts a garbage cycle and a
 * reference leak as definite too (they fail the same gate). */
#include "suppress.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum frame_kind { PAT_FUN, PAT_OBJ, PAT_SRC, PAT_ANY };

struct pat {
    enum frame_kind kind;
    char *glob;                      /* NULL for PAT_ANY */
    int line;                        /* PAT_SRC: 0 = any line */
};

#define KIND_DEFINITE 1u
#define KIND_INDIRECT 2u
#define KIND_POSSIBLE 4u
#define KIND_REACHABLE 8u
#define KIND_CYCLE 16u
#define KIND_REFLEAK 32u
#define KIND_ALL 63u

struct supp {
    char *name;
    int is_lsan;
    char *lsan_pattern;              /* is_lsan */
    unsigned kinds;                  /* KIND_* mask */
    struct pat *pats;
    size_t npats;
    size_t used;
};

struct lg_suppressions {
    struct supp *items;
    size_t n, cap;
};

/* ---- matching primitives ---------------------------------------------- */

/* Valgrind's VG_(string_match): whole string, `*`, `?`, `\` escapes. */
static int glob_match(const char *g, const char *s)
{
    for (;;) {
        switch (*g) {
        case '\0':
            return *s == '\0';
        case '*':
            while (*g == '*')
                g++;
            if (*g == '\0')
                return 1;
            for (; *s != '\0'; s++)
                if (glob_match(g, s))
                    return 1;
            return 0;
        case '?':
            if (*s == '\0')
                return 0;
            g++;
            s++;
            break;
        case '\\':
            if (g[1] != '\0')
                g++;
            __attribute__((fallthrough));  /* compare the escaped character */
        default:
            if (*g != *s)
                return 0;
            g++;
            s++;
            break;
        }
    }
}

/* sanitizer_common's TemplateMatch on [t, tend). */
static int template_match_at(const char *t, const char *tend, const char *s, int anchored)
{
    const char *star;
    size_t len;

    while (t < tend && *t == '*') {
        t++;
        anchored = 0;
    }
    if (t == tend)
        return 1;
    if (*t == '$' && t + 1 == tend)
        return anchored ? *s == '\0' : 1;
    star = memchr(t, '*', (size_t)(tend - t));
    len = (size_t)((star != NULL ? star : tend) - t);
    if (star == NULL && len > 0 && t[len - 1] == '$') {
        /* last piece anchored at the end */
        size_t slen = strlen(s);

        len--;
        if (slen < len)
            return 0;
        if (anchored)
            return slen == len && memcmp(s, t, len) == 0;
        return memcmp(s + slen - len, t, len) == 0;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (strncmp(p, t, len) == 0 && template_match_at(t + len, tend, p + len, 0))
            return 1;
        if (anchored)
            return 0;
    }
    return 0;
}

static int template_match(const char *t, const char *s)
{
    int anchored = 0;

    if (s == NULL || s[0] == '\0')
        return 0;
    if (t[0] == '^') {
        anchored = 1;
        t++;
    }
    return template_match_at(t, t + strlen(t), s, anchored);
}

static const char *module_path(const struct lg_frame *f, const struct lg_snap *snap)
{
    if (snap != NULL) {
        for (uint32_t i = 0; i < snap->nmodules; i++) {
            const struct lg_mod *m = &snap->modules[i];

            if (f->address - 1 >= m->m.start && f->address - 1 < m->m.end &&
                m->path[0] != '\0')
                return m->path;
        }
    }
    return f->module;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

static int pat_matches(const struct pat *p, const struct lg_frame *f, const struct lg_snap *snap)
{
    const char *s;

    switch (p->kind) {
    case PAT_FUN:
        return glob_match(p->glob, f->function != NULL ? f->function : "???");
    case PAT_OBJ:
        s = module_path(f, snap);
        return glob_match(p->glob, s != NULL ? s : "???");
    case PAT_SRC:
        if (f->file == NULL || !glob_match(p->glob, base_name(f->file)))
            return 0;
        return p->line == 0 || p->line == f->line;
    case PAT_ANY:
        return 1;
    }
    return 0;
}

/* memcheck's prefix match of frame lines against the stack. */
static int frames_match(const struct pat *p, size_t np, const struct lg_frame *f, size_t nf,
                        const struct lg_snap *snap)
{
    if (np == 0)
        return 1;
    if (p->kind == PAT_ANY) {
        for (size_t skip = 0; skip <= nf; skip++)
            if (frames_match(p + 1, np - 1, f + skip, nf - skip, snap))
                return 1;
        return 0;
    }
    if (nf == 0)
        return 0;
    return pat_matches(p, f, snap) && frames_match(p + 1, np - 1, f + 1, nf - 1, snap);
}

static const char *const allocators[] = {
    "malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
    "memalign", "valloc", "pvalloc", "operator new(unsigned long)",
    "operator new[](unsigned long)", "operator new(unsigned long, std::nothrow_t const&)",
    "operator new[](unsigned long, std::nothrow_t const&)",
    "operator new(unsigned long, std::align_val_t)",
    "operator new[](unsigned long, std::align_val_t)", "_Znwm", "_Znam", "rc_new",
    NULL,
};

static int is_allocator_name(const char *name)
{
    for (size_t i = 0; allocators[i] != NULL; i++)
        if (strcmp(name, allocators[i]) == 0)
            return 1;
    return 0;
}

/* A leading frame line of a memcheck suppression that stands for the
 * allocator: fun:malloc, fun:*alloc, fun:_Znwm, obj:*vgpreload_memcheck*
 * (but not fun:* or a ... wildcard, which match the caller as well). */
static int names_allocator(const struct pat *p)
{
    if (p->glob == NULL || p->glob[strspn(p->glob, "*")] == '\0')
        return 0;
    if (p->kind == PAT_OBJ)
        return glob_match(p->glob, "/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so") ||
               glob_match(p->glob, "/usr/lib/x86_64-linux-gnu/valgrind/vgpreload_memcheck-amd64-linux.so");
    if (p->kind != PAT_FUN)
        return 0;
    for (size_t i = 0; allocators[i] != NULL; i++)
        if (glob_match(p->glob, allocators[i]))
            return 1;
    return 0;
}

static int kind_bit(const char *kind)
{
    if (strcmp(kind, "definitely_lost") == 0)
        return KIND_DEFINITE;
    if (strcmp(kind, "indirectly_lost") == 0)
        return KIND_INDIRECT;
    if (strcmp(kind, "possibly_lost") == 0)
        return KIND_POSSIBLE;
    if (strcmp(kind, "still_reachable") == 0)
        return KIND_REACHABLE;
    if (strcmp(kind, "garbage_cycle") == 0)
        return KIND_CYCLE;
    if (strcmp(kind, "reference_leak") == 0)
        return KIND_REFLEAK;
    return 0;
}

static int supp_matches(const struct supp *s, unsigned kbit, const struct lg_frame *frames,
                        size_t n, const struct lg_snap *snap)
{
    size_t lead = 0;

    if (s->is_lsan) {
        if (kbit == KIND_REACHABLE)
            return 0;                /* LeakSanitizer never reports reachable blocks */
        for (size_t i = 0; i < n; i++) {
            const char *mod = module_path(&frames[i], snap);

            if ((frames[i].function != NULL && template_match(s->lsan_pattern, frames[i].function)) ||
                (frames[i].file != NULL && template_match(s->lsan_pattern, frames[i].file)) ||
                (mod != NULL && template_match(s->lsan_pattern, mod)))
                return 1;
        }
        return 0;
    }
    if ((s->kinds & kbit) == 0)
        return 0;
    if (frames_match(s->pats, s->npats, frames, n, snap))
        return 1;
    /* the stack starts at the allocator's caller: drop memcheck's allocator lines */
    if (n > 0 && frames[0].function != NULL && is_allocator_name(frames[0].function))
        return 0;
    while (lead < s->npats && names_allocator(&s->pats[lead]))
        lead++;
    return lead > 0 && frames_match(s->pats + lead, s->npats - lead, frames, n, snap);
}

const char *lg_suppressions_match(struct lg_suppressions *set, const char *kind,
                                  const struct lg_frame *frames, size_t n,
                                  const struct lg_snap *snap)
{
    unsigned kbit;

    if (set == NULL)
        return NULL;
    kbit = (unsigned)kind_bit(kind);
    for (size_t i = 0; i < set->n; i++) {
        if (supp_matches(&set->items[i], kbit, frames, n, snap)) {
            set->items[i].used++;
            return set->items[i].name;
        }
    }
    return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

struct lg_suppressions *lg_suppressions_new(void)
{
    return calloc(1, sizeof(struct lg_suppressions));
}

static void supp_clear(struct supp *s)
{
    free(s->name);
    free(s->lsan_pattern);
    for (size_t i = 0; i < s->npats; i++)
        free(s->pats[i].glob);
    free(s->pats);
}

void lg_suppressions_free(struct lg_suppressions *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        supp_clear(&set->items[i]);
    free(set->items);
    free(set);
}

size_t lg_suppressions_count(const struct lg_suppressions *set)
{
    return set != NULL ? set->n : 0;
}

void lg_suppressions_used(const struct lg_suppressions *set,
                          void (*fn)(const char *name, size_t count, void *arg), void *arg)
{
    for (size_t i = 0; set != NULL && i < set->n; i++)
        fn(set->items[i].name, set->items[i].used, arg);
}

static int push_supp(struct lg_suppressions *set, struct supp *s)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct supp *grown = realloc(set->items, cap * sizeof(*grown));

        if (grown == NULL)
            return -ENOMEM;
        set->items = grown;
        set->cap = cap;
    }
    set->items[set->n++] = *s;
    return 0;
}

static int push_pat(struct supp *s, enum frame_kind kind, const char *glob, int line)
{
    struct pat *grown = realloc(s->pats, (s->npats + 1) * sizeof(*grown));

    if (grown == NULL)
        return -ENOMEM;
    s->pats = grown;
    grown[s->npats].kind = kind;
    grown[s->npats].line = line;
    grown[s->npats].glob = NULL;
    if (glob != NULL) {
        grown[s->npats].glob = strdup(glob);
        if (grown[s->npats].glob == NULL)
            return -ENOMEM;
    }
    s->npats++;
    return 0;
}

/* Trim in place; returns the first non-blank character. */
static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int parse_kinds(const char *list, unsigned *out)
{
    char buf[256];
    char *save = NULL, *tok;
    unsigned mask = 0;

    snprintf(buf, sizeof(buf), "%s", list);
    for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
        if (strcmp(tok, "definite") == 0)
            mask |= KIND_DEFINITE | KIND_CYCLE | KIND_REFLEAK;
        else if (strcmp(tok, "indirect") == 0)
            mask |= KIND_INDIRECT;
        else if (strcmp(tok, "possible") == 0)
            mask |= KIND_POSSIBLE;
        else if (strcmp(tok, "reachable") == 0)
            mask |= KIND_REACHABLE;
        else if (strcmp(tok, "cycle") == 0)
            mask |= KIND_CYCLE;
        else if (strcmp(tok, "refleak") == 0)
            mask |= KIND_REFLEAK;
        else if (strcmp(tok, "all") == 0)
            mask |= KIND_ALL;
        else if (strcmp(tok, "none") == 0)
            mask |= 0;
        else
            return -EINVAL;
    }
    *out = mask;
    return 0;
}

/* One frame line of a Valgrind block. */
static int parse_frame_line(struct supp *s, char *line)
{
    char *colon;
    long ln = 0;

    if (strcmp(line, "...") == 0)
        return push_pat(s, PAT_ANY, NULL, 0);
    if (strncmp(line, "fun:", 4) == 0)
        return push_pat(s, PAT_FUN, line + 4, 0);
    if (strncmp(line, "obj:", 4) == 0)
        return push_pat(s, PAT_OBJ, line + 4, 0);
    if (strncmp(line, "src:", 4) == 0) {
        line += 4;
        colon = strrchr(line, ':');
        if (colon != NULL && colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
            ln = strtol(colon + 1, NULL, 10);
            *colon = '\0';
        }
        return push_pat(s, PAT_SRC, line, (int)ln);
    }
    return -EINVAL;
}

/* Is the block's second line (tool:kind) a Memcheck leak suppression? */
static int is_memcheck_leak(const char *line)
{
    const char *colon = strrchr(line, ':');
    size_t toollen;
    const char *p = line;

    if (colon == NULL || strcmp(colon + 1, "Leak") != 0)
        return 0;
    /* a comma-separated list of tools: Memcheck,Addrcheck:Leak */
    while (p < colon) {
        const char *end = memchr(p, ',', (size_t)(colon - p));

        if (end == NULL)
            end = colon;
        toollen = (size_t)(end - p);
        if (toollen == 8 && strncmp(p, "Memcheck", 8) == 0)
            return 1;
        p = end + 1;
    }
    return 0;
}

int lg_suppressions_add_file(struct lg_suppressions *set, const char *path, char *err,
                             size_t errlen)
{
    enum { OUTSIDE, NAME, TOOL, BODY, SKIP } state = OUTSIDE;
    struct supp cur = { 0 };
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, start = 0, rc = 0;
    FILE *f;

    f = fopen(path, "r");
    if (f == NULL) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    while ((len = getline(&buf, &cap, f)) >= 0) {
        char *line = trim(buf);

        lineno++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        switch (state) {
        case OUTSIDE:
            if (strcmp(line, "{") == 0) {
                memset(&cur, 0, sizeof(cur));
                cur.kinds = KIND_ALL;
                start = lineno;
                state = NAME;
            } else if (strncmp(line, "leak:", 5) == 0) {
                const char *pat = trim(line + 5);

                if (pat[0] == '\0') {
                    snprintf(err, errlen, "%s:%d: empty leak: pattern", path, lineno);
                    rc = -EINVAL;
                    goto out;
                }
                memset(&cur, 0, sizeof(cur));
                cur.is_lsan = 1;
                cur.kinds = KIND_ALL & ~KIND_REACHABLE;
                cur.lsan_pattern = strdup(pat);
                cur.name = malloc(strlen(pat) + 6);
                if (cur.name == NULL || cur.lsan_pattern == NULL) {
                    rc = -ENOMEM;
                    goto fail_cur;
                }
                sprintf(cur.name, "leak:%s", pat);
                rc = push_supp(set, &cur);
                if (rc < 0)
                    goto fail_cur;
                memset(&cur, 0, sizeof(cur));   /* the set owns it now */
            } else if (strspn(line, "abcdefghijklmnopqrstuvwxyz_-") > 0 &&
                       line[strspn(line, "abcdefghijklmnopqrstuvwxyz_-")] == ':') {
                /* another sanitizer's suppression type: not ours */
            } else {
                snprintf(err, errlen, "%s:%d: not a suppression: %.60s", path, lineno, line);
                rc = -EINVAL;
                goto out;
            }
            break;
        case NAME:
            if (strcmp(line, "}") == 0 || strcmp(line, "{") == 0) {
                snprintf(err, errlen, "%s:%d: suppression without a name", path, lineno);
                rc = -EINVAL;
                goto out;
            }
            cur.name = strdup(line);
            if (cur.name == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            state = TOOL;
            break;
        case TOOL:
            if (strcmp(line, "}") == 0) {
                snprintf(err, errlen, "%s:%d: suppression '%s' has no tool:kind line", path,
                         lineno, cur.name);
                rc = -EINVAL;
                goto fail_cur;
            }
            if (strchr(line, ':') == NULL) {
                snprintf(err, errlen, "%s:%d: expected tool:kind (Memcheck:Leak), got %.60s",
                         path, lineno, line);
                rc = -EINVAL;
                goto fail_cur;
            }
            state = is_memcheck_leak(line) ? BODY : SKIP;
            break;
        case BODY:
            if (strcmp(line, "}") == 0) {
                rc = push_supp(set, &cur);
                if (rc < 0)
                    goto fail_cur;
                memset(&cur, 0, sizeof(cur));
                state = OUTSIDE;
            } else if (strncmp(line, "match-leak-kinds:", 17) == 0) {
                if (parse_kinds(line + 17, &cur.kinds) < 0) {
                    snprintf(err, errlen, "%s:%d: unknown leak kind in %.60s", path, lineno,
                             line);
                    rc = -EINVAL;
                    goto fail_cur;
                }
            } else if (parse_frame_line(&cur, line) < 0) {
                snprintf(err, errlen, "%s:%d: expected fun:, obj:, src: or ..., got %.60s",
                         path, lineno, line);
                rc = -EINVAL;
                goto fail_cur;
            }
            break;
        case SKIP:
            if (strcmp(line, "}") == 0) {
                supp_clear(&cur);
                memset(&cur, 0, sizeof(cur));
                state = OUTSIDE;
            }
            break;
        }
    }
    if (state != OUTSIDE) {
        snprintf(err, errlen, "%s:%d: block opened here is not closed", path, start);
        rc = -EINVAL;
        goto fail_cur;
    }
    goto out;

fail_cur:
    supp_clear(&cur);
out:
    free(buf);
    fclose(f);
    return rc;
}

struct lg_suppressions *lg_suppressions_load(const char *path, char *err, size_t errlen)
{
    struct lg_suppressions *set = lg_suppressions_new();
    int rc;

    if (set == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        errno = ENOMEM;
        return NULL;
    }
    rc = lg_suppressions_add_file(set, path, err, errlen);
    if (rc < 0) {
        lg_suppressions_free(set);
        errno = -rc;
        return NULL;
    }
    return set;
}
