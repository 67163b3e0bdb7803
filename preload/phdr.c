/* phdr.c - keeps fork from cloning a lock held that the shim cannot take
 * itself: the loader's and libunwind's. Owns the dl_iterate_phdr interposer
 * and the fork gate. glibc's dl_iterate_phdr holds the loader's lock while
 * it runs, and libunwind takes mutexes of its own; fork takes neither: when
 * one thread forks while another walks the modules (the shim's fast
 * unwinder on a rule-cache miss, a C++ exception) or unwinds with
 * libunwind, the child starts with that lock held by a thread it does not
 * have, and its first unwind waits forever. So every dl_iterate_phdr call
 * and every libunwind call of the shim (lg_fork_gate_enter/leave) is
 * counted, and the fork prepare handler (registered after the shim's own,
 * so it runs first) closes the gate and waits, bounded, until no thread is
 * inside; the parent and child handlers open it again. A thread already
 * inside (libunwind walks the modules; a callback walks again) or holding
 * a shim lock never waits at the gate. */
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "lg_shim.h"

#define FORK_WAIT_NS (2ull * 1000 * 1000 * 1000)   /* then fork anyway */

typedef int (*phdr_cb)(struct dl_phdr_info *, size_t, void *);
typedef int (*iterate_fn)(phdr_cb, void *);

static atomic_int inside;               /* threads inside the real call */
static atomic_int gate_closed;          /* a fork is in its prepare phase */
static _Thread_local int depth __attribute__((tls_model("initial-exec")));
static _Thread_local int forking __attribute__((tls_model("initial-exec")));

static iterate_fn real_iterate(void)
{
    static _Atomic(iterate_fn) real;
    iterate_fn f = atomic_load_explicit(&real, memory_order_acquire);
    if (f == NULL) {
        f = (iterate_fn)lg_next_symbol("dl_iterate_phdr");
        atomic_store_explicit(&real, f, memory_order_release);
    }
    return f;
}

void lg_fork_gate_enter(void)
{
    /* A thread that holds a shim lock (pairing increfs looks up functions
     * through libunwind under an object shard's lock) must not wait: the
     * fork's own prepare handler waits for that lock. It goes in, and the
     * gate waits for it to come out. */
    if (depth == 0 && !forking && !lg_in_lock) {
        for (;;) {                      /* wait while a fork is being prepared */
            while (atomic_load(&gate_closed))
                sched_yield();
            atomic_fetch_add(&inside, 1);
            if (!atomic_load(&gate_closed))
                break;
            atomic_fetch_sub(&inside, 1);
        }
    } else {
        atomic_fetch_add(&inside, 1);
    }
    depth++;
}

void lg_fork_gate_leave(void)
{
    depth--;
    atomic_fetch_sub(&inside, 1);
}

LG_EXPORT int dl_iterate_phdr(phdr_cb callback, void *data)
{
    iterate_fn real = real_iterate();
    if (real == NULL)
        return 0;
    lg_fork_gate_enter();
    int r = real(callback, data);
    lg_fork_gate_leave();
    return r;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void close_gate(void)
{
    forking = 1;
    atomic_store(&gate_closed, 1);
    uint64_t until = now_ns() + FORK_WAIT_NS;
    while (atomic_load(&inside) > depth && now_ns() < until)
        sched_yield();
}

static void open_gate_parent(void)
{
    atomic_store(&gate_closed, 0);
    forking = 0;
}

static void open_gate_child(void)
{
    atomic_store(&inside, depth);       /* only this thread survives the fork */
    atomic_store(&gate_closed, 0);
    forking = 0;
}

void lg_phdr_atfork(void)
{
    pthread_atfork(close_gate, open_gate_parent, open_gate_child);
}
