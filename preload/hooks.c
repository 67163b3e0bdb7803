/* hooks.c - the interposed allocator family: malloc calloc realloc
 * reallocarray free posix_memalign aligned_alloc memalign valloc pvalloc
 * malloc_usable_size. Each forwards to the next definition (dlsym RTLD_NEXT)
 * and records the live block with its allocating stack in lg_blocks.
 * Owns the real function pointers and the boot arena that serves
 * allocations made while dlsym runs. Rules (STYLE.md): record after the real
 * call returns non-NULL, forget a block before the real free can hand its
 * address out again, errno and results unchanged, work done under the
 * per-thread guard allocates straight through, untracked. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "lg_shim.h"
#include "map_inline.h"

struct lg_map lg_blocks;
atomic_int lg_lost_events;
__thread int lg_in_hook;
/* set while this thread holds a shard lock: a free from a signal handler
 * or from code the snapshot runs must not take it again */
__thread int lg_in_lock;

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
} real;

/* ---- boot arena: serves allocations while dlsym runs -------------------- */

#define BOOT_SIZE (256u << 10)
static _Alignas(64) char boot[BOOT_SIZE];
static atomic_size_t boot_used;
static atomic_int resolving;

static bool boot_owns(const void *p)
{
    return (const char *)p >= boot && (const char *)p < boot + BOOT_SIZE;
}

static void *boot_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    size_t old = atomic_load(&boot_used), start, end;
    do {
        start = (old + 16 + align - 1) & ~(align - 1);   /* 16 for the size word */
        end = start + size;
        if (end > BOOT_SIZE || end < start) {
            errno = ENOMEM;
            return NULL;
        }
    } while (!atomic_compare_exchange_weak(&boot_used, &old, end));
    ((size_t *)(boot + start))[-1] = size;
    return boot + start;                /* static storage: already zero */
}

static size_t boot_size(const void *p)
{
    return ((const size_t *)p)[-1];
}

static void resolve(void)
{
    atomic_store(&resolving, 1);
    real.malloc = dlsym(RTLD_NEXT, "malloc");
    real.free = dlsym(RTLD_NEXT, "free");
    real.calloc = dlsym(RTLD_NEXT, "calloc");
    real.realloc = dlsym(RTLD_NEXT, "realloc");
    real.reallocarray = dlsym(RTLD_NEXT, "reallocarray");
    real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real.memalign = dlsym(RTLD_NEXT, "memalign");
    real.valloc = dlsym(RTLD_NEXT, "valloc");
    real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    real.malloc_usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
    atomic_store(&resolving, 0);
}

/* true while the real functions are not there yet; then use the boot arena */
static inline bool booting(void)
{
    if (LG_LIKELY(real.free != NULL))
        return false;
    if (atomic_load(&resolving))
        return true;
    resolve();
    return real.free == NULL;
}

/* ---- recording ----------------------------------------------------------- */

static inline bool recording(void)
{
    return atomic_load_explicit(&lg_state, memory_order_relaxed) == LG_READY;
}

static inline __attribute__((always_inline)) void put_block(void *p, uint64_t meta)
{
    struct lg_shard *s = lg_map_shard(&lg_blocks, (uintptr_t)p);
    lg_in_lock = 1;
    bool locked = lg_shard_lock(s);
    int err = lg_map_put_inline(s, (uintptr_t)p, meta);
    lg_shard_unlock(s, locked);
    lg_in_lock = 0;
    if (err < 0)
        atomic_store(&lg_lost_events, 1);
}

static inline __attribute__((always_inline)) bool take_block(void *p, uint64_t *meta)
{
    if (lg_in_lock)                     /* this thread holds a shard lock */
        return false;
    struct lg_shard *s = lg_map_shard(&lg_blocks, (uintptr_t)p);
    lg_in_lock = 1;
    bool locked = lg_shard_lock(s);
    bool had = lg_map_del_inline(s, (uintptr_t)p, meta);
    lg_shard_unlock(s, locked);
    lg_in_lock = 0;
    return had;
}

static void after_hook(uintptr_t caller)
{
    if (LG_UNLIKELY(atomic_load_explicit(&lg_snapshot_pending, memory_order_relaxed)))
        lg_run_pending_snapshot(caller);
}

