/* symbolize.c - return addresses to function, file:line and inlined frames,
 * offline, with libdwfl (elfutils). Owns one Dwfl session per module of the
 * snapshot's module map (opened lazily, the first time an address falls in
 * the module), the per-address cache, the interned strings every lg_frame
 * points to, and the warning lines.
 *
 * Lookup address. Every address the shim records is a return address: it
 * unwinds from inside its own allocation hook, so even the innermost recorded
 * frame is the instruction after a call. A return address may be the first
 * instruction of the next line, or of the next function when the call was
 * the last instruction of a noreturn path, so every address is looked up as
 * pc - 1, which lies inside the call instruction. lg_frame.address keeps the
 * recorded pc.
 *
 * Per address, in order of preference:
 *   1. DWARF (in the file or in a separate debug file found by build id or
 *      debuglink through dwfl_standard_find_debuginfo: /usr/lib/debug and
 *      LEAKGRAPH_DEBUGINFO_PATH, which has elfutils' --debuginfo-path syntax):
 *      the scopes at the address give the inlined subroutines, innermost
 *      first, then the subprogram; the line table gives the innermost
 *      file:line, each inlined subroutine's call_file/call_line the next.
 *   2. the ELF symbol table: function name only.
 *   3. module + offset (module file gone, build id differs, address outside
 *      the symbols).
 * C++ names are demangled with __cxa_demangle when libstdc++ can be loaded
 * (dlopen at the first mangled name; the CLI does not link libstdc++). */
#include "symbolize.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <uthash.h>

#define MAX_INLINE 16                /* frames kept for one address */

enum mod_state {
    MOD_UNOPENED = 0,
    MOD_READY,                       /* dwfl session open */
    MOD_OFFSETS,                     /* file gone / build id differs: offsets only */
};

struct mod_sess {
    enum mod_state state;
    Dwfl *dwfl;
    Dwfl_Module *mod;
    const char *name;                /* interned basename */
};

struct cached {
    uint64_t pc;
    size_t n;
    struct lg_frame frames[MAX_INLINE];
    UT_hash_handle hh;
};

struct interned {
    UT_hash_handle hh;
    char text[];
};

struct lg_symbolizer {
    const struct lg_snap *snap;      /* borrowed */
    struct mod_sess *mods;           /* snap->nmodules */
    struct cached *cache;
    struct interned *strings;
    char **warnings;                 /* NULL-terminated */
    size_t nwarnings;
    char *debuginfo_path;            /* for Dwfl_Callbacks; NULL = default */
    Dwfl_Callbacks callbacks;
    char *(*demangle)(const char *, char *, size_t *, int *);
    int demangle_tried;
};

static const char *intern(struct lg_symbolizer *sym, const char *s)
{
    struct interned *e;
    size_t len;

    if (s == NULL)
        return NULL;
    len = strlen(s);
    HASH_FIND(hh, sym->strings, s, len, e);
    if (e != NULL)
        return e->text;
    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;                 /* a missing name is not fatal */
    memcpy(e->text, s, len + 1);
    HASH_ADD_KEYPTR(hh, sym->strings, e->text, len, e);
    return e->text;
}

