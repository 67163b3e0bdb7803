/* lg_shim.h - what the shim's files share: the configuration, the reentrancy
 * guard, the shim's own memory (arena.c), the sharded address map (map.c),
 * the block and stack tables, objects, and the snapshot writer entry point.
 * Everything here is hidden; the only exported symbols of libleakgraph.so are
 * the interposed functions and leakgraph_snapshot(). */
#ifndef LG_SHIM_H
#define LG_SHIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/single_threaded.h>
#include <sys/types.h>

#include "lg_trace.h"

#define LG_EXPORT __attribute__((visibility("default")))
#define LG_LIKELY(x) __builtin_expect(!!(x), 1)
#define LG_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- configuration (config.c) ------------------------------------------- */

#define LG_DEPTH_DEFAULT 32
#define LG_DEPTH_MAX 256
#define LG_HISTORY_DEFAULT 64           /* events kept per live object */
#define LG_HISTORY_MAX 1024
#define LG_HISTORY_DEPTH_DEFAULT 4      /* frames per incref/decref stack */

struct lg_config {
    int depth;                          /* frames per stack, 0 = no stacks */
    int history;                        /* events per object, 0 = off */
    int history_depth;                  /* frames of an incref/decref stack */
    int signal;                         /* snapshot signal, 0 = none */
    int stats;                          /* LEAKGRAPH_STATS=1: a line per snapshot */
    int signal_thread;                  /* LEAKGRAPH_SIGNAL_THREAD=on: sigwriter.c */
    int headers;                        /* LEAKGRAPH_HEADERS=off: every block in the map */
    char output[4096];                  /* LEAKGRAPH_OUTPUT, %p not expanded */
};
extern struct lg_config lg_cfg;
void lg_config_load(void);              /* reads the environment; messages on stderr */

/* ---- lifecycle (lifecycle.c) -------------------------------------------- */

enum lg_state { LG_OFF = 0, LG_BOOTING = 1, LG_READY = 2, LG_DISABLED = 3 };
extern _Atomic int lg_state;            /* LG_READY: hooks record */
extern _Atomic int lg_snapshot_pending; /* set by the snapshot signal handler */
extern __thread int lg_in_hook __attribute__((tls_model("initial-exec")));
void lg_init(void);                     /* idempotent; called from hooks and ctor */
void lg_exec_init(void);                /* exec.c: remember the shim's path, settings */
void lg_run_pending_snapshot(uintptr_t caller); /* a signal-requested snapshot,
                                        unless caller is inside a refcount runtime */
bool lg_ip_in_runtime(uintptr_t ip);    /* objects.c: inside any world's runtime */
bool lg_write_pending_snapshot(void);   /* a pending signal snapshot; false after the exit */
void lg_sigwriter_start(void);          /* sigwriter.c: if LEAKGRAPH_SIGNAL_THREAD=on */
void lg_sigwriter_wake(void);           /* from the snapshot signal's handler */
pid_t lg_sigwriter_tid(void);           /* the writer thread, 0 if none */
void lg_say(const char *a, const char *b, const char *c, const char *d);
                                        /* "leakgraph: " a b c d "\n" on stderr */

/* ---- the shim's own memory (arena.c) ------------------------------------ */

void *lg_map_pages(size_t size);        /* zeroed pages, recorded as the shim's; NULL */
void *lg_map_pages_filled(size_t size); /* the same, faulted in now: about to be filled */
void lg_unmap_pages(void *p, size_t size);
void *lg_arena_alloc(size_t size);      /* 16-aligned, never freed; NULL if out */
bool lg_is_own_range(uintptr_t start, uintptr_t end, uintptr_t *own_end);
                                        /* start..end overlaps the shim's memory;
                                           own_end: end of the overlapping part */
size_t lg_own_ranges(uintptr_t (*out)[2], size_t max); /* the shim's mappings */
size_t lg_dead_stacks(uintptr_t (*out)[2], size_t max); /* threads.c: stacks of
                                                            threads that ended */
size_t lg_thread_dtvs(uintptr_t *out, size_t max); /* threads.c: the TLS
                                           vectors glibc keeps for threads */
void *lg_next_symbol(const char *name); /* exec.c: dlsym(RTLD_NEXT) under the
                                           hook guard (dlsym may allocate) */
void lg_phdr_atfork(void);            /* phdr.c: no fork while a thread walks
                                           the modules under the loader's lock */
extern _Thread_local int lg_in_getattr; /* threads.c: inside pthread_getattr_np,
                                           which holds the thread's own lock */

