/* sarif.c - the SARIF 2.1.0 report. Owns the mapping from loss records to
 * SARIF results (docs/reports.md has it as a table):
 *   - one run, tool.driver "leakgraph" with one rule per kind of record
 *     (definitely-lost, indirectly-lost, possibly-lost, still-reachable,
 *     garbage-cycle, reference-leak), ruleIndex = enum lg_leak_kind;
 *   - one result per shown record: level error (definitely lost, garbage
 *     cycle, reference leak), warning (possibly lost), note (indirectly lost,
 *     still reachable); message = the text report's headline;
 *   - locations[0] = the first frame of the user's own code (lg_frame_is_user),
 *     else the first frame with a source line, else the module file alone;
 *     uris relative to the current directory (uriBaseId SRCROOT) when the
 *     file lies under it, absolute file: URIs otherwise;
 *   - codeFlows[0] = the whole allocating stack, outermost first;
 *   - relatedLocations = where each member of a garbage cycle was allocated,
 *     or where each unmatched incref of a reference leak was taken;
 *   - partialFingerprints["leakgraph/v1"] = FNV-1a of the leak's identity
 *     (lg_leak_key: kind, type, stack functions), stable across rebuilds;
 *   - records with the same identity in several processes (a report over
 *     many traces) are one result: occurrenceCount says how many records,
 *     properties.processes in how many processes, totalBytes/totalBlocks
 *     their sum; the first record found gives the locations. */
#include "sarif.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "baseline.h"
#include "reports_util.h"

#ifndef LG_VERSION
#define LG_VERSION "0.1.0"
#endif

static const struct {
    const char *id, *name, *level, *shortd, *fulld;
} rules[LG_NKINDS] = {
    [LG_LEAK_DEFINITELY_LOST] = {
        "definitely-lost", "DefinitelyLost", "error",
        "Heap block no pointer reaches",
        "No pointer to the block is reachable from any root (globals, thread stacks, TLS, "
        "registers): the program can never free it. Free it on every path, or give it an owner "
        "that does." },
    [LG_LEAK_INDIRECTLY_LOST] = {
        "indirectly-lost", "IndirectlyLost", "note",
        "Heap block reachable only from lost blocks",
        "The block is pointed to only by blocks that are themselves lost; fixing the leak of "
        "its owner usually fixes this one." },
    [LG_LEAK_POSSIBLY_LOST] = {
        "possibly-lost", "PossiblyLost", "warning",
        "Heap block reachable only through interior pointers",
        "Only pointers into the middle of the block were found, which may be a leak or a "
        "pointer kept to an offset inside it." },
    [LG_LEAK_STILL_REACHABLE] = {
        "still-reachable", "StillReachable", "note",
        "Heap block still referenced at exit",
        "A chain of pointers from a root still leads to the block when the snapshot was taken; "
        "not a leak, but memory the program never released." },
    [LG_LEAK_GARBAGE_CYCLE] = {
        "garbage-cycle", "GarbageCycle", "error",
        "Reference-counted objects that only keep each other alive",
        "The objects form a reference cycle that nothing outside reaches; their reference "
        "counts never drop to zero. Break the cycle (a weak reference, or clearing a field "
        "before the last release), or run the cycle collector." },
    [LG_LEAK_REFERENCE_LEAK] = {
        "reference-leak", "ReferenceLeak", "error",
        "Reference taken and never released",
        "The object's reference count counts a reference no live object or root holds: an "
        "incref without its decref. The unmatched increfs are listed as related locations." },
};

/* The records that share one identity. */
struct group {
    UT_hash_handle hh;
    char *key;
    size_t input;                    /* first record: in[input].a->records[record] */
    uint32_t record;
    uint64_t count, processes, bytes, blocks;
    size_t last_input;
    struct group *next;              /* in order of first appearance */
};

struct ctx {
    FILE *out;
    char cwd[4096];
    size_t cwdlen;
    struct lg_frame *frames;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* A URI reference with every byte outside RFC 3986's unreserved set and
 * '/' percent-encoded. */
static void put_uri(FILE *out, const char *prefix, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";

    fputc('"', out);
    fputs(prefix, out);
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p) != NULL)
            fputc(*p, out);
        else
            fprintf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    fputc('"', out);
}

