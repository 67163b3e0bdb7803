/* regions.c - the root areas of a snapshot, from /proc/self/maps and the
 * module map. A root area is: a writable PT_LOAD segment of a loaded module
 * (not the shim's), the current thread's stack from its stack pointer up,
 * and every other readable, writable mapping once these are
 * cut out of it: the shim's own pages, the heap (glibc's [heap], its thread
 * arenas and the mmap'd chunks of live blocks, found from the blocks'
 * malloc headers), the stacks of threads that have ended (threads.c), and
 * any remaining piece that holds a live block. So the
 * TLS and stacks of other threads, a program's own mmap'd arenas and the
 * loader's data are roots, while freed heap memory and the shim's tables
 * never are. docs/shim.md "Roots" explains why. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "blockbits.h"
#include "lg_shim.h"
#include "snapshot.h"

#define MAPS_MAX (16u << 20)
#define GLIBC_HEAP_MAX (64ull << 20)    /* HEAP_MAX_SIZE of a thread arena */

struct range {
    uint64_t s, e;
};

static size_t read_maps(char **out)
{
    char *buf = lg_scratch_alloc(MAPS_MAX);
    if (buf == NULL)
        return 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t n = 0;
    ssize_t r;
    while (n < MAPS_MAX - 1 && (r = read(fd, buf + n, MAPS_MAX - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *out = buf;
    return n;
}

static uint64_t hex(const char **p)
{
    uint64_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9')
            v = v * 16 + (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uint64_t)(c - 'a' + 10);
        else
            return v;
    }
}

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* sort and merge overlapping ranges in place; returns the new count */
static size_t merge(struct range *r, size_t n)
{
    if (n == 0)
        return 0;
    /* insertion sort is fine for the few hundred typical ranges; fall back to
     * a shell sort gap sequence for many */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && cmp_range(&r[j - gap], &r[j]) > 0; j -= gap) {
                struct range t = r[j];
                r[j] = r[j - gap];
                r[j - gap] = t;
            }
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (r[i].s <= r[k].e) {
            if (r[i].e > r[k].e)
                r[k].e = r[i].e;
        } else
            r[++k] = r[i];
    }
    return k + 1;
}

bool lg_glibc_malloc(void)
{
    static int known = -1;
    if (known < 0) {
        Dl_info di;
        void *m = dlsym(RTLD_NEXT, "malloc");
        known = m != NULL && dladdr(m, &di) && di.dli_fname != NULL &&
                strstr(di.dli_fname, "libc.so") != NULL;
    }
    return known == 1;
}

