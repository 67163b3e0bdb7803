/* test_symbolize.c - the offline symbolizer against a real library: the test
 * dlopens libsymtest.so (built -g at known lines) at whatever base the loader
 * picks, builds a snapshot's module map by hand from dl_iterate_phdr, and
 * checks function, file:line and inlined frames; then the degraded cases:
 * wrong build id, missing file, no debug info, separate debug file. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbolize.h"

struct loaded {
    void *handle;
    const char *path;
    uint64_t base, start, end;
    uint8_t build_id[64];
    uint32_t build_id_len;
    void *(*outer)(void);
    void *(*with_inline)(void);
    int *lines;
};

static struct loaded dbg;            /* libsymtest.so, -g */
static struct loaded nodbg;          /* libsymtest_nodebug.so, -g0 */
static struct loaded cxx;            /* libsymtest_cxx.so, C++ */

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct loaded *l = arg;
    uint64_t lo = UINT64_MAX, hi = 0;

    (void)size;
    if (strcmp(info->dlpi_name, l->path) != 0)
        return 0;
    l->base = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_LOAD) {
            if (info->dlpi_addr + ph->p_vaddr < lo)
                lo = info->dlpi_addr + ph->p_vaddr;
            if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
                hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        } else if (ph->p_type == PT_NOTE) {
            const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
            const char *end = p + ph->p_memsz;

            while (p + sizeof(ElfW(Nhdr)) <= end) {
                const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
                const char *desc = p + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);

                if (nh->n_type == NT_GNU_BUILD_ID && nh->n_descsz <= sizeof(l->build_id)) {
                    memcpy(l->build_id, desc, nh->n_descsz);
                    l->build_id_len = nh->n_descsz;
                }
                p = desc + ((nh->n_descsz + 3) & ~3u);
            }
        }
    }
    l->start = lo;
    l->end = hi;
    return 1;
}

static int load(struct loaded *l, const char *path)
{
    l->path = path;
    l->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (l->handle == NULL)
        return -1;
    if (l == &cxx) {
        *(void **)&l->outer = dlsym(l->handle, "symtest_cxx_entry");
        return l->outer != NULL && dl_iterate_phdr(find_module, l) == 1 ? 0 : -1;
    }
    *(void **)&l->outer = dlsym(l->handle, "symtest_outer");
    *(void **)&l->with_inline = dlsym(l->handle, "symtest_with_inline");
    l->lines = dlsym(l->handle, "symtest_lines");
    if (l->outer == NULL || l->with_inline == NULL || l->lines == NULL)
        return -1;
    return dl_iterate_phdr(find_module, l) == 1 && l->build_id_len > 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    if (load(&dbg, SYMTEST_LIB) < 0 || load(&nodbg, SYMTEST_NODEBUG_LIB) < 0 ||
        load(&cxx, SYMTEST_CXX_LIB) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dlclose(dbg.handle);
    dlclose(nodbg.handle);
    dlclose(cxx.handle);
    return 0;
}

/* A one-module snapshot describing l, under another path if path != NULL. */
struct fake {
    struct lg_snap snap;
    struct lg_mod mod;
    uint8_t build_id[64];
};

static void fake_snap(struct fake *f, const struct loaded *l, const char *path)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->build_id, l->build_id, l->build_id_len);
    f->mod.m.base = l->base;
    f->mod.m.start = l->start;
    f->mod.m.end = l->end;
    f->mod.path = path != NULL ? path : l->path;
    f->mod.m.path_len = (uint32_t)strlen(f->mod.path);
    f->mod.build_id = f->build_id;
    f->mod.m.build_id_len = l->build_id_len;
    f->snap.nmodules = 1;
    f->snap.modules = &f->mod;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- resolved with DWARF ------------------------------------------------ */