static void add_warning(struct lg_symbolizer *sym, const char *fmt, const char *name)
{
    char line[512];
    char **grown;

    snprintf(line, sizeof(line), fmt, name);
    grown = realloc(sym->warnings, (sym->nwarnings + 2) * sizeof(*grown));
    if (grown == NULL)
        return;
    sym->warnings = grown;
    grown[sym->nwarnings] = strdup(line);
    if (grown[sym->nwarnings] != NULL)
        sym->nwarnings++;
    grown[sym->nwarnings] = NULL;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

/* The kernel's vDSO and the main program's "" entry have no file to read;
 * they resolve to offsets without a warning. */
static int is_pseudo_module(const char *path)
{
    return path[0] == '\0' || path[0] == '[' || strncmp(path, "linux-vdso", 10) == 0 ||
           strncmp(path, "linux-gate", 10) == 0;
}

struct lg_symbolizer *lg_symbolizer_new(const struct lg_snap *snap)
{
    struct lg_symbolizer *sym;
    const char *env;

    sym = calloc(1, sizeof(*sym));
    if (sym == NULL)
        return NULL;
    sym->snap = snap;
    if (snap->nmodules > 0) {
        sym->mods = calloc(snap->nmodules, sizeof(*sym->mods));
        if (sym->mods == NULL)
            goto fail_free;
    }
    env = getenv("LEAKGRAPH_DEBUGINFO_PATH");
    if (env != NULL && env[0] != '\0') {
        sym->debuginfo_path = strdup(env);
        if (sym->debuginfo_path == NULL)
            goto fail_mods;
    }
    sym->callbacks.find_elf = dwfl_build_id_find_elf;
    sym->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    sym->callbacks.section_address = dwfl_offline_section_address;
    sym->callbacks.debuginfo_path = sym->debuginfo_path != NULL ? &sym->debuginfo_path : NULL;
    return sym;

fail_mods:
    free(sym->mods);
fail_free:
    free(sym);
    errno = ENOMEM;
    return NULL;
}

void lg_symbolizer_free(struct lg_symbolizer *sym)
{
    struct cached *c, *ctmp;
    struct interned *s, *stmp;

    if (sym == NULL)
        return;
    for (uint32_t i = 0; sym->mods != NULL && i < sym->snap->nmodules; i++)
        if (sym->mods[i].dwfl != NULL)
            dwfl_end(sym->mods[i].dwfl);
    HASH_ITER(hh, sym->cache, c, ctmp) {
        HASH_DEL(sym->cache, c);
        free(c);
    }
    HASH_ITER(hh, sym->strings, s, stmp) {
        HASH_DEL(sym->strings, s);
        free(s);
    }
    for (size_t i = 0; i < sym->nwarnings; i++)
        free(sym->warnings[i]);
    free(sym->warnings);
    free(sym->debuginfo_path);
    free(sym->mods);
    free(sym);
}

const char *const *lg_symbolizer_warnings(struct lg_symbolizer *sym)
{
    static const char *const none[] = { NULL };

    return sym->warnings != NULL ? (const char *const *)sym->warnings : none;
}

/* Open module i's session once; after this its state is READY or OFFSETS. */
static void open_module(struct lg_symbolizer *sym, uint32_t i)
{
    const struct lg_mod *m = &sym->snap->modules[i];
    struct mod_sess *ms = &sym->mods[i];
    const unsigned char *bits;
    GElf_Addr vaddr;
    struct stat st;
    int len;

    ms->name = intern(sym, base_name(m->path));
    ms->state = MOD_OFFSETS;
    if (is_pseudo_module(m->path))
        return;
    if (stat(m->path, &st) != 0) {
        add_warning(sym, "%s: file not found; showing offsets", m->path);
        return;
    }
    ms->dwfl = dwfl_begin(&sym->callbacks);
    if (ms->dwfl == NULL)
        return;
    dwfl_report_begin(ms->dwfl);
    /* ET_DYN: base is the load bias (dlpi_addr), added to the p_vaddrs;
     * ET_EXEC ignores it. */
    ms->mod = dwfl_report_elf(ms->dwfl, ms->name, m->path, -1, m->m.base, true);
    dwfl_report_end(ms->dwfl, NULL, NULL);
    if (ms->mod == NULL) {
        add_warning(sym, "%s: not a readable ELF file; showing offsets", m->path);
        goto fail_end;
    }
    if (m->build_id != NULL && m->m.build_id_len > 0) {
        len = dwfl_module_build_id(ms->mod, &bits, &vaddr);
        if (len != (int)m->m.build_id_len || memcmp(bits, m->build_id, (size_t)len) != 0) {
            add_warning(sym, "%s: build id differs from the trace; showing offsets", m->path);
            goto fail_end;
        }
    }
    ms->state = MOD_READY;
    return;

fail_end:
    dwfl_end(ms->dwfl);
    ms->dwfl = NULL;
    ms->mod = NULL;
}

static int find_module(const struct lg_snap *snap, uint64_t pc)
{
    for (uint32_t i = 0; i < snap->nmodules; i++)
        if (pc >= snap->modules[i].m.start && pc < snap->modules[i].m.end)
            return (int)i;
    return -1;
}

static const char *demangled(struct lg_symbolizer *sym, const char *name)
{
    char *out;
    const char *res;
    int status = 0;

    if (name == NULL || strncmp(name, "_Z", 2) != 0)
        return intern(sym, name);
    if (!sym->demangle_tried) {
        void *h;

        sym->demangle_tried = 1;
        *(void **)&sym->demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
        if (sym->demangle == NULL) {
            h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
            if (h != NULL)
                *(void **)&sym->demangle = dlsym(h, "__cxa_demangle");
            /* h stays open: the function pointer lives as long as the process */
        }
    }
    if (sym->demangle == NULL)
        return intern(sym, name);
    out = sym->demangle(name, NULL, NULL, &status);
    if (out == NULL || status != 0) {
        free(out);
        return intern(sym, name);
    }
    res = intern(sym, out);
    free(out);
    return res;
}

/* The name of a subprogram or inlined subroutine DIE, following
 * abstract_origin/specification: linkage name (demangled) first, since the
 * plain DW_AT_name of a C++ method lacks its class. */
static const char *die_function_name(struct lg_symbolizer *sym, Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *name;

    name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (name == NULL)
        name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    if (name != NULL)
        return demangled(sym, name);
    name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
    return intern(sym, name);
}

static int is_function_scope(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);

    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/* Frames from DWARF; 0 when the module has no DWARF for the address. */
static size_t dwarf_frames(struct lg_symbolizer *sym, Dwfl_Module *mod, uint64_t lookup,
                           struct lg_frame *out, size_t max)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cudie;
    Dwarf_Die *scopes = NULL;
    Dwarf_Die innermost;
    Dwarf_Files *files = NULL;
    size_t nfiles = 0, n = 0;
    Dwfl_Line *line;
    const char *file = NULL;
    int lineno = 0, nscopes;

    cudie = dwfl_module_addrdie(mod, lookup, &bias);
    if (cudie == NULL)
        return 0;
    line = dwfl_module_getsrc(mod, lookup);
    if (line != NULL)
        file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
    nscopes = dwarf_getscopes(cudie, lookup - bias, &scopes);
    if (nscopes <= 0) {
        free(scopes);
        return 0;
    }
    /* Past an inlined subroutine dwarf_getscopes() goes on with the scopes of
     * its abstract definition; the concrete callers are the innermost DIE's
     * parents, which dwarf_getscopes_die() gives (as eu-addr2line -i does). */
    innermost = scopes[0];
    free(scopes);
    scopes = NULL;
    nscopes = dwarf_getscopes_die(&innermost, &scopes);
    if (nscopes <= 0) {
        free(scopes);
        return 0;
    }
    (void)dwarf_getsrcfiles(cudie, &files, &nfiles);
    for (int i = 0; i < nscopes && n < max; i++) {
        Dwarf_Attribute attr;
        Dwarf_Word fidx, cline;

        if (!is_function_scope(&scopes[i]))
            continue;
        out[n].function = die_function_name(sym, &scopes[i]);
        out[n].file = intern(sym, file);
        out[n].line = lineno;
        out[n].inlined = 0;
        n++;
        if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
            break;                   /* the subprogram: outermost frame */
        out[n - 1].inlined = 1;
        /* the caller's position is where this body was inlined */
        file = NULL;
        lineno = 0;
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &fidx) == 0 &&
            files != NULL)
            file = dwarf_filesrc(files, fidx, NULL, NULL);
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &cline) == 0)
            lineno = (int)cline;
    }
    free(scopes);
    if (n > 0)
        out[n - 1].inlined = 0;      /* the last one written has no known caller here */
    return n;
}

