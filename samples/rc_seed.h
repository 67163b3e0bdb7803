/* rc_seed.h - the seeds' notebook helpers, in C, for the samples built on
 * librefcount: ref_count(id) (ctypes' c_long.from_address: the count
 * itself), sys_getrefcount (one more, for the reference its argument
 * holds) and object_by_id (a search of gc.get_objects()). */
#ifndef RC_SEED_H
#define RC_SEED_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <refcount.h>

/* ctypes.c_long.from_address(id(x)).value: no extra reference. */
static inline intptr_t ref_count(const rc_object *o)
{
    return rc_refcount(o);
}

/* sys.getrefcount(x): the call holds a reference to its argument. */
static inline intptr_t sys_getrefcount(rc_object *o)
{
    rc_incref(o);
    intptr_t n = rc_refcount(o);
    rc_decref(o);
    return n;
}

struct seed_find {
    const void *id;
    int found;
};

static inline int seed_find_fn(rc_object *o, void *arg)
{
    struct seed_find *f = arg;
    f->found = (const void *)o == f->id;
    return f->found;
}

/* Compares addresses only: id may name an object that is gone. */
static inline const char *object_by_id(const void *id)
{
    struct seed_find f = {id, 0};
    rc_gc_foreach(seed_find_fn, &f);
    return f.found ? "Object exists" : "Not Found";
}

static inline const char *py_bool(int b)
{
    return b ? "True" : "False";
}

static inline int has_arg(int argc, char **argv, const char *want)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], want) == 0)
            return 1;
    return 0;
}

#endif /* RC_SEED_H */
