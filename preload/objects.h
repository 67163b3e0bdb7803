/* objects.h - the per-object record objects.c keeps for each live refcount
 * object, as the snapshot writer reads it (under the object map's locks). */
#ifndef LG_OBJECTS_H
#define LG_OBJECTS_H

#include <stdint.h>

struct lg_hev {                         /* one history event */
    uint32_t stack;
    uint32_t event;                     /* enum lg_history_event */
    int64_t refcnt_after;
};

struct lg_obj {
    uintptr_t block;                    /* the heap block that holds the object */
    uintptr_t obj;                      /* the object; 0 once the record is free */
    struct lg_hev *ev;                  /* n events, oldest first, room for cap */
    uint32_t n, cap;
    uint8_t world;                      /* enum lg_world */
    uint8_t truncated;                  /* LG_OBJF_HISTORY_TRUNCATED */
    uint32_t snap_index;                /* object index in the snapshot being written */
};

#endif /* LG_OBJECTS_H */
