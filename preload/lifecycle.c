/* lifecycle.c - when the shim starts, stops and writes: the constructor
 * (settings, stack table, refcount world, fork and signal handlers), the
 * exit snapshot in a destructor that runs after the program's atexit
 * handlers and destructors, snapshots on LEAKGRAPH_SIGNAL (the handler only
 * sets a flag; the next allocator call or the exit writes it) and on
 * leakgraph_snapshot(), a final snapshot on SIGTERM/SIGABRT, and fork: the
 * atfork handlers take every shim lock, so a child never inherits one held
 * by another thread, and the child writes its own trace. A secure-execution
 * (setuid) process is left alone. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"
#include "lg_shim.h"
#include "snapshot.h"

_Atomic int lg_state;
_Atomic int lg_snapshot_pending;
uint64_t lg_start_time_ns;
static atomic_int exit_written;

static void fork_prepare(void)
{
    lg_snapshot_fork_lock();
    lg_gate_close(-1);                  /* headered blocks: no hook half-way */
    lg_objects_fork_lock();
    lg_map_lock_all(&lg_blocks);
    lg_funckeys_fork_lock();
    lg_stacks_lock();
    lg_modules_fork_lock();
    lg_arena_fork_lock();
}

static void fork_parent(void)
{
    lg_arena_fork_unlock();
    lg_modules_fork_unlock();
    lg_stacks_unlock();
    lg_funckeys_fork_unlock();
    lg_map_unlock_all(&lg_blocks);
    lg_objects_fork_unlock();
    lg_gate_open();
    lg_snapshot_fork_unlock();
}

static void fork_child(void)
{
    lg_arena_fork_unlock();
    lg_modules_fork_unlock();
    lg_stacks_unlock();
    lg_funckeys_fork_unlock();
    lg_map_unlock_all(&lg_blocks);
    lg_objects_fork_unlock();
    lg_gate_fork_child();
    lg_snapshot_fork_child();           /* own file, numbering from 1 */
    atomic_store(&lg_snapshot_pending, 0);
    lg_sigwriter_start();               /* the parent's did not come along */
}

static void on_snapshot_signal(int sig)
{
    atomic_store(&lg_snapshot_pending, sig);
    lg_sigwriter_wake();                /* LEAKGRAPH_SIGNAL_THREAD=on */
}

/* A fault while the fatal snapshot reads a half-updated structure must not
 * turn a SIGTERM death into a SIGSEGV one: the snapshot is abandoned. */
static __thread sigjmp_buf *fault_jmp;
static struct sigaction old_segv, old_bus;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    if (fault_jmp != NULL)
        siglongjmp(*fault_jmp, 1);
    struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction != NULL)
        old->sa_sigaction(sig, si, uc);
    else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN)
        old->sa_handler(sig);
    else {
        sigaction(sig, old, NULL);      /* re-executes the fault, default action */
    }
}

static void fatal_snapshot(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    sigjmp_buf jb;
    if (sigsetjmp(jb, 1) == 0) {
        fault_jmp = &jb;
        lg_write_snapshot(LG_SNAP_FATAL, sig);
    } else {
        lg_world_resume();              /* the fault may have come mid-scan */
    }
    fault_jmp = NULL;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

static void on_fatal(int sig)
{
    int saved = errno;
    if (atomic_load(&lg_state) == LG_READY && !atomic_load(&exit_written))
        fatal_snapshot(sig);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    errno = saved;
    raise(sig);                         /* delivered when the handler returns */
}

static void install_signals(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (lg_cfg.signal > 0) {
        sa.sa_handler = on_snapshot_signal;
        sa.sa_flags = SA_RESTART;
        sigaction(lg_cfg.signal, &sa, NULL);
    }
    static const int fatal[] = {SIGTERM, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        if (fatal[i] == lg_cfg.signal)
            continue;
        if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO)) {
            sa.sa_handler = on_fatal;
            sa.sa_flags = 0;
            sigaction(fatal[i], &sa, NULL);
        }
    }
}

void lg_init(void)
{
    int expect = LG_OFF;
    if (!atomic_compare_exchange_strong(&lg_state, &expect, LG_BOOTING))
        return;
    if (getauxval(AT_SECURE)) {         /* setuid and friends: hands off */
        atomic_store(&lg_state, LG_DISABLED);
        return;
    }
    int was = lg_in_hook;
    lg_in_hook = 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lg_start_time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    lg_config_load();
    lg_exec_init();
    lg_stacks_init();
    lg_gate_init();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    lg_phdr_atfork();                   /* after: its prepare must run first */
    install_signals();
    lg_stopworld_init();
    atomic_store(&lg_state, LG_READY);
    lg_objects_install();
    lg_sigwriter_start();
    lg_in_hook = was;
}

/* From an allocator hook outside the shim. Not while the allocation comes
 * from inside a refcount runtime: its objects may be half-updated there
 * (a list between realloc and storing the new array), and the snapshot
 * runs their traverse. The next allocation elsewhere, or the exit, writes it. */
void lg_run_pending_snapshot(uintptr_t caller)
{
    if (!lg_in_hook && !lg_in_lock && !lg_ip_in_runtime(caller))
        lg_write_pending_snapshot();
}

/* A signal-requested snapshot, if one is pending: from the hooks (above)
 * and the signal writer thread (sigwriter.c). False once the exit snapshot
 * is written (nothing more to do). */
bool lg_write_pending_snapshot(void)
{
    if (atomic_load(&exit_written))
        return false;
    int sig = atomic_exchange(&lg_snapshot_pending, 0);
    if (sig != 0)
        lg_write_snapshot(LG_SNAP_SIGNAL, sig);
    return true;
}

LG_EXPORT int leakgraph_snapshot(void)
{
    if (atomic_load(&lg_state) != LG_READY || atomic_load(&exit_written))
        return -ENOSYS;
    if (lg_in_hook || lg_in_lock)
        return -EBUSY;
    int saved = errno;
    int err = lg_write_snapshot(LG_SNAP_REQUEST, 0);
    errno = saved;
    return err;
}

__attribute__((constructor(101))) static void lg_start(void)
{
    lg_init();
}

/* Destructors run in reverse order of initialisation; the shim was
 * initialised before the program and every library it loads (LD_PRELOAD),
 * so this runs after theirs and after the atexit handlers. */
__attribute__((destructor(101))) static void lg_stop(void)
{
    if (atomic_load(&lg_state) != LG_READY || atomic_exchange(&exit_written, 1))
        return;
    int saved = errno;
    int sig = atomic_exchange(&lg_snapshot_pending, 0);
    if (sig != 0)
        lg_write_snapshot(LG_SNAP_SIGNAL, sig);
    int was = lg_in_hook;
    lg_in_hook = 1;                     /* unwinding may allocate */
    lg_find_exit_caller_sp();
    lg_in_hook = was;
    lg_write_snapshot(LG_SNAP_EXIT, 0);
    atomic_store(&lg_state, LG_DISABLED); /* the exit snapshot took the tables */
    errno = saved;
}