/* first block index with address >= a */
static size_t lower_bound(const struct lg_heapinfo *h, uint64_t a)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->b[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool holds_block(const struct lg_heapinfo *h, uint64_t s, uint64_t e)
{
    size_t i = lower_bound(h, s);
    return i < h->n && h->b[i].addr < e;
}

/* Heap extents glibc's malloc headers reveal: thread arenas and mmap'd
 * chunks of live blocks outside [heap]. */
static size_t heap_extents(const struct lg_heapinfo *h, struct range heap,
                           struct range *out, size_t max)
{
    size_t n = 0;
    if (!lg_glibc_malloc())
        return 0;
    uint64_t last_arena = 0;
    for (size_t i = 0; i < h->n && n < max; i++) {
        uint64_t a = h->b[i].addr;
        if (a >= heap.s && a < heap.e)
            continue;
        uint64_t r = lg_real_block(a);  /* a headered block's chunk starts 16 earlier */
        const uint64_t *hdr = (const uint64_t *)(uintptr_t)(r - 16);
        uint64_t size = hdr[1];
        if (size & 2) {                 /* IS_MMAPPED: the chunk is its own mapping */
            uint64_t chunk = r - 16;
            out[n++] = (struct range){chunk - hdr[0], chunk + (size & ~(uint64_t)7)};
        } else if (size & 4) {          /* NON_MAIN_ARENA: a 64 MiB-aligned heap */
            uint64_t arena = a & ~(GLIBC_HEAP_MAX - 1);
            if (arena != last_arena)
                out[n++] = (struct range){arena, arena + GLIBC_HEAP_MAX};
            last_arena = arena;
        }
    }
    return n;
}

static bool skipped_name(const char *name, size_t len)
{
    static const char *const skip[] = {"[vvar]", "[vsyscall]", "[vdso]", "[heap]"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (len == strlen(skip[i]) && memcmp(name, skip[i], len) == 0)
            return true;
    if (len >= 5 && memcmp(name, "/dev/", 5) == 0)   /* device memory: never read */
        return !(len >= 9 && memcmp(name, "/dev/zero", 9) == 0) &&
               !(len >= 9 && memcmp(name, "/dev/shm/", 9) == 0);
    return false;
}

int lg_regions_collect(const struct lg_modules *m, const struct lg_heapinfo *h,
                       uintptr_t sp, struct lg_rregion **out, size_t *nout)
{
    char *maps;
    size_t len = read_maps(&maps);
    size_t max_regions = LG_REGIONS_CAP;
    struct lg_rregion *rs = lg_scratch_alloc(sizeof *rs * max_regions);
    size_t max_ex = h->n + m->nseg + 2 * 4096 + 8;
    struct range *ex = lg_scratch_alloc(sizeof *ex * max_ex);
    if (rs == NULL || ex == NULL || len == 0)
        return -ENOMEM;
    size_t nr = 0, nex = 0;

    for (size_t i = 0; i < m->nseg && nr < max_regions; i++) {
        const struct lg_seg *sg = &m->segs[i];
        rs[nr++] = (struct lg_rregion){sg->start, sg->end, LG_REGION_MODULE_DATA,
                                       m->mods[sg->module].path ? m->mods[sg->module].path : "",
                                       0, sg->module};
        ex[nex++] = (struct range){sg->start, sg->end};
    }
    for (size_t i = 0; i < m->n; i++)      /* the shim's own data is never a root */
        if (m->mods[i].is_self)
            ex[nex++] = (struct range){m->mods[i].start, m->mods[i].end};
    uintptr_t (*own)[2] = lg_scratch_alloc(sizeof *own * 4096);
    size_t nown = own ? lg_own_ranges(own, 4096) : 0;
    for (size_t i = 0; i < nown && nex < max_ex; i++)
        ex[nex++] = (struct range){own[i][0], own[i][1]};
    /* the stacks of threads that have ended: glibc keeps them mapped for
     * reuse, stale pointers and all, and no live thread runs on them */
    uintptr_t (*dead)[2] = lg_scratch_alloc(sizeof *dead * 4096);
    size_t ndead = dead ? lg_dead_stacks(dead, 4096) : 0;
    for (size_t i = 0; i < ndead && nex < max_ex; i++)
        ex[nex++] = (struct range){dead[i][0], dead[i][1]};

    struct range heap = {0, 0};
    for (const char *p = maps; *p;) {       /* find [heap] first */
        const char *line = p;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
        if (memmem(line, (size_t)(p - line), "[heap]", 6) != NULL) {
            const char *q = line;
            heap.s = hex(&q);
            q++;
            heap.e = hex(&q);
            ex[nex++] = heap;
        }
    }
    nex += heap_extents(h, heap, ex + nex, max_ex - nex);
    nex = merge(ex, nex);

    for (const char *p = maps; *p && nr < max_regions;) {
        const char *q = p;
        const char *nl = strchr(p, '\n');
        const char *eol = nl ? nl : p + strlen(p);
        p = nl ? nl + 1 : eol;
        uint64_t s = hex(&q);
        q++;
        uint64_t e = hex(&q);
        q++;
        if (q + 4 > eol || q[0] != 'r' || q[1] != 'w')
            continue;
        /* the path is the 6th field */
        const char *name = q;
        for (int f = 0; f < 4 && name < eol; f++) {
            while (name < eol && *name != ' ')
                name++;
            while (name < eol && *name == ' ')
                name++;
        }
        size_t name_len = (size_t)(eol - name);
        if (skipped_name(name, name_len))
            continue;
        char *nm = lg_scratch_alloc(name_len + 8);
        if (nm)
            memcpy(nm, name_len ? name : "[anon]", name_len ? name_len : 6);
        bool is_stack = name_len == 7 && memcmp(name, "[stack]", 7) == 0;
        /* cut out the exclusions */
        uint64_t cur = s;
        size_t lo = 0, hi = nex;
        while (lo < hi) {                   /* first exclusion ending after s */
            size_t mid = (lo + hi) / 2;
            if (ex[mid].e <= s)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t k = lo; cur < e; k++) {
            uint64_t piece_end = e, next = e;
            if (k < nex && ex[k].s < e) {
                piece_end = ex[k].s > cur ? ex[k].s : cur;
                next = ex[k].e > cur ? ex[k].e : cur;
            }
            if (piece_end > cur && nr < max_regions && !holds_block(h, cur, piece_end)) {
                uint64_t ps = cur;
                uint32_t kind = is_stack ? LG_REGION_STACK : LG_REGION_MAPPING;
                if (sp >= cur && sp < piece_end) {  /* the current thread's stack */
                    ps = sp & ~(uint64_t)7;
                    kind = LG_REGION_STACK;
                }
                rs[nr++] = (struct lg_rregion){ps, piece_end, kind,
                                               nm ? nm : "", (uint32_t)gettid(), LG_NONE};
                if (kind != LG_REGION_STACK)
                    rs[nr - 1].thread = 0;
                else if (!(sp >= cur && sp < piece_end))
                    rs[nr - 1].thread = 0;
            }
            if (next >= e || k >= nex)
                break;
            cur = next;
        }
    }
    *out = rs;
    *nout = nr;
    return 0;
}

void lg_regions_add_threads(struct lg_rregion *rs, size_t *n, size_t cap,
                            uint32_t *names, const struct lg_stopped *t, size_t nt,
                            uint32_t stack_name, uint32_t regs_name)
{
    size_t nr = *n;
    for (size_t i = 0; i < nt; i++) {
        if (t[i].tid <= 0 || !atomic_load(&t[i].acked))
            continue;
        for (size_t k = 0; k < *n; k++) {   /* its stack: from sp up */
            if (t[i].sp < rs[k].start || t[i].sp >= rs[k].end ||
                rs[k].kind == LG_REGION_MODULE_DATA)
                continue;
            rs[k].start = t[i].sp & ~(uint64_t)7;
            rs[k].kind = LG_REGION_STACK;
            rs[k].thread = (uint32_t)t[i].tid;
            names[k] = stack_name;
            break;
        }
        if (nr < cap) {
            rs[nr] = (struct lg_rregion){t[i].regs_start, t[i].regs_end, LG_REGION_REGISTERS,
                                         "[registers]", (uint32_t)t[i].tid, LG_NONE};
            names[nr++] = regs_name;
        }
    }
    *n = nr;
}
