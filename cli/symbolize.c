/* symbolize.c - return addresses to function, file:line and inlined frames,
 * offline, with libdwfl (elfutils). Owns one Dwfl session per module of the
 * snapshot's module map (opened lazily, the first time an address falls in
 * the module), the per-address cache (keyed by address and module: with
 * module epochs one address may lie in two modules, see modules_lookup.h),
 * the interned strings every lg_frame points to, and the warning lines.
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
#include "modules_lookup.h"

#include <dlfcn.h>
#include <stdbool.h>
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

/* One libdwfl session per module file, shared by every symbolizer of the
 * process: reading a file's DWARF (often compressed) is the expensive part,
 * and `check` over hundreds of traces of one program meets the same files
 * again and again, at other load addresses. A session is keyed by the path,
 * the build id the trace recorded and the debuginfo search path, and lives
 * until the process exits. Addresses are translated from a snapshot's load
 * bias to the one the session was opened with. */
struct session {
    struct session *next;
    char *path;
    uint8_t *build_id;
    uint32_t build_id_len;
    char *debuginfo_path;            /* NULL = elfutils' default */
    char *debuginfo_path_cb;         /* what callbacks.debuginfo_path points to */
    Dwfl_Callbacks callbacks;        /* must outlive dwfl */
    uint64_t base;                   /* load bias the module was reported at */
    Dwfl *dwfl;                      /* NULL: offsets only (see why) */
    Dwfl_Module *mod;
    const char *why;                 /* format of the warning, "%s" = path */
};

static struct session *sessions;    /* process-wide; see struct session */

/* At exit: a leak checker that leaves its own heap to Valgrind is no example. */
static void end_sessions(void)
{
    while (sessions != NULL) {
        struct session *next = sessions->next;

        if (sessions->dwfl != NULL)
            dwfl_end(sessions->dwfl);
        free(sessions->path);
        free(sessions->debuginfo_path);
        free(sessions->build_id);
        free(sessions);
        sessions = next;
    }
}

struct mod_sess {
    int opened;
    struct session *ses;             /* NULL: offsets only, no warning */
    const char *name;                /* interned basename */
};

struct cache_key {
    uint64_t pc;
    uint32_t module;                 /* index; LG_NONE without epochs (one
                                        module per address) or when none covers it */
    uint32_t pad;                    /* zero: the key is hashed as bytes */
};

struct cached {
    struct cache_key key;
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
    bool by_stack;                   /* some module was unloaded: a frame's
                                        module depends on its stack */
    struct mod_sess *mods;           /* snap->nmodules */
    struct cached *cache;
    struct interned *strings;
    char **warnings;                 /* NULL-terminated */
    size_t nwarnings;
    char *debuginfo_path;            /* LEAKGRAPH_DEBUGINFO_PATH, or NULL */
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
    sym->by_stack = lg_snap_has_unloaded(snap);
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

static int same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Open a session for the file (or learn why it cannot serve the trace). */
static struct session *open_session(const struct lg_mod *m, const char *debuginfo_path)
{
    struct session *ses = calloc(1, sizeof(*ses));
    const unsigned char *bits;
    GElf_Addr vaddr;
    struct stat st;
    int len;

