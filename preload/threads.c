/* threads.c - which thread stacks belong to live threads. Owns a fixed table
 * of the stacks of the threads the program starts with pthread_create
 * (interposed here): a thread records its stack when it starts and marks it
 * dead when it ends (a pthread key destructor). glibc keeps an exited
 * thread's stack mapped for reuse, stale pointers and all, and nothing in
 * /proc/self/maps tells it from a live one; so the root scan asks
 * lg_dead_stacks() for the stacks no live thread owns and cuts them out
 * (memcheck never scans memory a dead thread left behind). The one heap
 * block glibc still holds from a dead thread's descriptor, its TLS vector,
 * is flagged as libc's own instead (lg_thread_dtvs()), as are live
 * threads' (the descriptor points into it, not at its start). A thread started
 * some other way (raw clone, before the shim loaded) is simply not in the
 * table, and its stack stays a root.
 * Also owns the pthread_getattr_np interposer: glibc holds the thread's own
 * lock while that function reallocs, so the shim must not ask for the same
 * thread's attributes from inside that allocation (fastunwind.c checks
 * lg_in_getattr), or the thread waits on itself forever. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gate.h"
#include "lg_shim.h"

#define MAX_STACKS 4096

enum { SLOT_EMPTY, SLOT_CLAIMED, SLOT_LIVE, SLOT_DEAD };

struct stack_slot {
    _Atomic int state;
    uintptr_t lo, hi;            /* the stack and its TLS, guard page excluded */
    uintptr_t tp;                /* the thread descriptor (TCB), near hi */
};

static struct stack_slot slots[MAX_STACKS];
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Thread_local int my_slot __attribute__((tls_model("initial-exec"))) = -1;
_Thread_local int lg_in_getattr __attribute__((tls_model("initial-exec")));

struct start {
    void *(*fn)(void *);
    void *arg;
};

static void on_thread_exit(void *unused)
{
    (void)unused;
    lg_gate_thread_exit();
    if (my_slot >= 0)
        atomic_store(&slots[my_slot].state, SLOT_DEAD);
    my_slot = -1;
}

/* In a forked child only the forking thread lives on; the others' stacks
 * are copies nobody runs on. */
static void after_fork_in_child(void)
{
    for (int i = 0; i < MAX_STACKS; i++)
        if (i != my_slot && atomic_load(&slots[i].state) == SLOT_LIVE)
            atomic_store(&slots[i].state, SLOT_DEAD);
}

static void make_key(void)
{
    if (pthread_key_create(&exit_key, on_thread_exit) != 0) {
        exit_key = (pthread_key_t)-1;
        return;
    }
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

/* A slot that already holds this stack (a dead thread's, now reused) or an
 * empty one; -1 when the table is full (the stack then stays a root). */
static int claim_slot(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < MAX_STACKS; i++) {
        int dead = SLOT_DEAD;
        if (slots[i].lo == lo && slots[i].hi == hi &&
            atomic_compare_exchange_strong(&slots[i].state, &dead, SLOT_CLAIMED))
            return i;
    }
    for (int i = 0; i < MAX_STACKS; i++) {
        int empty = SLOT_EMPTY;
        if (atomic_compare_exchange_strong(&slots[i].state, &empty, SLOT_CLAIMED))
            return i;
    }
    return -1;
}

static void record_my_stack(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;

    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    int got = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (got != 0 || size == 0)
        return;
    pthread_once(&key_once, make_key);
    if (exit_key == (pthread_key_t)-1)
        return;
    int i = claim_slot((uintptr_t)addr, (uintptr_t)addr + size);
    if (i < 0)
        return;
    slots[i].lo = (uintptr_t)addr;
    slots[i].hi = (uintptr_t)addr + size;
    slots[i].tp = (uintptr_t)pthread_self();
    my_slot = i;
    atomic_store(&slots[i].state, SLOT_LIVE);
    if (pthread_setspecific(exit_key, &slots[i]) != 0)   /* no destructor: keep it a root */
        atomic_store(&slots[i].state, SLOT_EMPTY), my_slot = -1;
}

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    record_my_stack();
    return s.fn(s.arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

__attribute__((visibility("default"))) int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg)
{
    static _Atomic(pthread_create_fn) real_create;
    pthread_create_fn real = atomic_load(&real_create);
    if (real == NULL) {
        real = (pthread_create_fn)lg_next_symbol("pthread_create");
        if (real == NULL)
            return EAGAIN;
        atomic_store(&real_create, real);
    }
    struct start *s = malloc(sizeof(*s));
    if (s == NULL)                      /* pass through untracked rather than fail */
        return real(t, attr, fn, arg);
    s->fn = fn;
    s->arg = arg;
    int err = real(t, attr, trampoline, s);
    if (err != 0)
        free(s);
    return err;
}

typedef int (*getattr_fn)(pthread_t, pthread_attr_t *);

__attribute__((visibility("default"))) int pthread_getattr_np(pthread_t t, pthread_attr_t *attr)
{
    static _Atomic(getattr_fn) real_getattr;
    getattr_fn real = atomic_load(&real_getattr);
    if (real == NULL) {
        real = (getattr_fn)lg_next_symbol("pthread_getattr_np");
        if (real == NULL)
            return ENOSYS;
        atomic_store(&real_getattr, real);
    }
    lg_in_getattr++;                    /* its allocations must not ask again */
    int err = real(t, attr);
    lg_in_getattr--;
    return err;
}

size_t lg_dead_stacks(uintptr_t (*out)[2], size_t max)
{
    size_t n = 0;
    for (int i = 0; i < MAX_STACKS && n < max; i++) {
        if (atomic_load(&slots[i].state) != SLOT_DEAD)
            continue;
        out[n][0] = slots[i].lo;
        out[n][1] = slots[i].hi;
        n++;
    }
    return n;
}

/* x86-64 TCB: the thread pointer points at tcbhead_t, whose second word is
 * the thread's TLS vector (DTV), a heap block glibc allocates for each
 * thread and keeps, pointing one element past its start, until the stack is
 * reused. Read through process_vm_readv: a dead thread's stack may have
 * been unmapped since. */
static uintptr_t dtv_of(uintptr_t tp)
{
    uintptr_t dtv = 0;
    struct iovec local = {&dtv, sizeof dtv};
    struct iovec remote = {(void *)(tp + sizeof(void *)), sizeof dtv};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof dtv)
        return 0;
    return dtv;
}

size_t lg_thread_dtvs(uintptr_t *out, size_t max)
{
    size_t n = 0;
    uintptr_t self = (uintptr_t)pthread_self();
    uintptr_t d = dtv_of(self);
    if (d != 0 && n < max)
        out[n++] = d;
    for (int i = 0; i < MAX_STACKS && n < max; i++) {
        int st = atomic_load(&slots[i].state);
        if ((st != SLOT_LIVE && st != SLOT_DEAD) || slots[i].tp == self)
            continue;
        if ((d = dtv_of(slots[i].tp)) != 0)
            out[n++] = d;
    }
    return n;
}
