/* modules_lookup.h - which module of a snapshot's module map a frame's
 * address belongs to, with the module epochs of docs/trace-format.md
 * ("Modules loaded in turn at one address") when the trace has them. The
 * one rule every symbolizing and stack-merging caller shares. Owns nothing. */
#ifndef LG_MODULES_LOOKUP_H
#define LG_MODULES_LOOKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* The module index that holds address pc in a frame of stack `stack`, or
 * LG_NONE. With epochs and a stack: of the modules covering pc, the one
 * unloaded first after the stack's epoch, else a loaded one. Without epochs
 * or with stack LG_NONE: the first covering module still loaded, else the
 * first covering one. Callers holding a return address pass pc - 1. */
uint32_t lg_module_of(const struct lg_snap *s, uint32_t stack, uint64_t pc);

/* Was some module of the snapshot unloaded (EPOCHS says so)? Only then may
 * equal addresses lie in different modules and a frame's module depend on
 * its stack; otherwise lg_module_of() gives the same for every stack. */
bool lg_snap_has_unloaded(const struct lg_snap *s);

/* Are modules a and b (indices, or LG_NONE) the same file at the same
 * place: equal index, or equal base, path and build id? */
bool lg_same_module_file(const struct lg_snap *s, uint32_t a, uint32_t b);

/* A hash of what lg_same_module_file() compares (0 for LG_NONE). */
uint64_t lg_module_file_hash(const struct lg_snap *s, uint32_t m);

#endif /* LG_MODULES_LOOKUP_H */
