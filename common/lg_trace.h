/* lg_trace.h - the leakgraph trace format, defined once for the writer (the
 * shim, preload/) and the reader (the CLI, cli/). docs/trace-format.md is the
 * prose specification of the same layout; change both together.
 *
 * A trace is a file header followed by sections. Every integer is
 * little-endian; every record below is laid out exactly as declared (the
 * static asserts at the end check the sizes). In format version 1 a record
 * section (BLOCKS, OBJECTS, EDGES, REGIONS, ROOTS, HISTORY) is an array of
 * these records and STACKS is lg_stack headers and frames; in version 2
 * those seven sections are packed as lg_pack.h defines (the same records,
 * each coded as varint deltas from the one before), and a reader decodes
 * them into arrays of the same structs. Either way every count is checked
 * against the bytes that hold it before anything is allocated.
 *
 *   file      := lg_file_header section*
 *   section   := lg_section_header payload[length]
 *   process   := PROCESS                      (exactly one, first)
 *   snapshot  := SNAPSHOT_BEGIN STRINGS MODULES STACKS BLOCKS OBJECTS EDGES
 *                REGIONS ROOTS HISTORY SNAPSHOT_END
 *
 * Every section's length is a multiple of 8 (the writer pads the payload with
 * zero bytes), so version 1's fixed-size arrays stay 8-byte aligned in a
 * mapped file.
 *
 * A trace may hold several snapshots (numbered from 1). A snapshot without
 * its SNAPSHOT_END was cut short (the process died while writing it); a
 * reader reports the complete ones and names the incomplete one. Unknown
 * section tags are skipped, so later versions can add sections; a change to
 * an existing record bumps LG_TRACE_VERSION. */
#ifndef LG_TRACE_H
#define LG_TRACE_H

#include <stdint.h>

#define LG_TRACE_MAGIC "LGTRACE\0"   /* 8 bytes, NUL included */
#define LG_TRACE_MAGIC_LEN 8
#define LG_TRACE_VERSION 2u          /* 2: record sections packed (lg_pack.h) */

#define LG_NONE 0xffffffffu          /* "no string / no stack / no index" */

struct lg_file_header {
    char magic[LG_TRACE_MAGIC_LEN];  /* LG_TRACE_MAGIC */
    uint32_t version;                /* LG_TRACE_VERSION */
    uint32_t header_size;            /* sizeof(struct lg_file_header) */
};

enum lg_section_tag {
    LG_SEC_PROCESS = 1,
    LG_SEC_SNAPSHOT_BEGIN = 2,
    LG_SEC_STRINGS = 3,
    LG_SEC_MODULES = 4,
    LG_SEC_STACKS = 5,
    LG_SEC_BLOCKS = 6,
    LG_SEC_OBJECTS = 7,
    LG_SEC_EDGES = 8,
    LG_SEC_REGIONS = 9,
    LG_SEC_ROOTS = 10,
    LG_SEC_HISTORY = 11,
    LG_SEC_SNAPSHOT_END = 12,
    LG_SEC_EPOCHS = 13,              /* optional, right after STACKS */
};

struct lg_section_header {
    uint32_t tag;                    /* enum lg_section_tag */
    uint32_t reserved;               /* 0 */
    uint64_t length;                 /* payload bytes that follow */
};

/* PROCESS: this fixed part, then exe and argc argv strings, each a
 * uint32_t length and that many bytes (no NUL). */
struct lg_process {
    uint32_t pid;
    uint32_t ppid;
    uint64_t start_time_ns;          /* CLOCK_REALTIME at shim start */
    uint32_t argc;
    uint32_t reserved;
};

enum lg_snapshot_kind {
    LG_SNAP_EXIT = 1,                /* after atexit handlers and destructors */
    LG_SNAP_SIGNAL = 2,              /* LEAKGRAPH_SIGNAL (SIGUSR2) arrived */
    LG_SNAP_REQUEST = 3,             /* the program called leakgraph_snapshot() */
    LG_SNAP_FATAL = 4,               /* final attempt on SIGABRT / SIGTERM */
};

struct lg_snapshot_begin {
    uint32_t seq;                    /* 1, 2, ... within this process */
    uint32_t kind;                   /* enum lg_snapshot_kind */
    uint32_t signal;                 /* signal that caused it, or 0 */
    uint32_t flags;                  /* LG_SNAPF_* */
    uint64_t time_ns;                /* CLOCK_REALTIME */
};
#define LG_SNAPF_HISTORY 1u          /* refcount history was recorded */
#define LG_SNAPF_LOST_EVENTS 2u      /* some allocations were passed through
                                        untracked (shim out of memory) */

/* STRINGS: uint32_t count, then count strings (uint32_t length + bytes).
 * A string id is its index. Type names and field names live here. */

/* MODULES: an array of these, each followed by path_len bytes of path and
 * build_id_len bytes of GNU build id. */
struct lg_module {
    uint64_t base;                   /* load bias (dlpi_addr) */
    uint64_t start;                  /* lowest mapped address */
    uint64_t end;                    /* one past the highest */
    uint32_t path_len;
    uint32_t build_id_len;
};

/* STACKS: an array of these, each followed by depth uint64_t return
 * addresses, innermost first. A stack id is its index in this section.
 * Two stacks may hold the same addresses when a module was unloaded and
 * another loaded at its place between them (see EPOCHS). */
struct lg_stack {
    uint32_t depth;
    uint32_t reserved;
};

