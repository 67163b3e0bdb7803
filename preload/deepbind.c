/* deepbind.c - libraries loaded with RTLD_DEEPBIND still reach the shim.
 * Such a library looks up symbols in itself and its dependencies before
 * the global scope, so its malloc and free bind to libc's, past the
 * preloaded shim: a small block of the program's (headered, blockbits.h)
 * freed there makes glibc abort ("free(): invalid pointer"), and its own
 * blocks go unseen. Owns the dlopen interposer: any other dlopen goes
 * straight on to the real one with a jump, so the real one still sees the
 * program's return address (it picks the caller's RPATH, RUNPATH and
 * namespace by it); a DEEPBIND one is loaded here and every object it
 * brought in gets its GOT entries for the allocator family (and dlopen)
 * pointed at the shim's, as a PLT-hooking library would. Loading here
 * makes the shim the caller, so a bare name is looked up first in the
 * directories the real caller would search (dlinfo RTLD_DI_SERINFO). */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lg_shim.h"

/* named in the asm stub below: kept, and kept by these names, under LTO */
#define LG_ASM_USED __attribute__((used, externally_visible))
LG_ASM_USED void *lg_real_dlopen;
LG_ASM_USED void *lg_dlopen_resolve(void);
LG_ASM_USED void *lg_dlopen_deep(const char *file, int mode, uintptr_t caller);

/* dlopen(file, mode): a jump to the real one unless mode has RTLD_DEEPBIND
 * (0x8), then lg_dlopen_deep(file, mode, return address). */
__asm__(".text\n"
        ".globl dlopen\n"
        ".type dlopen, @function\n"
        "dlopen:\n"
        "    .cfi_startproc\n"
        "    testl $8, %esi\n"
        "    jnz 2f\n"
        "    movq lg_real_dlopen(%rip), %rax\n"
        "    testq %rax, %rax\n"
        "    jz 1f\n"
        "    jmp *%rax\n"
        "1:  pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    subq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    call lg_dlopen_resolve\n"
        "    addq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    jmp *%rax\n"
        "2:  movq (%rsp), %rdx\n"
        "    jmp lg_dlopen_deep\n"
        "    .cfi_endproc\n"
        ".size dlopen, .-dlopen\n");

LG_ASM_USED void *lg_dlopen_resolve(void)
{
    if (lg_real_dlopen == NULL)
        lg_real_dlopen = lg_next_symbol("dlopen");
    return lg_real_dlopen;
}

/* ---- GOT entries -------------------------------------------------------- */

/* The functions a DEEPBIND object must reach in the shim. */
static const struct {
    const char *name;
    void *fn;
} ours[] = {
    {"malloc", (void *)malloc},
    {"free", (void *)free},
    {"calloc", (void *)calloc},
    {"realloc", (void *)realloc},
    {"reallocarray", (void *)reallocarray},
    {"posix_memalign", (void *)posix_memalign},
    {"aligned_alloc", (void *)aligned_alloc},
    {"memalign", (void *)memalign},
    {"valloc", (void *)valloc},
    {"pvalloc", (void *)pvalloc},
    {"malloc_usable_size", (void *)malloc_usable_size},
    {"dlopen", (void *)dlopen},
    {"dlclose", (void *)dlclose},
};

static void *ours_for(const char *name)
{
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strcmp(ours[i].name, name) == 0)
            return ours[i].fn;
    return NULL;
}

/* The part of object l that RELRO sealed read-only after relocation:
 * [lo, hi), page-aligned as ld.so rounds it (_dl_protect_relro). */
struct sealed {
    struct link_map *l;
    uintptr_t lo, hi;
};

static int find_sealed(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct sealed *s = arg;
    if (info->dlpi_addr != s->l->l_addr || strcmp(info->dlpi_name, s->l->l_name) != 0)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) {
            s->lo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
            s->hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
        }
    }
    return 1;
}

/* Writes fn into the GOT slot at slot, opening its page for the moment if
 * RELRO sealed it. */
static void put_slot(void **slot, void *fn, const struct sealed *s)
{
    if (*slot == fn)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *start = (void *)((uintptr_t)slot & ~(page - 1));
    bool in_relro = (uintptr_t)slot >= s->lo && (uintptr_t)slot < s->hi;
    if (in_relro && mprotect(start, page, PROT_READ | PROT_WRITE) != 0)
        return;
    __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    if (in_relro)
        mprotect(start, page, PROT_READ);
}

struct relocs {
    const ElfW(Rela) *rela;
    size_t n;
};

