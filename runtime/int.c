/* int.c - the built-in "int" type: immutable integers. Owns the small-int
 * cache: one immortal object per value in [-5, 256], made on first use and
 * kept until exit (reachable from this file's globals, never leaked). */
#include <assert.h>
#include <errno.h>

#include "rc_internal.h"

#define SMALL_MIN (-5)
#define SMALL_MAX 256

typedef struct rc_int {
    rc_object ob;
    long value;
} rc_int;

static const rc_type int_type = {
    .name = "int",
    .size = sizeof(rc_int),
};

/* Block starts (rc__head), not object addresses, so that any leak checker
 * sees a start pointer to each cached int's block. */
static rc__head *small_ints[SMALL_MAX - SMALL_MIN + 1];

static rc_object *make_int(long v, int immortal)
{
    rc_object *o = rc__new_var(&int_type, 0, immortal);
    if (o != NULL)
        ((rc_int *)o)->value = v;
    return o;
}

rc_object *rc_int_new(long v)
{
    if (v < SMALL_MIN || v > SMALL_MAX)
        return make_int(v, 0);
    rc__head **slot = &small_ints[v - SMALL_MIN];
    rc__head *h = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (h != NULL)
        return rc__object_of(h);
    rc_object *o;
    rc__lock();
    h = *slot;
    if (h != NULL) {
        o = rc__object_of(h);
    } else {
        o = make_int(v, 1);
        if (o != NULL)
            __atomic_store_n(slot, rc__head_of(o), __ATOMIC_RELEASE);
    }
    rc__unlock();
    return o;
}

long rc_int_value(const rc_object *o)
{
    assert(o != NULL && o->type == &int_type && "rc_int_value needs an int");
    return ((const rc_int *)o)->value;
}