/* EPOCHS (optional; a reader that does not know it skips it): which of
 * two modules loaded in turn at one address a stack's frames belong to.
 * The module epoch starts at 0 and grows by one at each dlclose that
 * unloads a module. This header, then nmodules uint32_t (each module's
 * unload epoch: the first epoch in which it is no longer loaded, LG_NONE
 * while loaded), then
 * nstacks uint32_t (the epoch each stack was recorded in), zero-padded to
 * 8 bytes. nmodules and nstacks equal the counts of MODULES and STACKS.
 * A frame of a stack recorded in epoch e lies in the module that covers
 * its address and was unloaded first after e (the smallest unload epoch
 * greater than e), else in the loaded module that covers it. Without this
 * section, MODULES never overlap. */
struct lg_epochs {
    uint32_t nmodules;
    uint32_t nstacks;
};

/* BLOCKS: an array, sorted by address; a block index is its position. */
struct lg_block {
    uint64_t address;                /* what the allocator returned */
    uint64_t size;                   /* bytes requested */
    uint32_t stack;                  /* allocating stack id, or LG_NONE */
    uint32_t flags;                  /* LG_BLOCKF_* */
};
#define LG_BLOCKF_OBJECT 1u          /* holds a refcount object (see OBJECTS) */
#define LG_BLOCKF_LIBC 2u            /* libc / loader bookkeeping: never a leak */

/* OBJECTS: an array of refcount objects; an object index is its position. */
struct lg_object {
    uint64_t address;                /* what rc_new returned */
    uint32_t block;                  /* index of the block that holds it */
    uint32_t type_name;              /* string id */
    int64_t refcnt;
    uint32_t flags;                  /* LG_OBJF_* */
    uint32_t world;                  /* enum lg_world: which refcount API */
};
#define LG_OBJF_GC_TRACKED 1u        /* tracked by the runtime's collector */
#define LG_OBJF_IMMORTAL 2u          /* cached int / interned str */
#define LG_OBJF_HISTORY_TRUNCATED 4u /* history bound reached; oldest dropped */

enum lg_world {
    LG_WORLD_LIBREFCOUNT = 1,        /* runtime/ */
};

/* EDGES: an array. from and to are block indices. */
struct lg_edge {
    uint32_t from;
    uint32_t to;
    uint32_t offset;                 /* byte offset of the pointer in from, or
                                        LG_NONE for precise edges */
    uint32_t field;                  /* string id of the field (precise), or LG_NONE */
    uint32_t kind;                   /* enum lg_edge_kind */
    uint32_t reserved;
};

enum lg_edge_kind {
    LG_EDGE_PRECISE = 1,             /* reported by the type's traverse */
    LG_EDGE_START = 2,               /* conservative: points at the block start
                                        (or at the object address inside it) */
    LG_EDGE_INTERIOR = 3,            /* conservative: points inside the block */
};

/* REGIONS: an array of root areas that were scanned. */
struct lg_region {
    uint64_t start;
    uint64_t end;
    uint32_t kind;                   /* enum lg_region_kind */
    uint32_t name;                   /* string id: module path, "[stack]", ... */
    uint32_t thread;                 /* kernel tid for stacks / TLS / registers */
    uint32_t module;                 /* module index, or LG_NONE */
};

enum lg_region_kind {
    LG_REGION_MODULE_DATA = 1,       /* writable segment of a loaded module */
    LG_REGION_TLS = 2,
    LG_REGION_STACK = 3,
    LG_REGION_REGISTERS = 4,
    LG_REGION_MAPPING = 5,           /* writable mapping that holds no heap block */
};

/* ROOTS: an array; each is one pointer found in a region. */
struct lg_root {
    uint64_t slot;                   /* address where the pointer was found */
    uint32_t region;                 /* region index */
    uint32_t to;                     /* block index */
    uint32_t kind;                   /* LG_EDGE_START or LG_EDGE_INTERIOR */
    uint32_t reserved;
};

/* HISTORY: an array, oldest first per object. */
struct lg_history {
    uint32_t object;                 /* object index */
    uint32_t event;                  /* enum lg_history_event */
    uint32_t stack;                  /* stack id */
    uint32_t reserved;
    int64_t refcnt_after;
};

enum lg_history_event {
    LG_HIST_NEW = 1,
    LG_HIST_INCREF = 2,
    LG_HIST_DECREF = 3,
};

/* SNAPSHOT_END: counts repeated so a reader can check it read everything. */
struct lg_snapshot_end {
    uint64_t blocks;
    uint64_t objects;
    uint64_t edges;
    uint64_t roots;
};

_Static_assert(sizeof(struct lg_file_header) == 16, "file header layout");
_Static_assert(sizeof(struct lg_section_header) == 16, "section header layout");
_Static_assert(sizeof(struct lg_process) == 24, "process layout");
_Static_assert(sizeof(struct lg_snapshot_begin) == 24, "snapshot begin layout");
_Static_assert(sizeof(struct lg_module) == 32, "module layout");
_Static_assert(sizeof(struct lg_stack) == 8, "stack layout");
_Static_assert(sizeof(struct lg_block) == 24, "block layout");
_Static_assert(sizeof(struct lg_object) == 32, "object layout");
_Static_assert(sizeof(struct lg_edge) == 24, "edge layout");
_Static_assert(sizeof(struct lg_region) == 32, "region layout");
_Static_assert(sizeof(struct lg_root) == 24, "root layout");
_Static_assert(sizeof(struct lg_history) == 24, "history layout");
_Static_assert(sizeof(struct lg_snapshot_end) == 32, "snapshot end layout");

#endif /* LG_TRACE_H */
