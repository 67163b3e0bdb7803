/* snapshot.h - what the snapshot writer's files share: scratch memory that
 * lives for one snapshot, the module map (modules.c), the root regions
 * (regions.c) and the buffered trace file (writer.c). Only one snapshot runs
 * at a time (snapshot.c holds its lock), so these are not thread-safe. */
#ifndef LG_SNAPSHOT_H
#define LG_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- scratch memory, freed when the snapshot ends (writer.c) ------------ */
void *lg_scratch_alloc(size_t size);    /* zeroed; NULL if out of memory */
void lg_scratch_release(void);

/* ---- modules (modules.c) ------------------------------------------------ */
struct lg_mod {
    uint64_t base, start, end;
    char *path;
    uint32_t path_len;
    uint32_t build_id_len;
    uint8_t build_id[64];
    bool is_self;                       /* the shim itself */
    uint32_t unload;                    /* unload epoch; LG_NONE while loaded */
};
struct lg_seg {                         /* a writable PT_LOAD segment */
    uint64_t start, end;
    uint32_t module;
};
struct lg_modules {
    struct lg_mod *mods;
    size_t n;
    struct lg_seg *segs;
    size_t nseg;
};
/* The loaded modules, then the unloaded ones kept by dlclose (these may
 * overlap loaded ones: see EPOCHS in docs/trace-format.md). */
int lg_modules_collect(struct lg_modules *m);   /* 0 or -ENOMEM */

/* ---- root regions (regions.c) ------------------------------------------- */
struct lg_rregion {
    uint64_t start, end;
    uint32_t kind;                      /* enum lg_region_kind */
    const char *name;                   /* scratch or static */
    uint32_t thread;
    uint32_t module;
};
struct lg_bpair {                        /* a live block: address and lg_meta */
    uint64_t addr, meta;
};
struct lg_heapinfo {                    /* what the blocks tell about the heap */
    const struct lg_bpair *b;           /* sorted by address */
    size_t n;
};
/* Root areas: module data, the current stack from sp up, every other
 * writable mapping that holds no heap; see docs/shim.md "Roots". */
int lg_regions_collect(const struct lg_modules *m, const struct lg_heapinfo *h,
                       uintptr_t sp, struct lg_rregion **out, size_t *n);

bool lg_glibc_malloc(void);             /* the next malloc is glibc's */

/* ---- stopping the other threads (stopworld.c) --------------------------- */
struct lg_stopped {
    pid_t tid;                          /* -1: gone before it was signalled */
    atomic_int acked;                   /* stopped; sp and regs are valid */
    uint64_t sp;                        /* its stack pointer when stopped */
    uint64_t regs_start, regs_end;      /* its saved registers, on its stack */
};
void lg_stopworld_init(void);
size_t lg_world_stop(struct lg_stopped **out); /* every shard lock held; no
                                                  allocation until resume */
void lg_world_resume(void);
/* Stopped threads' stacks start at their stack pointer; their registers
 * become LG_REGION_REGISTERS regions. No allocation: cap bounds *n. */
void lg_regions_add_threads(struct lg_rregion *rs, size_t *n, size_t cap,
                            uint32_t *names, const struct lg_stopped *t, size_t nt,
                            uint32_t stack_name, uint32_t regs_name);
#define LG_REGIONS_CAP 65536

/* ---- the trace file (writer.c) ------------------------------------------ */
int lg_out_open(void);                  /* 0, or -errno (message already said) */
void lg_out_write(const void *p, size_t n);
uint64_t lg_out_begin(uint32_t tag);    /* returns the section's handle */
void lg_out_end(uint64_t handle);       /* pads to 8, fixes the length */
int lg_out_flush(void);                 /* 0 or -errno */
/* A packed record section (lg_pack.h): one open at a time, records of the
 * section's own struct, count fixed up at the end. */
uint64_t lg_out_begin_packed(uint32_t tag);   /* STACKS or a tag lg_pack_layout() knows */
void lg_out_record(const void *rec);
void lg_out_stack(const uint64_t *pcs, uint32_t depth);  /* in STACKS; pcs must stay
                                                           valid until the next stack */
void lg_out_end_packed(uint64_t handle);      /* pads to 8, fixes length, count */
bool lg_out_failed(void);

#endif /* LG_SNAPSHOT_H */