/* ---- a tiny spinlock; fork takes them all ------------------------------- */

typedef struct { atomic_int v; } lg_lock;
void lg_lock_slow(lg_lock *l);
static inline void lg_lock_take(lg_lock *l)
{
    if (LG_UNLIKELY(atomic_exchange_explicit(&l->v, 1, memory_order_acquire)))
        lg_lock_slow(l);
}
static inline void lg_lock_drop(lg_lock *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

/* ---- sharded open-addressing map, address -> 64-bit value (map.c) ------- */

#define LG_SHARDS 128

struct lg_map_slot {
    uintptr_t key;                      /* 0 = empty */
    uint64_t val;
};
struct lg_shard {
    lg_lock lock;
    struct lg_map_slot *slots;
    size_t cap;                         /* slots */
    size_t count;                       /* live entries */
    char pad[32];                       /* one cache line per shard */
};
struct lg_map {
    struct lg_shard shards[LG_SHARDS];
};

/* Keys of one 4 KiB page share a shard and a neighbourhood of slots (their
 * offset in the page picks the slot within it), so a run of allocations
 * from one page touches a few cache lines instead of one each. */
static inline uint64_t lg_hash_addr(uintptr_t a)
{
    return (uint64_t)(a >> 12) * 0x9E3779B97F4A7C15ull;
}
static inline struct lg_shard *lg_map_shard(struct lg_map *m, uintptr_t key)
{
    return &m->shards[lg_hash_addr(key) >> 57];
}
/* A shard's lock, skipped while the process has a single thread (glibc's
 * __libc_single_threaded stays true until the first pthread_create): no
 * other thread can race then, and a signal handler on this thread is kept
 * out by lg_in_lock / lg_in_hook exactly as with the lock. */
static inline bool lg_shard_lock(struct lg_shard *s)
{
    if (__libc_single_threaded)
        return false;
    lg_lock_take(&s->lock);
    return true;
}
static inline void lg_shard_unlock(struct lg_shard *s, bool locked)
{
    if (locked)
        lg_lock_drop(&s->lock);
}

/* All under the shard's lock, which the caller holds. */
int lg_map_put(struct lg_shard *s, uintptr_t key, uint64_t val);  /* 0 or -ENOMEM */
int lg_map_put_old(struct lg_shard *s, uintptr_t key, uint64_t val, uint64_t *old);
                                        /* 1 when it replaced *old, 0, -ENOMEM */
bool lg_map_get(struct lg_shard *s, uintptr_t key, uint64_t *val);
bool lg_map_del(struct lg_shard *s, uintptr_t key, uint64_t *val);
void lg_map_lock_all(struct lg_map *m);
void lg_map_unlock_all(struct lg_map *m);
void lg_map_try_lock_all(struct lg_map *m, bool *taken); /* bounded waits */
void lg_map_unlock_taken(struct lg_map *m, const bool *taken);
size_t lg_map_count(struct lg_map *m);  /* all locks held */
void lg_map_release(struct lg_shard *s); /* drop every entry and the array */

/* ---- live blocks (hooks.c records them) --------------------------------- */

extern struct lg_map lg_blocks;
#define LG_META_SIZE_BITS 40
#define LG_META_STACK_NONE 0xffffffu
static inline uint64_t lg_meta_make(size_t size, uint32_t stack)
{
    if (size >= ((uint64_t)1 << LG_META_SIZE_BITS))
        size = ((uint64_t)1 << LG_META_SIZE_BITS) - 1;
    if (stack > LG_META_STACK_NONE)
        stack = LG_META_STACK_NONE;
    return (uint64_t)size | ((uint64_t)stack << LG_META_SIZE_BITS);
}
static inline uint64_t lg_meta_size(uint64_t m)
{
    return m & (((uint64_t)1 << LG_META_SIZE_BITS) - 1);
}
static inline uint32_t lg_meta_stack(uint64_t m)
{
    uint32_t s = (uint32_t)(m >> LG_META_SIZE_BITS);
    return s == LG_META_STACK_NONE ? LG_NONE : s;
}
extern atomic_int lg_lost_events;       /* an allocation went untracked */

/* ---- stacks (stacks.c) -------------------------------------------------- */

void lg_stacks_init(void);
uint32_t lg_stack_capture_from(void **frames, int n); /* dedup given frames */
#define LG_EXTRA_FRAMES 8               /* most shim frames libunwind's path skips */
/* The program's return addresses above the shim, innermost first: at most
 * depth of them, the shim's own frames (the hooks, an interposer deeper
 * down) left out. fastunwind.c's unwinder, else libunwind's. */
int lg_backtrace(void **buf, int depth);
/* lg_stack_capture_from for exactly the frames lg_backtrace just returned
 * on this thread: a stack the unwinder replayed keeps its id. */
uint32_t lg_stack_of_backtrace(void **buf, int n);
/* The id lg_stack_of_backtrace gave these frames before, when
 * lg_backtrace just replayed them (the same unwind from the same stack
 * words); LG_NONE otherwise. Nothing is consumed: call
 * lg_stack_of_backtrace after it either way. */
uint32_t lg_stack_known(int n);
void lg_fu_forget(void);                /* fastunwind.c: after a dlclose */

/* ---- module epochs (modules.c) ------------------------------------------ */
/* One more at each dlclose that unloads a module; a stack is recorded with
 * the epoch it was first seen in, and reused in a later epoch only when no
 * module its frames lay in was unloaded since. */
uint32_t lg_module_epoch(void);
void lg_modules_fork_lock(void);        /* after lg_stacks_lock, before the arena's */
void lg_modules_fork_unlock(void);
struct lg_retiring {                    /* a library a dlclose in progress may unload */
    uint64_t base, start, end;
    uint32_t path_len, build_id_len;
    char path[512];
    uint8_t build_id[64];
};
struct lg_retire_set {                  /* the libraries loaded as a dlclose begins */
    size_t n, cap, map_size;
    struct lg_retiring *m;              /* the shim's own pages */
};
bool lg_modules_retire_begin(struct lg_retire_set *set);
void lg_modules_retire_end(struct lg_retire_set *set);
bool lg_modules_unloaded_since(uint32_t since, const uintptr_t *frames, uint32_t n);
/* The caller's stack id, or LG_NONE, without a frame of its own: inlined
 * into the hook, so one frame fewer to unwind (each costs about 6.5 ns). */
static inline __attribute__((always_inline)) uint32_t lg_stack_capture_here(int depth)
{
    void *buf[LG_DEPTH_MAX];
    if (depth <= 0)
        return LG_NONE;
    if (depth > LG_DEPTH_MAX)
        depth = LG_DEPTH_MAX;
    return lg_stack_of_backtrace(buf, lg_backtrace(buf, depth));
}
uint32_t lg_stacks_count(void);
const uintptr_t *lg_stack_frames(uint32_t id, uint32_t *depth); /* NULL if none */
uint32_t lg_stack_epoch(uint32_t id);   /* the module epoch it was recorded in */
void lg_stacks_lock(void);              /* fork */
void lg_stacks_unlock(void);
/* Around every libunwind call (phdr.c): no fork while a thread is inside
 * code holding a lock the child would inherit held. */
void lg_fork_gate_enter(void);
void lg_fork_gate_leave(void);
extern uintptr_t lg_self_start, lg_self_end;  /* the shim's executable segment */
static inline bool lg_ip_is_own(uintptr_t ip)   /* ip lies in the shim's text */
{
    return ip - lg_self_start < lg_self_end - lg_self_start;
}

/* ---- refcount objects (objects.c, rcworld.h) ---------------------------- */

void lg_objects_install(void);          /* find librefcount, hook its tracer */
extern struct lg_map lg_objects;
size_t lg_objects_in_headers(void);     /* objects.c: records in block headers;
                                           every object shard lock held */
void lg_objects_fork_lock(void);
void lg_objects_fork_unlock(void);
void lg_funckeys_fork_lock(void);
void lg_funckeys_fork_unlock(void);
void lg_arena_fork_lock(void);
void lg_arena_fork_unlock(void);

/* ---- snapshots (snapshot.c) --------------------------------------------- */

int lg_write_snapshot(uint32_t kind, int sig); /* 0 or negative errno */
void lg_find_exit_caller_sp(void);      /* the exit snapshot's stack start */
extern uintptr_t lg_exit_stack_start;
void lg_writer_fork_child(void);        /* the child writes its own file */
void lg_snapshot_fork_lock(void);
void lg_snapshot_fork_unlock(void);
void lg_snapshot_fork_child(void);
extern __thread int lg_in_lock __attribute__((tls_model("initial-exec")));
                                        /* this thread holds a shim lock (a block
                                           map change, objects.c, a snapshot): a
                                           hook in a signal handler takes none
                                           again and passes a shut gate (gate.h) */

#endif /* LG_SHIM_H */
