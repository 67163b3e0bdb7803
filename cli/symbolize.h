/* symbolize.h - return addresses to function, file:line and inlined frames,
 * offline, from a snapshot's module map (libdw from elfutils). Owns the
 * libdw session and a cache of resolved addresses. A module whose file is
 * gone, or whose build id no longer matches the trace, resolves to
 * module+offset and the mismatch is said once in lg_symbolizer_warnings(). */
#ifndef LG_SYMBOLIZE_H
#define LG_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct lg_frame {
    uint64_t address;                /* the return address as recorded */
    const char *function;            /* demangled if possible, or NULL */
    const char *file;                /* source file, or NULL */
    int line;                        /* 0 when unknown */
    const char *module;              /* basename of the module, or NULL */
    uint64_t module_offset;          /* address - module base */
    int inlined;                     /* 1: inlined into the next frame */
};

struct lg_symbolizer;

/* Borrowed snapshot must outlive the symbolizer. NULL + errno on failure. */
struct lg_symbolizer *lg_symbolizer_new(const struct lg_snap *snap);
void lg_symbolizer_free(struct lg_symbolizer *sym);

/* Frames for one return address of stack `stack`, outermost inline last,
 * resolved in the module lg_module_of() (modules_lookup.h) gives for that
 * stack; strings are owned by the symbolizer. Returns how many frames were
 * written (at least 1 when max > 0). */
size_t lg_symbolize_in(struct lg_symbolizer *sym, uint32_t stack, uint64_t pc,
                       struct lg_frame *out, size_t max);
/* The same for an address that belongs to no stack (stack LG_NONE): a root
 * slot, or a trace without epochs. */
size_t lg_symbolize(struct lg_symbolizer *sym, uint64_t pc, struct lg_frame *out, size_t max);

/* Lines such as "libfoo.so: build id differs from the trace; showing offsets",
 * NULL-terminated, owned by the symbolizer. */
const char *const *lg_symbolizer_warnings(struct lg_symbolizer *sym);

#endif /* LG_SYMBOLIZE_H */
