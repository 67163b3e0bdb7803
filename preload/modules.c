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
 * stack table; its entry is kept so those frames can be symbolized, with
 * its unload epoch: the module epoch counts the dlcloses that unloaded a
 * module, so a frame recorded before the unload is told from one of a
 * library loaded at the same address afterwards (docs/trace-format.md,
 * EPOCHS). Every library a dlclose unloads is kept: the one its handle
 * names and the dependencies that went with it. At most MAX_RETIRED are
 * kept (the same library reloaded in a loop takes one). */
#define MAX_RETIRED 1024
struct retired {
    struct lg_retiring m;
    uint32_t unload;                    /* first epoch without it */
};
static struct retired *retired;
static size_t n_retired;
static lg_lock retired_lock;
static atomic_uint module_epoch;

/* fork: a child must not inherit retired_lock held by another thread */
void lg_modules_fork_lock(void)
{
    lg_lock_take(&retired_lock);
}

void lg_modules_fork_unlock(void)
{
    lg_lock_drop(&retired_lock);
}

uint32_t lg_module_epoch(void)
{
    return atomic_load_explicit(&module_epoch, memory_order_acquire);
}

/* One loaded module as a dlclose in progress may leave it behind. */
static void fill_retiring(struct lg_retiring *r, const struct dl_phdr_info *info)
{
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
}

/* Libraries only: the program (no name) never goes away. */
static bool may_unload(const struct dl_phdr_info *info)
{
    return info->dlpi_name != NULL && info->dlpi_name[0] != 0;
}

static int count_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(size_t *)arg += may_unload(info);
    return 0;
}

static int take_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct lg_retire_set *set = arg;
    if (!may_unload(info) || set->n == set->cap)
        return 0;
    fill_retiring(&set->m[set->n], info);
    if (set->m[set->n].start != UINT64_MAX)
        set->n++;
    return 0;
}

/* Called by the dlclose interposer before the real dlclose: every library
 * loaded now, with its extent and build id while it is there, since the
 * dlclose may unload the handle's dependencies with it. */
bool lg_modules_retire_begin(struct lg_retire_set *set)
{
    memset(set, 0, sizeof *set);
    size_t n = 0;
    dl_iterate_phdr(count_one, &n);
    if (n == 0)
        return false;
    set->cap = n + 8;                   /* a dlopen may land meanwhile */
    set->map_size = set->cap * sizeof *set->m;
    set->m = lg_map_pages(set->map_size);
    if (set->m == NULL)
        return false;
    dl_iterate_phdr(take_one, set);
    return true;
}

struct still_ctx {
    struct lg_retire_set *set;
    uint8_t *loaded;                    /* per entry: still there */
};

static int mark_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct still_ctx *c = arg;
    if (!may_unload(info))
        return 0;
    size_t len = strlen(info->dlpi_name);
    for (size_t i = 0; i < c->set->n; i++) {
        const struct lg_retiring *r = &c->set->m[i];
        if (r->base == info->dlpi_addr && r->path_len == len &&
            memcmp(r->path, info->dlpi_name, len) == 0)
            c->loaded[i] = 1;
    }
    return 0;
}

static bool same_file(const struct lg_retiring *a, const struct lg_retiring *b)
{
    return a->base == b->base && a->start == b->start && a->end == b->end &&
           a->path_len == b->path_len && memcmp(a->path, b->path, a->path_len) == 0 &&
           a->build_id_len == b->build_id_len &&
           memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
}

/* Under retired_lock: keep x, unloaded as of epoch. The same library
 * unloaded again from the same place, with nothing else unloaded there in
 * between: its entry now ends here (every stack that resolved to it still
 * resolves to the same file), so a library reloaded in a loop keeps one
 * entry, not one per dlclose. */
static void keep_retired(const struct lg_retiring *x, uint32_t epoch)
{
    struct retired *last = NULL;
    for (size_t i = n_retired; retired != NULL && i-- > 0 && last == NULL;)
        if (retired[i].m.start < x->end && x->start < retired[i].m.end)
            last = &retired[i];
    if (last != NULL && same_file(&last->m, x))
        last->unload = epoch;
    else if (retired != NULL && n_retired < MAX_RETIRED)
        retired[n_retired++] = (struct retired){*x, epoch};
}

/* After the real dlclose: the libraries of the set no longer loaded (the
 * handle's, and any dependency that went with it) are kept, and a new
 * module epoch begins with this dlclose as their unload epoch. */
void lg_modules_retire_end(struct lg_retire_set *set)
{
    uint8_t *loaded = lg_map_pages(set->n + 1);
    if (loaded != NULL) {
        struct still_ctx c = {set, loaded};
        dl_iterate_phdr(mark_loaded, &c);
        size_t gone = 0;
        for (size_t i = 0; i < set->n; i++)
            gone += !loaded[i];
        if (gone > 0) {
            lg_lock_take(&retired_lock);
            if (retired == NULL)
                retired = lg_arena_alloc(sizeof *retired * MAX_RETIRED);
            uint32_t epoch = atomic_fetch_add_explicit(&module_epoch, 1, memory_order_acq_rel) + 1;
            for (size_t i = 0; i < set->n; i++)
                if (!loaded[i])
                    keep_retired(&set->m[i], epoch);
            lg_lock_drop(&retired_lock);
        }
        lg_unmap_pages(loaded, set->n + 1);
    }
    lg_unmap_pages(set->m, set->map_size);
    set->m = NULL;
    set->n = 0;
}

/* Whether a frame recorded in epoch `since` may have lain in a module
 * unloaded after it: then the same address now means other code. */
bool lg_modules_unloaded_since(uint32_t since, const uintptr_t *frames, uint32_t n)
{
    bool hit = false;
    lg_lock_take(&retired_lock);
    for (size_t i = 0; i < n_retired && !hit; i++) {
        const struct retired *r = &retired[i];
        if (r->unload <= since)
            continue;
        for (uint32_t k = 0; k < n && !hit; k++)
            hit = frames[k] >= r->m.start && frames[k] < r->m.end;
    }
    lg_lock_drop(&retired_lock);
    return hit;
}

int lg_modules_collect(struct lg_modules *m)
{
    memset(m, 0, sizeof *m);
    m->mods = lg_scratch_alloc(sizeof *m->mods * MAX_MODULES);
    m->segs = lg_scratch_alloc(sizeof *m->segs * MAX_SEGS);
    if (m->mods == NULL || m->segs == NULL)
        return -ENOMEM;
    dl_iterate_phdr(collect, m);
    for (size_t i = 0; i < m->n; i++)
        m->mods[i].unload = LG_NONE;
    lg_lock_take(&retired_lock);
    for (size_t i = 0; i < n_retired && m->n < MAX_MODULES; i++) {
        const struct retired *r = &retired[i];
        struct lg_mod *x = &m->mods[m->n++];
        memset(x, 0, sizeof *x);
        x->base = r->m.base;
        x->start = r->m.start;
        x->end = r->m.end;
        x->unload = r->unload;
        x->path = copy_str(r->m.path, r->m.path_len);
        x->path_len = x->path ? r->m.path_len : 0;
        x->build_id_len = r->m.build_id_len;
        memcpy(x->build_id, r->m.build_id, r->m.build_id_len);
    }
    lg_lock_drop(&retired_lock);
    return 0;
}