static void put_artifact(struct ctx *c, const char *path)
{
    fputs("\"artifactLocation\": {\"uri\": ", c->out);
    if (path[0] != '/') {
        /* relative in the DWARF: the compile directory is unknown, so
         * claim no base ("../sysdeps/..." from libc is not under ours) */
        put_uri(c->out, "", path);
        fputc('}', c->out);
    } else if (c->cwdlen > 0 && strncmp(path, c->cwd, c->cwdlen) == 0 &&
               path[c->cwdlen] == '/') {
        put_uri(c->out, "", path + c->cwdlen + 1);
        fputs(", \"uriBaseId\": \"SRCROOT\"}", c->out);
    } else {
        put_uri(c->out, "file://", path);
        fputc('}', c->out);
    }
}

static void frame_text(const struct lg_frame *f, char *buf, size_t len)
{
    if (f->function != NULL && f->file != NULL)
        snprintf(buf, len, "%s (%s:%d)%s", f->function, f->file, f->line,
                 f->inlined ? " [inlined]" : "");
    else if (f->function != NULL)
        snprintf(buf, len, "%s (%s)", f->function, f->module != NULL ? f->module : "?");
    else
        snprintf(buf, len, "%s+0x%" PRIx64, f->module != NULL ? f->module : "?",
                 f->module_offset);
}

/* A SARIF location object for one frame, with an optional message. */
static void put_location(struct ctx *c, const struct lg_snap *s, const struct lg_frame *f,
                         const char *message, int id)
{
    const char *mod = lg_frame_module_path(s, f);
    char text[1024];

    fputc('{', c->out);
    if (id >= 0)
        fprintf(c->out, "\"id\": %d, ", id);
    if (f->file != NULL) {
        fputs("\"physicalLocation\": {", c->out);
        put_artifact(c, f->file);
        if (f->line > 0)
            fprintf(c->out, ", \"region\": {\"startLine\": %d}", f->line);
        fputs("}, ", c->out);
    } else if (mod != NULL && mod[0] == '/') {
        fputs("\"physicalLocation\": {", c->out);
        put_artifact(c, mod);
        fprintf(c->out, ", \"address\": {\"relativeAddress\": %" PRIu64 "}}, ", f->module_offset);
    }
    frame_text(f, text, sizeof(text));
    fputs("\"logicalLocations\": [{\"name\": ", c->out);
    lg_json_string(c->out, f->function != NULL ? f->function : text);
    fputs(", \"kind\": \"function\"}], \"message\": {\"text\": ", c->out);
    if (message != NULL) {
        char both[1400];

        snprintf(both, sizeof(both), "%s: %s", message, text);
        lg_json_string(c->out, both);
    } else {
        lg_json_string(c->out, text);
    }
    fputs("}}", c->out);
}

static const struct lg_frame *primary_frame(const struct lg_snap *s, const struct lg_frame *f,
                                            size_t n)
{
    const struct lg_frame *u = lg_first_user_frame(s, f, n);

    for (size_t i = 0; u == NULL && i < n; i++)
        if (f[i].file != NULL && !lg_pc_in_shim(s, f[i].address))
            u = &f[i];
    return u != NULL ? u : (n > 0 ? &f[0] : NULL);
}

/* The first user frame of a stack id, for related locations; NULL if none. */
static const struct lg_frame *stack_user_frame(struct ctx *c, const struct lg_snap *s,
                                               struct lg_symbolizer *sym, uint32_t stack,
                                               struct lg_frame *tmp)
{
    size_t n = lg_stack_frames(s, sym, stack, tmp, LG_MAX_FRAMES);

    (void)c;
    return primary_frame(s, tmp, n);
}

