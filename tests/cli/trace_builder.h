/* trace_builder.h - build synthetic leakgraph traces in tests: blocks,
 * objects, edges, roots, stacks, modules, module epochs and history, then
 * write a file in
 * the format of common/lg_trace.h (version 2 unless told otherwise). Owns its arrays (grown with realloc);
 * aborts the test program on out-of-memory, since tests have nothing to
 * recover. Blocks get increasing addresses automatically (0x10000 apart)
 * unless lg_tb_block_at() names one; addresses must be added in increasing
 * order, because the format keeps blocks sorted by address. */
#ifndef LG_TRACE_BUILDER_H
#define LG_TRACE_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include "lg_trace.h"

struct lg_tb;

struct lg_tb *lg_tb_new(uint32_t pid, const char *exe);   /* free with lg_tb_free() */
void lg_tb_free(struct lg_tb *tb);

void lg_tb_arg(struct lg_tb *tb, const char *arg);        /* append to argv (exe is not
                                                             added automatically) */
void lg_tb_snapshot_kind(struct lg_tb *tb, uint32_t kind, uint32_t signal);
void lg_tb_snapshot_flags(struct lg_tb *tb, uint32_t flags);

uint32_t lg_tb_string(struct lg_tb *tb, const char *s);   /* string id (deduplicated) */
uint32_t lg_tb_module(struct lg_tb *tb, const char *path, uint64_t start, uint64_t end);
uint32_t lg_tb_stack(struct lg_tb *tb, const uint64_t *pcs, uint32_t depth);
uint32_t lg_tb_stack1(struct lg_tb *tb, uint64_t pc);     /* one-frame stack */

uint32_t lg_tb_block(struct lg_tb *tb, uint64_t size, uint32_t stack, uint32_t flags);
uint32_t lg_tb_block_at(struct lg_tb *tb, uint64_t address, uint64_t size,
                        uint32_t stack, uint32_t flags);
/* An object in a new block of size bytes; returns the BLOCK index (edges and
 * roots use block indices); lg_tb_object_index() gives the object index. */
uint32_t lg_tb_object(struct lg_tb *tb, const char *type, uint64_t size, int64_t refcnt,
                      uint32_t stack);
uint32_t lg_tb_object_index(const struct lg_tb *tb, uint32_t block);
void lg_tb_object_flags(struct lg_tb *tb, uint32_t block, uint32_t flags);
uint64_t lg_tb_address(const struct lg_tb *tb, uint32_t block);

/* Module epochs (EPOCHS, docs/trace-format.md): a module's unload epoch
 * (LG_NONE, the default, while loaded) and the epoch a stack was recorded in
 * (0 by default). Calling either makes the trace carry an EPOCHS section,
 * written right after STACKS unless lg_tb_epochs_form() says otherwise. */
void lg_tb_module_unloaded(struct lg_tb *tb, uint32_t module, uint32_t epoch);
void lg_tb_stack_epoch(struct lg_tb *tb, uint32_t stack, uint32_t epoch);

/* How EPOCHS is written, for the reader's tests of corrupt forms. */
enum lg_tb_epochs_form {
    LG_TB_EPOCHS_NONE,               /* no section (the default until set) */
    LG_TB_EPOCHS_GOOD,               /* right after STACKS */
    LG_TB_EPOCHS_BEFORE_MODULES,     /* after STRINGS, before MODULES */
    LG_TB_EPOCHS_TWICE,              /* two good sections after STACKS */
    LG_TB_EPOCHS_SHORT,              /* the header alone, counts as they should be */
    LG_TB_EPOCHS_FEWER_MODULES,      /* one module epoch too few, and says so */
};
void lg_tb_epochs_form(struct lg_tb *tb, enum lg_tb_epochs_form form);

/* edges between blocks */
uint32_t lg_tb_ref(struct lg_tb *tb, uint32_t from, uint32_t to, const char *field); /* precise */
uint32_t lg_tb_ptr(struct lg_tb *tb, uint32_t from, uint32_t to);      /* START */
uint32_t lg_tb_interior(struct lg_tb *tb, uint32_t from, uint32_t to); /* INTERIOR */
uint32_t lg_tb_edge(struct lg_tb *tb, uint32_t from, uint32_t to, uint32_t kind,
                    uint32_t offset, uint32_t field);

/* roots: a region, then pointers found in it. lg_tb_global() adds a START
 * root in a default module data region named after the exe. */
uint32_t lg_tb_region(struct lg_tb *tb, uint32_t kind, const char *name,
                      uint64_t start, uint64_t end, uint32_t module);
uint32_t lg_tb_root(struct lg_tb *tb, uint32_t region, uint32_t to, uint32_t kind);
uint32_t lg_tb_global(struct lg_tb *tb, uint32_t to);
uint32_t lg_tb_global_interior(struct lg_tb *tb, uint32_t to);

/* refcount history of the object in block `block` */
void lg_tb_history(struct lg_tb *tb, uint32_t block, uint32_t event, uint32_t stack,
                   int64_t refcnt_after);

/* The format version written: LG_TRACE_VERSION (2, record sections packed
 * with lg_pack.h) unless set to 1 (fixed-size record arrays), which keeps
 * the reader's version 1 path tested. */
void lg_tb_format_version(struct lg_tb *tb, uint32_t version);

/* Write the trace: the process section, then `copies` copies of the
 * snapshot (seq 1, 2, ...); with cut_last the last one has no SNAPSHOT_END.
 * 0 or a negative errno. lg_tb_write() is (path, 1, false). */
int lg_tb_write(struct lg_tb *tb, const char *path);
int lg_tb_write_ex(struct lg_tb *tb, const char *path, unsigned copies, bool cut_last);

#endif /* LG_TRACE_BUILDER_H */