    if (ses == NULL)
        return NULL;
    ses->path = strdup(m->path);
    ses->debuginfo_path = debuginfo_path != NULL ? strdup(debuginfo_path) : NULL;
    ses->debuginfo_path_cb = ses->debuginfo_path;
    ses->build_id_len = m->build_id != NULL ? m->m.build_id_len : 0;
    ses->build_id = ses->build_id_len > 0 ? malloc(ses->build_id_len) : NULL;
    if (ses->path == NULL || (debuginfo_path != NULL && ses->debuginfo_path == NULL) ||
        (ses->build_id_len > 0 && ses->build_id == NULL))
        goto fail_free;
    if (ses->build_id_len > 0)
        memcpy(ses->build_id, m->build_id, ses->build_id_len);
    ses->base = m->m.base;
    ses->callbacks.find_elf = dwfl_build_id_find_elf;
    ses->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    ses->callbacks.section_address = dwfl_offline_section_address;
    ses->callbacks.debuginfo_path = ses->debuginfo_path != NULL ? &ses->debuginfo_path_cb : NULL;
    if (stat(m->path, &st) != 0) {
        ses->why = "%s: file not found; showing offsets";
        return ses;
    }
    ses->dwfl = dwfl_begin(&ses->callbacks);
    if (ses->dwfl == NULL) {
        ses->why = "%s: cannot start libdw; showing offsets";
        return ses;
    }
    dwfl_report_begin(ses->dwfl);
    /* ET_DYN: base is the load bias (dlpi_addr), added to the p_vaddrs;
     * ET_EXEC ignores it. */
    ses->mod = dwfl_report_elf(ses->dwfl, base_name(m->path), m->path, -1, m->m.base, true);
    dwfl_report_end(ses->dwfl, NULL, NULL);
    if (ses->mod == NULL) {
        ses->why = "%s: not a readable ELF file; showing offsets";
        goto fail_end;
    }
    if (ses->build_id_len > 0) {
        len = dwfl_module_build_id(ses->mod, &bits, &vaddr);
        if (len != (int)ses->build_id_len || memcmp(bits, ses->build_id, (size_t)len) != 0) {
            ses->why = "%s: build id differs from the trace; showing offsets";
            goto fail_end;
        }
    }
    return ses;

fail_end:
    dwfl_end(ses->dwfl);
    ses->dwfl = NULL;
    ses->mod = NULL;
    return ses;
fail_free:
    free(ses->path);
    free(ses->debuginfo_path);
    free(ses->build_id);
    free(ses);
    return NULL;
}

/* Module i's session, found or opened once per process; after this the
 * module is opened (ses NULL: offsets only). */
static void open_module(struct lg_symbolizer *sym, uint32_t i)
{
    const struct lg_mod *m = &sym->snap->modules[i];
    struct mod_sess *ms = &sym->mods[i];
    uint32_t idlen = m->build_id != NULL ? m->m.build_id_len : 0;
    struct session *ses;

    ms->opened = 1;
    ms->name = intern(sym, base_name(m->path));
    if (is_pseudo_module(m->path))
        return;
    for (ses = sessions; ses != NULL; ses = ses->next)
        if (strcmp(ses->path, m->path) == 0 && ses->build_id_len == idlen &&
            (idlen == 0 || memcmp(ses->build_id, m->build_id, idlen) == 0) &&
            same_str(ses->debuginfo_path, sym->debuginfo_path))
            break;
    if (ses == NULL) {
        ses = open_session(m, sym->debuginfo_path);
        if (ses == NULL)
            return;
        if (sessions == NULL)
            atexit(end_sessions);
        ses->next = sessions;
        sessions = ses;
    }
    ms->ses = ses;
    if (ses->dwfl == NULL)
        add_warning(sym, ses->why, m->path);
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

/* The deepest scope DIE under die that holds pc: what dwarf_getscopes()
 * would return first, found by the same walk (the tags and the descent of
 * elfutils' libdw_visit_scopes.c) without it, because dwarf_getscopes()
 * leaks the array it built when its second pass fails (elfutils 0.188;
 * found by fuzzing a module map that puts addresses at odd places).
 * Nesting deeper than 64 is not followed (a hostile file named by a trace). */
static bool find_scope(Dwarf_Die *die, Dwarf_Addr pc, int depth, Dwarf_Die *found)
{
    Dwarf_Die child, imported;
    Dwarf_Attribute attr;

    if (depth > 64 || dwarf_child(die, &child) != 0)
        return false;
    do {
        switch (dwarf_tag(&child)) {
        case DW_TAG_module:
        case DW_TAG_lexical_block:
        case DW_TAG_with_stmt:
        case DW_TAG_catch_block:
        case DW_TAG_try_block:
        case DW_TAG_entry_point:
        case DW_TAG_inlined_subroutine:
        case DW_TAG_subprogram:
            if (dwarf_haspc(&child, pc) <= 0)
                continue;
            *found = child;          /* a deeper one found below replaces it */
            (void)find_scope(&child, pc, depth + 1, found);
            return true;
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
            if (find_scope(&child, pc, depth + 1, found))
                return true;
            continue;
        case DW_TAG_imported_unit:
            if (dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attr), &imported) != NULL &&
                find_scope(&imported, pc, depth + 1, found))
                return true;
            continue;
        default:
            continue;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return false;
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
    /* The innermost scope, then its parents from dwarf_getscopes_die(): past
     * an inlined subroutine those are the concrete callers (as eu-addr2line
     * -i does), where dwarf_getscopes() would go on with the scopes of its
     * abstract definition. */
    innermost = *cudie;
    (void)find_scope(cudie, lookup - bias, 0, &innermost);
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

/* Frames for pc in module mi (LG_NONE: none covers it). */
static size_t resolve(struct lg_symbolizer *sym, uint64_t pc, uint32_t mi, struct lg_frame *out,
                      size_t max)
{
    uint64_t lookup = pc > 0 ? pc - 1 : pc;
    struct mod_sess *ms;
    size_t n = 0;

    memset(&out[0], 0, sizeof(out[0]));
    out[0].address = pc;
    out[0].module_offset = pc;
    if (mi == LG_NONE)
        return 1;
    ms = &sym->mods[mi];
    if (!ms->opened)
        open_module(sym, mi);
    out[0].module = ms->name;
    out[0].module_offset = pc - sym->snap->modules[mi].m.base;
    if (ms->ses == NULL || ms->ses->dwfl == NULL)
        return 1;
    /* the session may have been opened for another process of the program */
    lookup = lookup - sym->snap->modules[mi].m.base + ms->ses->base;
    n = dwarf_frames(sym, ms->ses->mod, lookup, out, max);
    if (n == 0 || out[n - 1].function == NULL) {
        const char *name = dwfl_module_addrname(ms->ses->mod, lookup);

        if (n == 0) {
            n = 1;
            if (out[0].file == NULL) {
                /* no CU covers it, but a line table might (no scopes) */
                Dwfl_Line *line = dwfl_module_getsrc(ms->ses->mod, lookup);
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

size_t lg_symbolize_in(struct lg_symbolizer *sym, uint32_t stack, uint64_t pc,
                       struct lg_frame *out, size_t max)
{
    struct cache_key key;
    struct cached *c;
    uint32_t mi;
    size_t n;

    if (max == 0)
        return 0;
    memset(&key, 0, sizeof(key));
    key.pc = pc;
    /* Unless a module was unloaded, an address lies in one module whatever
     * the stack (EPOCHS or not), so the module is found on a miss only and
     * the key's module stays LG_NONE: a hit costs one hash lookup, no scan
     * of the module map. Every recorded pc is a return address: look up
     * inside the call. */
    key.module = LG_NONE;
    mi = LG_NONE;
    if (sym->by_stack)
        key.module = mi = lg_module_of(sym->snap, stack, pc > 0 ? pc - 1 : pc);
    HASH_FIND(hh, sym->cache, &key, sizeof(key), c);
    if (c == NULL) {
        if (!sym->by_stack)
            mi = lg_module_of(sym->snap, LG_NONE, pc > 0 ? pc - 1 : pc);
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            struct lg_frame tmp[MAX_INLINE];

            n = resolve(sym, pc, mi, tmp, MAX_INLINE);
            memcpy(out, tmp, (n < max ? n : max) * sizeof(*out));
            return n < max ? n : max;
        }
        c->key = key;
        c->n = resolve(sym, pc, mi, c->frames, MAX_INLINE);
        HASH_ADD(hh, sym->cache, key, sizeof(c->key), c);
    }
    n = c->n < max ? c->n : max;
    memcpy(out, c->frames, n * sizeof(*out));
    if (n < c->n)
        out[n - 1].inlined = 0;      /* truncated: say nothing false about the rest */
    return n;
}

size_t lg_symbolize(struct lg_symbolizer *sym, uint64_t pc, struct lg_frame *out, size_t max)
{
    return lg_symbolize_in(sym, LG_NONE, pc, out, max);
}