static void put_related(struct ctx *c, const struct lg_sarif_input *in, const struct lg_record *r)
{
    const struct lg_analysis *a = in->a;
    const struct lg_snap *s = a->snap;
    struct lg_frame *tmp = malloc(LG_MAX_FRAMES * sizeof(*tmp));
    int id = 0;
    char msg[256];

    if (tmp == NULL)
        return;
    fputs(", \"relatedLocations\": [", c->out);
    if (r->kind == LG_LEAK_GARBAGE_CYCLE) {
        const struct lg_cycle *cy = &a->cycles[r->cycle];

        for (uint32_t i = 0; i < cy->nmembers && i < 64; i++) {
            const struct lg_object *o = &s->objects[a->cycle_members[cy->first_member + i]];
            const struct lg_frame *f = stack_user_frame(c, s, in->sym, s->blocks[o->block].stack,
                                                        tmp);

            if (f == NULL)
                continue;
            snprintf(msg, sizeof(msg), "cycle member %s at 0x%" PRIx64 " allocated",
                     lg_snap_string(s, o->type_name), o->address);
            fputs(id > 0 ? ", " : "", c->out);
            put_location(c, s, f, msg, id++);
        }
    } else if (r->kind == LG_LEAK_REFERENCE_LEAK) {
        const struct lg_refleak *rl = &a->refleaks[r->refleak];

        for (uint32_t i = 0; i < rl->nincref && i < 64; i++) {
            const struct lg_history *h = &s->history[a->increfs[rl->first_incref + i]];
            const struct lg_frame *f = stack_user_frame(c, s, in->sym, h->stack, tmp);

            if (f == NULL)
                continue;
            fputs(id > 0 ? ", " : "", c->out);
            put_location(c, s, f, h->event == LG_HIST_NEW ?
                         "created here (its first reference was never released)" :
                         "unmatched incref", id++);
        }
    }
    fputc(']', c->out);
    free(tmp);
}

static void put_result(struct ctx *c, const struct lg_sarif_input *in, const struct lg_record *r,
                       const struct group *g, bool *first)
{
    const struct lg_analysis *a = in->a;
    const struct lg_snap *s = a->snap;
    size_t n = lg_stack_frames(s, in->sym, r->stack, c->frames, LG_MAX_FRAMES);
    const struct lg_frame *p = primary_frame(s, c->frames, n);
    const char *type = lg_record_type(a, r);
    char headline[1200];
    char *key;

    lg_record_headline(a, r, headline, sizeof(headline));
    if (g->processes > 1) {
        size_t used = strlen(headline);

        snprintf(headline + used, sizeof(headline) - used, " (in %" PRIu64 " processes, %" PRIu64
                 " bytes in %" PRIu64 " blocks in all)", g->processes, g->bytes, g->blocks);
    }
    fputs(*first ? "\n    " : ",\n    ", c->out);
    *first = false;
    fprintf(c->out, "{\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": "
            "{\"text\": ", rules[r->kind].id, (int)r->kind, rules[r->kind].level);
    lg_json_string(c->out, headline);
    fprintf(c->out, "}, \"occurrenceCount\": %" PRIu64 ",\n     \"locations\": [", g->count);
    if (p != NULL)
        put_location(c, s, p, NULL, -1);
    fputc(']', c->out);
    key = lg_leak_key(lg_leak_kind_name(r->kind), type, c->frames, n);
    if (key != NULL)
        fprintf(c->out, ",\n     \"partialFingerprints\": {\"leakgraph/v1\": \"%016" PRIx64 "\"}",
                fnv1a(key));
    free(key);
    if (n > 0) {
        fputs(",\n     \"codeFlows\": [{\"message\": {\"text\": \"allocating stack\"}, "
              "\"threadFlows\": [{\"locations\": [", c->out);
        for (size_t i = n; i-- > 0;) {
            fputs(i + 1 < n ? ", " : "", c->out);
            fputs("{\"location\": ", c->out);
            put_location(c, s, &c->frames[i], NULL, -1);
            fputc('}', c->out);
        }
        fputs("]}]}]", c->out);
    }
    if (r->kind == LG_LEAK_GARBAGE_CYCLE || r->kind == LG_LEAK_REFERENCE_LEAK)
        put_related(c, in, r);
    fprintf(c->out, ",\n     \"properties\": {\"kind\": \"%s\", \"bytes\": %" PRIu64
            ", \"blocks\": %" PRIu64 ", \"ownedBytes\": %" PRIu64 ", \"ownedBlocks\": %" PRIu64
            ", \"type\": ", lg_leak_kind_name(r->kind), r->self.bytes, r->self.blocks,
            r->owned.bytes, r->owned.blocks);
    lg_json_string(c->out, type);
    fprintf(c->out, ", \"pid\": %" PRIu32 ", \"exe\": ", in->trace->proc.pid);
    lg_json_string(c->out, in->trace->exe);
    fputs(", \"trace\": ", c->out);
    lg_json_string(c->out, in->trace->path);
    fprintf(c->out, ", \"processes\": %" PRIu64 ", \"totalBytes\": %" PRIu64
            ", \"totalBlocks\": %" PRIu64 "}}", g->processes, g->bytes, g->blocks);
}