/* Points object l's GOT entries for the allocator family at the shim. */
static void patch_object(struct link_map *l)
{
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    struct relocs sets[2] = {{NULL, 0}, {NULL, 0}};
    size_t plt_size = 0, rela_size = 0;
    bool plt_is_rela = true;
    for (const ElfW(Dyn) *d = l->l_ld; d != NULL && d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)d->d_un.d_ptr; break;
        case DT_STRTAB: strtab = (const char *)d->d_un.d_ptr; break;
        case DT_JMPREL: sets[0].rela = (const ElfW(Rela) *)d->d_un.d_ptr; break;
        case DT_PLTRELSZ: plt_size = d->d_un.d_val; break;
        case DT_PLTREL: plt_is_rela = d->d_un.d_val == DT_RELA; break;
        case DT_RELA: sets[1].rela = (const ElfW(Rela) *)d->d_un.d_ptr; break;
        case DT_RELASZ: rela_size = d->d_un.d_val; break;
        }
    }
    if (symtab == NULL || strtab == NULL || !plt_is_rela)
        return;                         /* x86-64 uses RELA; anything else: leave it */
    struct sealed sealed = {l, 0, 0};
    dl_iterate_phdr(find_sealed, &sealed);
    sets[0].n = plt_size / sizeof(ElfW(Rela));
    sets[1].n = rela_size / sizeof(ElfW(Rela));
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; sets[k].rela != NULL && i < sets[k].n; i++) {
            const ElfW(Rela) *r = &sets[k].rela[i];
            unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
                continue;
            size_t sym = ELF64_R_SYM(r->r_info);
            if (sym == 0)
                continue;
            void *fn = ours_for(strtab + symtab[sym].st_name);
            if (fn != NULL)
                put_slot((void **)(l->l_addr + r->r_offset), fn, &sealed);
        }
    }
}

/* ---- loading as the caller would ------------------------------------------ */

/* Whether object l names directories of its own to search (DT_RPATH,
 * DT_RUNPATH): then a bare name may resolve differently for the shim than
 * for l. (The DT_RPATH of whoever loaded l, which l's bare names follow
 * too, is not looked at: the public link_map does not say who that was;
 * the executable's, the usual case, is searched for the shim as well.) */
static bool has_search_path(struct link_map *l)
{
    for (const ElfW(Dyn) *d = l != NULL ? l->l_ld : NULL; d != NULL && d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_RPATH || d->d_tag == DT_RUNPATH)
            return true;
    return false;
}

/* The file the object at caller would get for a bare name: the first
 * directory of its search list (RTLD_DI_SERINFO) that holds one, or NULL
 * (the name then goes to the real dlopen as it is: ld.so.cache and the
 * system directories are the same for everyone). */
static const char *as_caller(const char *file, uintptr_t caller, char *buf, size_t bufsize)
{
    Dl_info info;
    struct link_map *l = NULL;
    if (!dladdr1((void *)caller, &info, (void **)&l, RTLD_DL_LINKMAP) || !has_search_path(l))
        return NULL;
    Dl_serinfo size;
    if (dlinfo(l, RTLD_DI_SERINFOSIZE, &size) != 0 || size.dls_size > 16384)
        return NULL;
    _Alignas(Dl_serinfo) char raw[16384];
    Dl_serinfo *si = (Dl_serinfo *)raw;
    si->dls_size = size.dls_size;
    si->dls_cnt = size.dls_cnt;
    if (dlinfo(l, RTLD_DI_SERINFO, si) != 0)
        return NULL;
    for (unsigned i = 0; i < si->dls_cnt; i++) {
        const char *dir = si->dls_serpath[i].dls_name;
        size_t dl = strlen(dir), fl = strlen(file);
        if (dl + 1 + fl + 1 > bufsize)
            continue;
        memcpy(buf, dir, dl);
        buf[dl] = '/';
        memcpy(buf + dl + 1, file, fl + 1);
        if (access(buf, F_OK) == 0)
            return buf;
    }
    return NULL;
}

/* The last object loaded now (new ones are appended after it). */
static struct link_map *last_object(void)
{
    struct link_map *l = _r_debug.r_map;
    while (l != NULL && l->l_next != NULL)
        l = l->l_next;
    return l;
}

LG_ASM_USED void *lg_dlopen_deep(const char *file, int mode, uintptr_t caller)
{
    void *(*real)(const char *, int) = (void *(*)(const char *, int))lg_dlopen_resolve();
    if (real == NULL) {
        errno = ENOSYS;
        return NULL;
    }
    int was = lg_in_hook;
    lg_in_hook = 1;
    const char *name = file;
    char path[4096];
    if (file != NULL && strchr(file, '/') == NULL) {
        void *loaded = real(file, mode | RTLD_NOLOAD);   /* already there: by name */
        if (loaded != NULL) {
            lg_in_hook = was;
            return loaded;
        }
        const char *found = as_caller(file, caller, path, sizeof path);
        if (found != NULL)
            name = found;
    }
    struct link_map *before = last_object();
    lg_in_hook = was;
    void *h = real(name, mode);
    int saved = errno;
    if (h != NULL && atomic_load(&lg_state) != LG_DISABLED) {
        lg_in_hook = 1;
        for (struct link_map *l = before != NULL ? before->l_next : NULL; l != NULL; l = l->l_next)
            patch_object(l);
        lg_in_hook = was;
    }
    errno = saved;
    return h;
}
