/* sigwriter.c - LEAKGRAPH_SIGNAL_THREAD=on: a thread of the shim's own that
 * writes a signal-requested snapshot as soon as the signal arrives. Without
 * it the snapshot signal's handler only sets a flag and the program's next
 * allocation writes the snapshot, so a program that sits idle (a daemon
 * blocked in poll) writes nothing until it allocates again. The handler
 * still only sets the flag; it also wakes this thread (a futex wake, safe in
 * a handler), which writes the snapshot from an ordinary context.
 *
 * The thread is the shim's, not the program's: its stack is the shim's own
 * pages (never a root, as the shim's tables are not), it blocks every
 * signal (the program's signals go to the program's threads), it records
 * none of its allocations (lg_in_hook stays set: glibc's own for the thread,
 * its TLS vector, are passed through), the world stop leaves it running,
 * and threads.c does not see it (the real pthread_create starts it). It is
 * opt-in because it makes every program a threaded one: the block map's
 * shards then take their locks (glibc's __libc_single_threaded goes false).
 * A forked child starts its own. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lg_shim.h"

#define WRITER_STACK (1u << 20)         /* a snapshot runs deep in write_all */

static _Atomic pid_t writer_tid;

pid_t lg_sigwriter_tid(void)
{
    return atomic_load_explicit(&writer_tid, memory_order_relaxed);
}

void lg_sigwriter_wake(void)
{
    if (atomic_load_explicit(&writer_tid, memory_order_relaxed) == 0)
        return;
    int saved = errno;
    syscall(SYS_futex, &lg_snapshot_pending, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved;
}

static void *writer_main(void *unused)
{
    (void)unused;
    lg_in_hook = 1;                     /* nothing this thread allocates is the program's */
    atomic_store(&writer_tid, (pid_t)syscall(SYS_gettid));
    for (;;) {
        if (atomic_load(&lg_snapshot_pending) == 0) {
            syscall(SYS_futex, &lg_snapshot_pending, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
            continue;
        }
        if (!lg_write_pending_snapshot())
            return NULL;                /* the exit snapshot is written: done */
    }
}

/* Starts the writer on stack; 0 or an error. */
static int start_writer(void *stack)
{
    typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    create_fn create = (create_fn)lg_next_symbol("pthread_create");
    pthread_attr_t attr;
    if (create == NULL || pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setstack(&attr, stack, WRITER_STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* the thread inherits it */
    int was = lg_in_hook;
    lg_in_hook = 1;                     /* its descriptor's allocations are libc's */
    pthread_t t;
    int err = create(&t, &attr, writer_main, NULL);
    lg_in_hook = was;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return err;
}

void lg_sigwriter_start(void)
{
    if (!lg_cfg.signal_thread || lg_cfg.signal <= 0)
        return;
    atomic_store(&writer_tid, 0);       /* a forked child has none yet */
    void *stack = lg_map_pages(WRITER_STACK);
    if (stack != NULL && start_writer(stack) == 0)
        return;
    if (stack != NULL)
        lg_unmap_pages(stack, WRITER_STACK);
    lg_say("LEAKGRAPH_SIGNAL_THREAD: cannot start the writer thread; ",
           "signal snapshots wait for the next allocation", NULL, NULL);
}
