/* reports_missing.c - stand-ins for the reporting extras (check, diff,
 * graph, the symbolizer), compiled only while cli/reports.cmake does not
 * exist, so the command always links. The symbolizer here gives module +
 * offset only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "modules_lookup.h"
#include "symbolize.h"

static int missing(const char *cmd)
{
    fprintf(stderr, "leakgraph: %s is not built\n", cmd);
    return LG_EXIT_USAGE;
}

int lg_cmd_check(int argc, char **argv) { (void)argc; (void)argv; return missing("check"); }
int lg_cmd_diff(int argc, char **argv) { (void)argc; (void)argv; return missing("diff"); }
int lg_cmd_graph(int argc, char **argv) { (void)argc; (void)argv; return missing("graph"); }

struct lg_symbolizer {
    const struct lg_snap *snap;
};

struct lg_symbolizer *lg_symbolizer_new(const struct lg_snap *snap)
{
    struct lg_symbolizer *s = calloc(1, sizeof(*s));
    if (s)
        s->snap = snap;
    return s;
}

void lg_symbolizer_free(struct lg_symbolizer *sym) { free(sym); }

size_t lg_symbolize_in(struct lg_symbolizer *sym, uint32_t stack, uint64_t pc,
                       struct lg_frame *out, size_t max)
{
    if (max == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    out->address = pc;
    uint32_t mi = sym ? lg_module_of(sym->snap, stack, pc > 0 ? pc - 1 : pc) : LG_NONE;
    if (mi != LG_NONE) {
        const struct lg_mod *m = &sym->snap->modules[mi];
        const char *b = strrchr(m->path, '/');
        out->module = b ? b + 1 : m->path;
        out->module_offset = pc - m->m.base;
    }
    return 1;
}

size_t lg_symbolize(struct lg_symbolizer *sym, uint64_t pc, struct lg_frame *out, size_t max)
{
    return lg_symbolize_in(sym, LG_NONE, pc, out, max);
}

const char *const *lg_symbolizer_warnings(struct lg_symbolizer *sym)
{
    static const char *const none[] = {NULL};
    (void)sym;
    return none;
}
