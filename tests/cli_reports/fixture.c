/* fixture.c - synthetic traces whose stacks are this program's own
 * functions (see fixture.h). A stack is [site + 1, fx_caller + 1]: a
 * return address one byte into the function, which the symbolizer looks up
 * as pc - 1, the function's first instruction. */
#include "fixture.h"

#include <link.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_builder.h"

static char dir[PATH_MAX];
static char exe[PATH_MAX];
static uint64_t bias, hi;

volatile int fx_sink;               /* distinct bodies: no identical-code folding */

static const int site_a_line = __LINE__ + 1;
__attribute__((noinline, used)) void site_a(void) { fx_sink = 1; }
__attribute__((noinline, used)) void site_b(void) { fx_sink = 2; }
__attribute__((noinline, used)) void site_cycle(void) { fx_sink = 3; }
__attribute__((noinline, used)) void site_incref(void) { fx_sink = 4; }
__attribute__((noinline, used)) void fx_caller(void) { fx_sink = 5; }

int fx_site_a_line(void)
{
    return site_a_line;
}

static int main_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    bias = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
            hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    return 1;                        /* the first entry is the main program */
}

int fx_init(void)
{
    const char *t = getenv("LG_TEST_TMPDIR");
    ssize_t n;

    snprintf(dir, sizeof(dir), "%s/reports_fx_%d", t != NULL ? t : "/tmp", (int)getpid());
    if (mkdir(dir, 0700) != 0)
        return -1;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    dl_iterate_phdr(main_module, NULL);
    return hi > bias ? 0 : -1;
}

int fx_cleanup(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    if (getenv("LG_TEST_KEEP") != NULL || dir[0] == '\0')
        return 0;                    /* LG_TEST_KEEP=1 keeps the files to look at */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *fx_path(const char *name)
{
    static char paths[8][PATH_MAX + 64];
    static unsigned slot;
    char *p = paths[slot++ % 8];

    snprintf(p, PATH_MAX + 64, "%s/%s", dir, name);
    return p;
}

static uint32_t stack_of(struct lg_tb *tb, void (*site)(void))
{
    uint64_t pcs[2] = { (uint64_t)(uintptr_t)site + 1, (uint64_t)(uintptr_t)fx_caller + 1 };

    return lg_tb_stack(tb, pcs, 2);
}

static void add_cycle(struct lg_tb *tb, int scanned)
{
    uint32_t st = stack_of(tb, site_cycle);
    uint32_t a = lg_tb_object(tb, "Node", 32, 1, st);
    uint32_t b = lg_tb_object(tb, "Node", 32, 1, st);

    lg_tb_ref(tb, a, b, "next");
    lg_tb_ref(tb, b, a, "prev");
    if (scanned) {
        lg_tb_ptr(tb, a, b);
        lg_tb_ptr(tb, b, a);
    }
}

const char *fx_trace(const char *name, enum scenario sc)
{
    return fx_trace_ex(name, sc, 1, 0);
}

const char *fx_trace_ex(const char *name, enum scenario sc, unsigned copies, int cut_last)
{
    struct lg_tb *tb = lg_tb_new(4242, exe);
    const char *path = fx_path(name);
    uint32_t b;

    lg_tb_arg(tb, "fixture");
    lg_tb_module(tb, sc == SC_LEAK_GONE ? "/nonexistent/fixture-app" : exe, bias, hi);
    b = lg_tb_block(tb, 16, stack_of(tb, fx_caller), 0);
    lg_tb_global(tb, b);
    switch (sc) {
    case SC_CLEAN:
        break;
    case SC_LEAK_AB:
        lg_tb_block(tb, 48, stack_of(tb, site_b), 0);
        /* fall through */
    case SC_LEAK_A:
    case SC_LEAK_GONE:
        lg_tb_block(tb, 32, stack_of(tb, site_a), 0);
        break;
    case SC_POSSIBLE:
        b = lg_tb_block(tb, 64, stack_of(tb, site_b), 0);
        lg_tb_global_interior(tb, b);
        break;
    case SC_CYCLE:
    case SC_CYCLE_SCANNED:
        add_cycle(tb, sc == SC_CYCLE_SCANNED);
        break;
    case SC_REFLEAK:
        b = lg_tb_object(tb, "Widget", 24, 2, stack_of(tb, site_a));
        lg_tb_history(tb, b, LG_HIST_NEW, stack_of(tb, site_a), 1);
        lg_tb_history(tb, b, LG_HIST_INCREF, stack_of(tb, site_incref), 2);
        break;
    case SC_NESTED: {
        uint32_t st = stack_of(tb, site_cycle);
        uint32_t o1 = lg_tb_object(tb, "Outer", 32, 1, st), o2 = lg_tb_object(tb, "Outer", 32, 1, st);
        uint32_t i1 = lg_tb_object(tb, "Inner", 16, 2, st), i2 = lg_tb_object(tb, "Inner", 16, 1, st);

        lg_tb_ref(tb, o1, o2, "peer");
        lg_tb_ref(tb, o2, o1, "peer");
        lg_tb_ref(tb, o1, i1, "child");
        lg_tb_ref(tb, i1, i2, "peer");
        lg_tb_ref(tb, i2, i1, "peer");
        break;
    }
    case SC_GROWN:
        for (int i = 0; i < 3; i++)
            lg_tb_global(tb, lg_tb_object(tb, "Node", 40, 1, stack_of(tb, site_b)));
        add_cycle(tb, 0);
        break;
    }
    if (lg_tb_write_ex(tb, path, copies, cut_last != 0) != 0)
        path = NULL;
    lg_tb_free(tb);
    return path;
}

/* ---- checking outputs ---------------------------------------------------- */

/* Does the jq filter give true on the file? */
bool fx_jq(const char *file, const char *filter)
{
    char cmd[4096];

    snprintf(cmd, sizeof(cmd), "jq -e '%s' '%s' >/dev/null", filter, file);
    return system(cmd) == 0;
}

bool fx_file_has(const char *file, const char *needle)
{
    static char buf[1 << 16];
    FILE *f = fopen(file, "r");
    size_t n;

    if (f == NULL)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

size_t fx_count_in(const char *file, const char *needle)
{
    static char buf[1 << 16];
    FILE *f = fopen(file, "r");
    size_t n, count = 0;

    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    for (const char *p = strstr(buf, needle); p != NULL; p = strstr(p + 1, needle))
        count++;
    return count;
}

int fx_cmd(int (*fn)(int, char **), const char *name, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)name;
    va_start(ap, name);
    for (const char *a = va_arg(ap, const char *); a != NULL && argc < 15;
         a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return fn(argc, argv);
}