/* Records block p of size bytes allocated by caller, the code that called
 * the hook (the capture is inlined here and this into the hook: the
 * unwinder leaves out the hook's frame, and realloc's helper's). */
static inline __attribute__((always_inline)) void record_alloc(void *p, size_t size,
                                                               uintptr_t caller)
{
    if (!recording() || lg_in_hook)
        return;
    lg_in_hook = 1;
    uint32_t stack = LG_NONE;
    if (lg_cfg.depth > 0) {
        int saved = errno;              /* the unwinders may probe memory */
        stack = lg_stack_capture_here(lg_cfg.depth);
        errno = saved;
    }
    put_block(p, lg_meta_make(size, stack));   /* keeps errno (map.c) */
    lg_in_hook = 0;
    after_hook(caller);
}

static inline void record_free(void *p)
{
    if (recording())
        take_block(p, NULL);            /* never touches errno */
}

/* ---- the family ---------------------------------------------------------- */

#define CALLER ((uintptr_t)__builtin_return_address(0))

LG_EXPORT void *malloc(size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, 16);
    void *p = real.malloc(size);
    if (LG_LIKELY(p != NULL))
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *calloc(size_t n, size_t size)
{
    if (LG_UNLIKELY(booting())) {
        size_t total;
        if (__builtin_mul_overflow(n, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        return boot_alloc(total, 16);
    }
    void *p = real.calloc(n, size);
    if (LG_LIKELY(p != NULL))
        record_alloc(p, n * size, CALLER);
    return p;
}

LG_EXPORT void free(void *p)
{
    if (p == NULL || boot_owns(p))      /* boot-arena blocks never reach libc */
        return;
    if (LG_UNLIKELY(booting()))
        return;                         /* cannot happen: p came from someone */
    record_free(p);
    real.free(p);
}

static void *realloc_common(void *p, size_t n, size_t size, bool is_array, uintptr_t caller)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;                 /* what glibc's reallocarray says */
        return NULL;
    }
    if (LG_UNLIKELY(booting()))
        return boot_alloc(total, 16);   /* dlsym does not realloc; be safe */
    if (boot_owns(p)) {                 /* move a boot block into the real heap */
        void *q = malloc(total);
        if (q != NULL)
            memcpy(q, p, boot_size(p) < total ? boot_size(p) : total);
        return q;
    }
    uint64_t old = 0;
    bool had = p != NULL && recording() && take_block(p, &old);
    void *q = is_array ? real.reallocarray(p, n, size) : real.realloc(p, total);
    if (q == NULL) {
        if (had && (total != 0 || p == NULL)) {   /* failed: p is still live */
            int saved = errno;
            put_block(p, old);
            errno = saved;
        }
        return q;
    }
    if (recording()) {
        if (!lg_in_hook)
            record_alloc(q, total, caller);
        else if (had)
            put_block(q, lg_meta_make(total, lg_meta_stack(old)));
    }
    return q;
}

LG_EXPORT void *realloc(void *p, size_t size)
{
    return realloc_common(p, 1, size, false, CALLER);
}

LG_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    return realloc_common(p, n, size, true, CALLER);
}

LG_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (LG_UNLIKELY(booting())) {
        if (align < sizeof(void *) || (align & (align - 1)) != 0)
            return EINVAL;
        *out = boot_alloc(size, align);
        return *out ? 0 : ENOMEM;
    }
    int err = real.posix_memalign(out, align, size);
    if (err == 0)
        record_alloc(*out, size, CALLER);
    return err;
}

LG_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, align);
    void *p = real.aligned_alloc(align, size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *memalign(size_t align, size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, align);
    void *p = real.memalign(align, size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *valloc(size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc(size, 4096);
    void *p = real.valloc(size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT void *pvalloc(size_t size)
{
    if (LG_UNLIKELY(booting()))
        return boot_alloc((size + 4095) & ~(size_t)4095, 4096);
    void *p = real.pvalloc(size);
    if (p != NULL)
        record_alloc(p, size, CALLER);
    return p;
}

LG_EXPORT size_t malloc_usable_size(void *p)
{
    if (p != NULL && boot_owns(p))
        return boot_size(p);
    if (LG_UNLIKELY(booting()))
        return 0;
    return real.malloc_usable_size(p);
}
