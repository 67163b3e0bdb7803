/* modules.c - the module map of a snapshot: every loaded object's load bias,
 * extent, path (the main program's real path from /proc/self/exe) and GNU
 * build id, so a trace can be symbolized after the process is gone; and the
 * writable PT_LOAD segments, which are root areas. */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "lg_shim.h"
#include "snapshot.h"

#define MAX_MODULES 8192
#define MAX_SEGS (MAX_MODULES * 2)

static char *copy_str(const char *s, size_t n)
{
    char *p = lg_scratch_alloc(n + 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void read_build_id(struct lg_mod *m, const struct dl_phdr_info *info)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *nh;
            const char *desc = name + ((nh->n_namesz + 3) & ~3u);
            const char *next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= sizeof m->build_id) {
                memcpy(m->build_id, desc, nh->n_descsz);
                m->build_id_len = nh->n_descsz;
                return;
            }
            p = next;
        }
    }
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct lg_modules *ms = arg;
    if (ms->n >= MAX_MODULES)
        return 1;
    struct lg_mod *m = &ms->mods[ms->n];
    memset(m, 0, sizeof *m);
    m->base = info->dlpi_addr;
    m->start = UINT64_MAX;
    bool is_self = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < m->start)
            m->start = s;
        if (e > m->end)
            m->end = e;
        if ((ph->p_flags & PF_X) && lg_ip_is_own(s))
            is_self = true;
    }
    if (m->start == UINT64_MAX)
        m->start = m->end = m->base;
    m->is_self = is_self;
    for (int i = 0; i < info->dlpi_phnum && !is_self; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || ms->nseg >= MAX_SEGS)
            continue;
        uint64_t s = info->dlpi_addr + ph->p_vaddr;
        ms->segs[ms->nseg++] = (struct lg_seg){s & ~(uint64_t)7,
                                               s + ph->p_memsz, (uint32_t)ms->n};
    }
    const char *name = info->dlpi_name;
    if (ms->n == 0 && (name == NULL || name[0] == 0)) {
        char exe[4096];
        ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (k > 0) {
            m->path = copy_str(exe, (size_t)k);
            m->path_len = m->path ? (uint32_t)k : 0;
        }
    } else if (name != NULL) {
        size_t k = strlen(name);
        m->path = copy_str(name, k);
        m->path_len = m->path ? (uint32_t)k : 0;
    }
    read_build_id(m, info);
    ms->n++;
    return 0;
}

/* ---- modules unloaded by dlclose ------------------------------------------
 * A library that leaked and was then dlclose'd still has frames in the
 * stack table; its entry is kept so those frames can be symbolized. Kept
 * entries that overlap a loaded module are left out (the address range was
 * reused, or dlclose did not unload it). */
#define MAX_RETIRED 1024
struct retired {
    uint64_t base, start, end;
    uint32_t path_len, build_id_len;
    char path[512];
    uint8_t build_id[64];
};
static struct retired *retired;
static size_t n_retired;
static lg_lock retired_lock;

struct find_ctx {
    uint64_t base;
    const char *name;
    struct retired *out;
    bool found;
};

static int find_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_ctx *c = arg;
    if (info->dlpi_addr != c->base || info->dlpi_name == NULL ||
        strcmp(info->dlpi_name, c->name) != 0)
        return 0;
    struct retired *r = c->out;
    struct lg_mod m;                    /* only for read_build_id */
    memset(&m, 0, sizeof m);
    read_build_id(&m, info);
    r->base = info->dlpi_addr;
    r->start = UINT64_MAX;
    r->end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < r->start)
            r->start = s;
        if (e > r->end)
            r->end = e;
    }
    size_t n = strlen(info->dlpi_name);
    r->path_len = (uint32_t)(n < sizeof r->path ? n : sizeof r->path);
    memcpy(r->path, info->dlpi_name, r->path_len);
    r->build_id_len = m.build_id_len;
    memcpy(r->build_id, m.build_id, m.build_id_len);
    c->found = r->start != UINT64_MAX;
    return 1;
}

/* Called by the dlclose interposer before the real dlclose. */
void lg_modules_retire(uint64_t base, const char *name)
{
    if (name == NULL || name[0] == 0)
        return;
    lg_lock_take(&retired_lock);
    if (retired == NULL)
        retired = lg_arena_alloc(sizeof *retired * MAX_RETIRED);
    if (retired != NULL && n_retired < MAX_RETIRED) {
        struct find_ctx c = {base, name, &retired[n_retired], false};
        dl_iterate_phdr(find_one, &c);
        if (c.found)
            n_retired++;
    }
    lg_lock_drop(&retired_lock);
}

int lg_modules_collect(struct lg_modules *m)
{
    memset(m, 0, sizeof *m);
    m->mods = lg_scratch_alloc(sizeof *m->mods * MAX_MODULES);
    m->segs = lg_scratch_alloc(sizeof *m->segs * MAX_SEGS);
    if (m->mods == NULL || m->segs == NULL)
        return -ENOMEM;
    dl_iterate_phdr(collect, m);
    size_t live = m->n;
    lg_lock_take(&retired_lock);
    for (size_t i = 0; i < n_retired && m->n < MAX_MODULES; i++) {
        const struct retired *r = &retired[i];
        bool overlaps = false;
        for (size_t k = 0; k < live && !overlaps; k++)
            overlaps = m->mods[k].start < r->end && r->start < m->mods[k].end;
        if (overlaps)
            continue;
        struct lg_mod *x = &m->mods[m->n++];
        memset(x, 0, sizeof *x);
        x->base = r->base;
        x->start = r->start;
        x->end = r->end;
        x->path = copy_str(r->path, r->path_len);
        x->path_len = x->path ? r->path_len : 0;
        x->build_id_len = r->build_id_len;
        memcpy(x->build_id, r->build_id, r->build_id_len);
    }
    lg_lock_drop(&retired_lock);
    return 0;
}
