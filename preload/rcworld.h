/* rcworld.h - the one interface between the shim and a refcount API (a
 * "world"): how to hook its creations and reference operations, what an
 * object's type name, refcount and flags are, and which objects it owns.
 * world_librefcount.c is the first implementation; CPython or GObject would
 * be one more file implementing this struct, registered in objects.c.
 * objects.c owns the per-object records and the history; a world only
 * reports events through the lg_obj_* calls below. */
#ifndef LG_RCWORLD_H
#define LG_RCWORLD_H

#include <stdbool.h>
#include <stdint.h>

typedef int (*lg_edge_fn)(void *child, const char *field, void *arg);

struct lg_rc_world {
    const char *name;                       /* "librefcount" */
    uint32_t id;                            /* enum lg_world */
    bool (*install)(void);                  /* hook the runtime if it is loaded */
    const char *(*type_name)(const void *obj);
    int64_t (*refcount)(const void *obj);
    uint32_t (*flags)(const void *obj);     /* LG_OBJF_GC_TRACKED, LG_OBJF_IMMORTAL */
    int (*visit_edges)(void *obj, lg_edge_fn fn, void *arg); /* owned references */
    bool (*is_runtime_ip)(uintptr_t ip);    /* a frame inside the runtime itself */
};

extern const struct lg_rc_world lg_world_librefcount;

/* Events a world reports (from its tracer hook). block is the heap block
 * that holds obj (obj may lie inside it, after a runtime header). */
enum lg_obj_event { LG_OBJ_INCREF = 2, LG_OBJ_DECREF = 3 };   /* = lg_history_event */
void lg_obj_new(const struct lg_rc_world *w, void *obj, void *block, int64_t refcnt);
void lg_obj_ref(void *obj, void *block, enum lg_obj_event ev, int64_t refcnt_after);
void lg_obj_dealloc(void *obj, void *block);

/* Snapshot side (objects.c): the world of a live object. */
const struct lg_rc_world *lg_world_by_id(uint32_t id);

#endif /* LG_RCWORLD_H */