static size_t resolve(struct lg_symbolizer *sym, uint64_t pc, struct lg_frame *out, size_t max)
{
    /* every recorded pc is a return address: look up inside the call */
    uint64_t lookup = pc > 0 ? pc - 1 : pc;
    int mi = find_module(sym->snap, lookup);
    struct mod_sess *ms;
    size_t n = 0;

    memset(&out[0], 0, sizeof(out[0]));
    out[0].address = pc;
    out[0].module_offset = pc;
    if (mi < 0)
        return 1;
    ms = &sym->mods[mi];
    if (ms->state == MOD_UNOPENED)
        open_module(sym, (uint32_t)mi);
    out[0].module = ms->name;
    out[0].module_offset = pc - sym->snap->modules[mi].m.base;
    if (ms->state != MOD_READY)
        return 1;
    n = dwarf_frames(sym, ms->mod, lookup, out, max);
    if (n == 0 || out[n - 1].function == NULL) {
        const char *name = dwfl_module_addrname(ms->mod, lookup);

        if (n == 0) {
            n = 1;
            if (out[0].file == NULL) {
                /* no CU covers it, but a line table might (no scopes) */
                Dwfl_Line *line = dwfl_module_getsrc(ms->mod, lookup);
                int lineno = 0;

                if (line != NULL) {
                    out[0].file = intern(sym, dwfl_lineinfo(line, NULL, &lineno, NULL,
                                                            NULL, NULL));
                    out[0].line = lineno;
                }
            }
        }
        out[n - 1].function = demangled(sym, name);
    }
    for (size_t i = 0; i < n; i++) {
        out[i].address = pc;
        out[i].module = ms->name;
        out[i].module_offset = pc - sym->snap->modules[mi].m.base;
    }
    return n;
}

size_t lg_symbolize(struct lg_symbolizer *sym, uint64_t pc, struct lg_frame *out, size_t max)
{
    struct cached *c;
    size_t n;

    if (max == 0)
        return 0;
    HASH_FIND(hh, sym->cache, &pc, sizeof(pc), c);
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            struct lg_frame tmp[MAX_INLINE];

            n = resolve(sym, pc, tmp, MAX_INLINE);
            memcpy(out, tmp, (n < max ? n : max) * sizeof(*out));
            return n < max ? n : max;
        }
        c->pc = pc;
        c->n = resolve(sym, pc, c->frames, MAX_INLINE);
        HASH_ADD(hh, sym->cache, pc, sizeof(c->pc), c);
    }
    n = c->n < max ? c->n : max;
    memcpy(out, c->frames, n * sizeof(*out));
    if (n < c->n)
        out[n - 1].inlined = 0;      /* truncated: say nothing false about the rest */
    return n;
}