/* Group the shown records by identity; returns the first group (list in
 * order of appearance, hashed in *table), NULL when none or out of memory. */
static struct group *group_records(struct ctx *c, const struct lg_sarif_input *in, size_t n,
                                   bool show_reachable, struct group **table)
{
    struct group *first = NULL, *last = NULL, *g;

    for (size_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < in[i].a->nrecords; k++) {
            const struct lg_record *r = &in[i].a->records[k];
            size_t nf;
            char *key;

            if (r->suppressed || (r->kind == LG_LEAK_STILL_REACHABLE && !show_reachable))
                continue;
            nf = lg_stack_frames(in[i].a->snap, in[i].sym, r->stack, c->frames, LG_MAX_FRAMES);
            key = lg_leak_key(lg_leak_kind_name(r->kind), lg_record_type(in[i].a, r), c->frames,
                              nf);
            if (key == NULL)
                continue;
            HASH_FIND_STR(*table, key, g);
            if (g == NULL) {
                g = calloc(1, sizeof(*g));
                if (g == NULL) {
                    free(key);
                    continue;
                }
                g->key = key;
                g->input = i;
                g->record = k;
                g->last_input = SIZE_MAX;
                HASH_ADD_KEYPTR(hh, *table, g->key, strlen(g->key), g);
                if (last != NULL)
                    last->next = g;
                else
                    first = g;
                last = g;
            } else {
                free(key);
            }
            g->count++;
            g->bytes += r->self.bytes + r->owned.bytes;
            g->blocks += r->self.blocks + r->owned.blocks;
            if (g->last_input != i) {
                g->processes++;
                g->last_input = i;
            }
        }
    }
    return first;
}

static void put_rules(FILE *out)
{
    for (int k = 0; k < LG_NKINDS; k++) {
        fprintf(out, "%s\n        {\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ",
                k > 0 ? "," : "", rules[k].id, rules[k].name);
        lg_json_string(out, rules[k].shortd);
        fputs("}, \"fullDescription\": {\"text\": ", out);
        lg_json_string(out, rules[k].fulld);
        fputs("}, \"help\": {\"text\": ", out);
        lg_json_string(out, rules[k].fulld);
        fprintf(out, "}, \"defaultConfiguration\": {\"level\": \"%s\"}, "
                "\"properties\": {\"tags\": [\"memory\", \"leak\"]}}", rules[k].level);
    }
}

int lg_render_sarif(FILE *out, const struct lg_sarif_input *in, size_t n, bool show_reachable)
{
    struct ctx c = { .out = out };
    struct group *table = NULL, *groups, *g, *gtmp;
    bool first = true;

    c.frames = malloc(LG_MAX_FRAMES * sizeof(*c.frames));
    if (c.frames == NULL)
        return -ENOMEM;
    if (getcwd(c.cwd, sizeof(c.cwd)) != NULL)
        c.cwdlen = strlen(c.cwd);
    if (c.cwdlen == 1)
        c.cwdlen = 0;                /* "/": every path is absolute anyway */
    fputs("{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
          "  \"version\": \"2.1.0\",\n  \"runs\": [{\n"
          "    \"tool\": {\"driver\": {\"name\": \"leakgraph\", \"version\": \"" LG_VERSION "\", "
          "\"semanticVersion\": \"" LG_VERSION "\", \"rules\": [", out);
    put_rules(out);
    fputs("]}},\n    \"originalUriBaseIds\": {\"SRCROOT\": {\"uri\": ", out);
    if (c.cwdlen > 0) {
        char dir[4100];

        snprintf(dir, sizeof(dir), "%s/", c.cwd);
        put_uri(out, "file://", dir);
    } else {
        fputs("\"file:///\"", out);
    }
    fputs("}},\n    \"results\": [", out);
    groups = group_records(&c, in, n, show_reachable, &table);
    for (g = groups; g != NULL; g = g->next)
        put_result(&c, &in[g->input], &in[g->input].a->records[g->record], g, &first);
    fputs("]\n  }]\n}\n", out);
    HASH_ITER(hh, table, g, gtmp) {
        HASH_DEL(table, g);
        free(g->key);
        free(g);
    }
    free(c.frames);
    return ferror(out) ? -EIO : 0;
}