static void test_symbolize_caller_function_name(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.outer();

    (void)state;
    fake_snap(&f, &dbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    assert_int_equal(lg_symbolize(sym, pc, fr, 4), 1);
    assert_string_equal(fr[0].function, "symtest_outer");
    lg_symbolizer_free(sym);
}

static void test_symbolize_caller_file_and_line(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.outer();

    (void)state;
    fake_snap(&f, &dbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    lg_symbolize(sym, pc, fr, 4);
    assert_true(fr[0].file != NULL && ends_with(fr[0].file, "/symtest_lib.c") &&
                fr[0].line == dbg.lines[0]);
    lg_symbolizer_free(sym);
}

static void test_symbolize_module_offset_is_pc_minus_load_bias(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.outer();

    (void)state;
    fake_snap(&f, &dbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    lg_symbolize(sym, pc, fr, 4);
    assert_true(fr[0].address == pc && fr[0].module_offset == pc - dbg.base &&
                strcmp(fr[0].module, "libsymtest.so") == 0);
    lg_symbolizer_free(sym);
}

static void test_symbolize_inlined_frame_comes_first(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.with_inline();
    size_t n;

    (void)state;
    fake_snap(&f, &dbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    n = lg_symbolize(sym, pc, fr, 4);
    assert_int_equal(n, 2);
    assert_true(fr[0].inlined == 1 && fr[0].line == dbg.lines[1] &&
                strcmp(fr[0].function, "symtest_inline_helper") == 0);
    lg_symbolizer_free(sym);
}

static void test_symbolize_inlined_call_site_is_callers_line(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.with_inline();

    (void)state;
    fake_snap(&f, &dbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    assert_int_equal(lg_symbolize(sym, pc, fr, 4), 2);
    assert_true(fr[1].inlined == 0 && fr[1].line == dbg.lines[2] &&
                strcmp(fr[1].function, "symtest_with_inline") == 0 &&
                ends_with(fr[1].file, "symtest_lib.c"));
    lg_symbolizer_free(sym);
}

static void test_symbolize_cached_address_gives_same_strings(void **state)
{
    struct fake f;
    struct lg_frame a[4], b[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.outer();

    (void)state;
    fake_snap(&f, &dbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    lg_symbolize(sym, pc, a, 4);
    lg_symbolize(sym, pc, b, 4);
    assert_ptr_equal(a[0].function, b[0].function);
    lg_symbolizer_free(sym);
}

static void test_symbolize_cxx_name_is_demangled(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)cxx.outer();

    (void)state;
    fake_snap(&f, &cxx, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    lg_symbolize(sym, pc, fr, 4);
    assert_string_equal(fr[0].function, "geo::Shape::where()");
    lg_symbolizer_free(sym);
}

/* A second process of the same program, loaded elsewhere: the session the
 * first one opened is reused with the addresses translated. */
static void test_symbolize_same_file_at_other_base_gives_same_line(void **state)
{
    struct fake f1, f2;
    struct lg_frame a[4], b[4];
    struct lg_symbolizer *s1, *s2;
    uint64_t pc = (uintptr_t)dbg.outer();
    const uint64_t shift = 0x40000000;

    (void)state;
    fake_snap(&f1, &dbg, NULL);
    fake_snap(&f2, &dbg, NULL);
    f2.mod.m.base += shift;
    f2.mod.m.start += shift;
    f2.mod.m.end += shift;
    s1 = lg_symbolizer_new(&f1.snap);
    s2 = lg_symbolizer_new(&f2.snap);
    assert_true(s1 != NULL && s2 != NULL);
    lg_symbolize(s1, pc, a, 4);
    lg_symbolize(s2, pc + shift, b, 4);
    assert_true(b[0].function != NULL && strcmp(a[0].function, b[0].function) == 0 &&
                a[0].line == b[0].line && b[0].module_offset == a[0].module_offset);
    lg_symbolizer_free(s1);
    lg_symbolizer_free(s2);
}

/* ---- degraded ----------------------------------------------------------- */

static void test_symbolize_wrong_build_id_gives_offsets(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.outer();

    (void)state;
    fake_snap(&f, &dbg, NULL);
    f.build_id[0] ^= 0xff;
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    assert_int_equal(lg_symbolize(sym, pc, fr, 4), 1);
    assert_true(fr[0].function == NULL && fr[0].file == NULL &&
                fr[0].module_offset == pc - dbg.base);
    lg_symbolizer_free(sym);
}

static void test_symbolize_wrong_build_id_warns_once(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    const char *const *w;

    (void)state;
    fake_snap(&f, &dbg, NULL);
    f.build_id[0] ^= 0xff;
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    lg_symbolize(sym, (uintptr_t)dbg.outer(), fr, 4);
    lg_symbolize(sym, (uintptr_t)dbg.with_inline(), fr, 4);
    w = lg_symbolizer_warnings(sym);
    assert_true(w[0] != NULL && strstr(w[0], "build id differs") != NULL && w[1] == NULL);
    lg_symbolizer_free(sym);
}

static void test_symbolize_missing_file_warns_and_gives_offsets(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    const char *const *w;

    (void)state;
    fake_snap(&f, &dbg, "/nonexistent/libsymtest.so");
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    lg_symbolize(sym, (uintptr_t)dbg.outer(), fr, 4);
    w = lg_symbolizer_warnings(sym);
    assert_true(fr[0].function == NULL && w[0] != NULL && strstr(w[0], "not found") != NULL);
    lg_symbolizer_free(sym);
}

static void test_symbolize_address_outside_modules_has_no_module(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;

    (void)state;
    fake_snap(&f, &dbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    assert_int_equal(lg_symbolize(sym, 0x10, fr, 4), 1);
    assert_true(fr[0].module == NULL && fr[0].function == NULL);
    lg_symbolizer_free(sym);
}

static void test_symbolize_no_debug_info_uses_symbol_table(void **state)
{
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)nodbg.outer();

    (void)state;
    fake_snap(&f, &nodbg, NULL);
    sym = lg_symbolizer_new(&f.snap);
    assert_non_null(sym);
    assert_int_equal(lg_symbolize(sym, pc, fr, 4), 1);
    assert_true(fr[0].file == NULL && fr[0].function != NULL &&
                strcmp(fr[0].function, "symtest_outer") == 0);
    lg_symbolizer_free(sym);
}

/* The library stripped of its DWARF, with the DWARF in a separate file under
 * DIR/.build-id/xx/yyyy.debug, as debuginfo packages install it. */
static void test_symbolize_separate_debug_file_gives_line(void **state)
{
    char dir[] = "/tmp/lg_symtest_XXXXXX";
    char cmd[2048], hex[129], stripped[512];
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;
    uint64_t pc = (uintptr_t)dbg.outer();

    (void)state;
    assert_non_null(mkdtemp(dir));
    for (uint32_t i = 0; i < dbg.build_id_len; i++)
        sprintf(hex + 2 * i, "%02x", dbg.build_id[i]);
    snprintf(stripped, sizeof(stripped), "%s/libsymtest.so", dir);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/.build-id/%.2s && objcopy --only-keep-debug %s %s/.build-id/%.2s/%s.debug"
             " && objcopy --strip-debug %s %s",
             dir, hex, dbg.path, dir, hex, hex + 2, dbg.path, stripped);
    assert_int_equal(system(cmd), 0);
    setenv("LEAKGRAPH_DEBUGINFO_PATH", dir, 1);
    fake_snap(&f, &dbg, stripped);
    sym = lg_symbolizer_new(&f.snap);
    unsetenv("LEAKGRAPH_DEBUGINFO_PATH");
    assert_non_null(sym);
    lg_symbolize(sym, pc, fr, 4);
    assert_true(fr[0].file != NULL && fr[0].line == dbg.lines[0]);
    lg_symbolizer_free(sym);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
}

/* Without the separate file the stripped copy has no line: the test above
 * cannot pass by reading the copy's own DWARF. */
static void test_symbolize_stripped_copy_alone_has_no_line(void **state)
{
    char dir[] = "/tmp/lg_symtest_XXXXXX";
    char cmd[1024], stripped[512];
    struct fake f;
    struct lg_frame fr[4];
    struct lg_symbolizer *sym;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(stripped, sizeof(stripped), "%s/libsymtest.so", dir);
    snprintf(cmd, sizeof(cmd), "objcopy --strip-debug %s %s", dbg.path, stripped);
    assert_int_equal(system(cmd), 0);
    setenv("LEAKGRAPH_DEBUGINFO_PATH", dir, 1);
    fake_snap(&f, &dbg, stripped);
    sym = lg_symbolizer_new(&f.snap);
    unsetenv("LEAKGRAPH_DEBUGINFO_PATH");
    assert_non_null(sym);
    lg_symbolize(sym, (uintptr_t)dbg.outer(), fr, 4);
    assert_true(fr[0].file == NULL && strcmp(fr[0].function, "symtest_outer") == 0);
    lg_symbolizer_free(sym);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symbolize_caller_function_name),
        cmocka_unit_test(test_symbolize_caller_file_and_line),
        cmocka_unit_test(test_symbolize_module_offset_is_pc_minus_load_bias),
        cmocka_unit_test(test_symbolize_inlined_frame_comes_first),
        cmocka_unit_test(test_symbolize_inlined_call_site_is_callers_line),
        cmocka_unit_test(test_symbolize_cached_address_gives_same_strings),
        cmocka_unit_test(test_symbolize_cxx_name_is_demangled),
        cmocka_unit_test(test_symbolize_same_file_at_other_base_gives_same_line),
        cmocka_unit_test(test_symbolize_wrong_build_id_gives_offsets),
        cmocka_unit_test(test_symbolize_wrong_build_id_warns_once),
        cmocka_unit_test(test_symbolize_missing_file_warns_and_gives_offsets),
        cmocka_unit_test(test_symbolize_address_outside_modules_has_no_module),
        cmocka_unit_test(test_symbolize_no_debug_info_uses_symbol_table),
        cmocka_unit_test(test_symbolize_separate_debug_file_gives_line),
        cmocka_unit_test(test_symbolize_stripped_copy_alone_has_no_line),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
