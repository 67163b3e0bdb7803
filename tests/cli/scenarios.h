/* scenarios.h - named synthetic heaps shared by make_trace (traces for the
 * command tests) and fake_shim (a stand-in shim for testing `run`). */
#ifndef LG_SCENARIOS_H
#define LG_SCENARIOS_H

#include "trace_builder.h"

/* Fill tb with scenario `name`; 0, or -1 for an unknown name.
 *   leak:     a garbage cycle A.b -> B, B.a -> A; a definitely lost 100-byte
 *             block; a reference leak (Obj, refcnt 2, one unmatched incref);
 *             a 32-byte block a global holds (still reachable)
 *   clean:    only the still-reachable 32-byte block
 *   possible: a 64-byte block reached only through an interior pointer
 *   many:     20 definitely lost blocks from 20 different stacks
 *   weird:    the leak scenario, with quotes, backslashes, control
 *             characters and invalid UTF-8 in the exe, argv and type names
 *   epochs:   libplug_a.so unloaded in epoch 1 and libplug_b.so loaded at its
 *             address; a 100-byte block lost from a stack of epoch 0 and a
 *             200-byte one from a stack of epoch 1 with the same addresses
 *             (two records); the still-reachable 32-byte block */
int lg_scenario_build(struct lg_tb *tb, const char *name);

#endif /* LG_SCENARIOS_H */
