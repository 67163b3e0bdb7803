/* stopworld.c - stops the program's other threads while a snapshot scans
 * the root areas, so each thread's stack is scanned from its real stack
 * pointer (not the stale memory below it) and its registers are roots too.
 * Owns the stop signal (SIGRTMAX - 4), its handler and the list of stopped
 * threads. A thread gets the signal (tgkill), its handler records the stack
 * pointer and where the kernel saved its registers (the ucontext on that
 * thread's stack), acknowledges and waits on a futex until the snapshot
 * resumes the world. The snapshot stops the world only after it has done
 * everything that allocates or takes a lock another thread could hold
 * (libc's, the loader's, the shim's arena): it holds every shard lock, so no
 * stopped thread is inside the block map. A thread that does not answer
 * within 50 ms (the signal blocked, say) keeps the old treatment: its whole
 * stack mapping is scanned. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "lg_shim.h"
#include "snapshot.h"

#define MAX_THREADS 4096

static struct lg_stopped targets[MAX_THREADS];
static atomic_int n_targets;
static atomic_int world_stopped;
static bool installed;

static int stop_signal(void)
{
    return SIGRTMAX - 4;
}

static void on_stop(int sig, siginfo_t *si, void *ucv)
{
    int saved = errno;
    ucontext_t *uc = ucv;
    pid_t me = (pid_t)syscall(SYS_gettid);
    int n = atomic_load(&n_targets);
    for (int i = 0; i < n; i++) {
        if (targets[i].tid != me)
            continue;
        targets[i].sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
        targets[i].regs_start = (uint64_t)(uintptr_t)&uc->uc_mcontext.gregs[0];
        targets[i].regs_end = targets[i].regs_start + sizeof uc->uc_mcontext.gregs;
        atomic_store(&targets[i].acked, 1);
        while (atomic_load(&world_stopped)) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            syscall(SYS_futex, &world_stopped, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
        }
        break;
    }
    errno = saved;
}

void lg_stopworld_init(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_stop;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(stop_signal(), NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
        !(old.sa_flags & SA_SIGINFO))
        installed = sigaction(stop_signal(), &sa, NULL) == 0;
}

struct dirent64_raw {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

size_t lg_world_stop(struct lg_stopped **out)
{
    *out = targets;
    atomic_store(&n_targets, 0);
    struct sigaction cur;
    if (!installed || sigaction(stop_signal(), NULL, &cur) != 0 ||
        !(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_stop)
        return 0;                       /* never fire a handler the program installed */
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    pid_t me = (pid_t)syscall(SYS_gettid), pid = getpid();
    char buf[8192];
    int n = 0;
    long got;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < got && n < MAX_THREADS;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
            off += d->reclen;
            pid_t tid = 0;
            for (const char *c = d->name; *c >= '0' && *c <= '9'; c++)
                tid = tid * 10 + (*c - '0');
            if (tid <= 0 || tid == me)
                continue;
            memset(&targets[n], 0, sizeof targets[n]);
            targets[n++].tid = tid;
        }
    }
    close(fd);
    atomic_store(&world_stopped, 1);
    atomic_store(&n_targets, n);        /* handlers look their slot up from here */
    for (int i = 0; i < n; i++)
        if (syscall(SYS_tgkill, pid, targets[i].tid, stop_signal()) != 0)
            targets[i].tid = -1;        /* gone meanwhile */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int waiting = 0;
        for (int i = 0; i < n; i++)
            waiting += targets[i].tid > 0 && !atomic_load(&targets[i].acked);
        if (waiting == 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 50000000L)
            break;                      /* the rest keep their whole mapping */
        sched_yield();
    }
    return (size_t)n;
}

void lg_world_resume(void)
{
    atomic_store(&world_stopped, 0);
    syscall(SYS_futex, &world_stopped, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
    atomic_store(&n_targets, 0);
}
