/* lock.c - the runtime lock (CPython's GIL): rc_lock()/rc_unlock(), and the
 * same lock taken internally around the runtime's global state (generation
 * lists, collector counts, the small-int cache, the intern table, weak
 * reference lists, the list field-name table). Recursive: a thread that holds
 * it re-enters with a compare and an increment, so runtime calls made by a
 * program that holds the lock pay almost nothing for the internal locking.
 * fork() takes the lock first (pthread_atfork), so a child never starts with
 * the runtime's state half-changed or its lock held by a thread it lacks.
 * The handlers are registered at the first lock, not in a constructor:
 * prepare handlers run newest first, and this lock must be taken before the
 * locks of tools that hook the runtime (the leakgraph shim registers its
 * handlers in its constructor, and its tracer runs under this lock). */
#include <pthread.h>

#include "rc_internal.h"

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_t owner;         /* valid while is_owned */
static int is_owned;            /* written under mutex, read racily by non-owners */
static unsigned depth;          /* only the owner touches it */
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;

static void register_fork_handlers(void);

static int held_by_me(void)
{
    /* A non-owner may read a stale value, but never one that says it owns the
     * lock: only the owner stores its own id, and it clears is_owned before
     * it unlocks. */
    return __atomic_load_n(&is_owned, __ATOMIC_ACQUIRE) && pthread_equal(__atomic_load_n(&owner, __ATOMIC_RELAXED), pthread_self());
}

void rc__lock(void)
{
    if (held_by_me()) {
        depth++;
        return;
    }
    pthread_once(&fork_handlers_once, register_fork_handlers);
    pthread_mutex_lock(&mutex);
    __atomic_store_n(&owner, pthread_self(), __ATOMIC_RELAXED);
    __atomic_store_n(&is_owned, 1, __ATOMIC_RELEASE);
    depth = 1;
}

void rc__unlock(void)
{
    if (--depth != 0)
        return;
    __atomic_store_n(&is_owned, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&mutex);
}

void rc_lock(void)
{
    rc__lock();
}

void rc_unlock(void)
{
    rc__unlock();
}

/* ---- fork ------------------------------------------------------------------ */

static void before_fork(void)
{
    rc__lock();
}

static void after_fork(void)
{
    rc__unlock();               /* the forking thread is the owner on both sides */
}

static void register_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}
