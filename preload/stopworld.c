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
 * stopped thread is inside the block map. A thread that has not answered
 * after 50 ms is asked about in /proc/self/task/TID/status: one that blocks
 * the signal, is stopped or traced, or is gone will not answer and keeps
 * the old treatment (its whole stack mapping is scanned); one that merely
 * has not run yet (a loaded machine) is waited for, up to 2 s in all. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
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
static bool given_up[MAX_THREADS];
static atomic_int n_targets;
static atomic_int world_stopped;
static bool installed;

static int stop_signal(void)
{
    return SIGRTMAX - 4;
}

/* The threads inside on_stop now, by tid (0: a free entry), placed from
 * tid % MAX_THREADS on: can_answer asks whether a laggard is one of them. */
static atomic_int inside[MAX_THREADS];

static atomic_int *enter_inside(pid_t tid)
{
    for (int k = 0; k < MAX_THREADS; k++) {
        atomic_int *e = &inside[((unsigned)tid + (unsigned)k) % MAX_THREADS];
        int free_ = 0;
        if (atomic_load_explicit(e, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(e, &free_, tid))
            return e;
    }
    return NULL;                        /* more threads than entries: cannot happen */
}

static bool is_inside(pid_t tid)
{
    for (int k = 0; k < MAX_THREADS; k++)
        if (atomic_load(&inside[k]) == tid)
            return true;
    return false;
}

/* Records this thread's stack pointer and saved registers and waits until
 * the world resumes. A thread still waiting here when the next snapshot
 * stops the world (it had not run since the resume, on a loaded machine)
 * answers that one from here too: its interrupted state is unchanged, and
 * the new signal stays pending behind this handler's mask. */
static void on_stop(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    int saved = errno;
    ucontext_t *uc = ucv;
    pid_t me = (pid_t)syscall(SYS_gettid);
    atomic_int *entry = enter_inside(me);
    for (;;) {
        int n = atomic_load(&n_targets);    /* 0 between rounds */
        bool found = false;
        for (int i = 0; i < n; i++) {
            if (targets[i].tid != me)
                continue;
            found = true;
            if (!atomic_load(&targets[i].acked)) {
                targets[i].sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
                targets[i].regs_start = (uint64_t)(uintptr_t)&uc->uc_mcontext.gregs[0];
                targets[i].regs_end = targets[i].regs_start + sizeof uc->uc_mcontext.gregs;
                atomic_store(&targets[i].acked, 1);
            }
            break;
        }
        if (!found || !atomic_load(&world_stopped))
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        syscall(SYS_futex, &world_stopped, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    }
    if (entry != NULL)
        atomic_store(entry, 0);
    errno = saved;
}

/* The mask on a "Sig...:\t<hex>" line of a status file, 0 if absent. */
static uint64_t status_mask(const char *buf, const char *key)
{
    const char *at = strstr(buf, key);
    uint64_t mask = 0;
    if (at == NULL)
        return 0;
    for (const char *c = at + strlen(key); ; c++) {
        int v = *c >= '0' && *c <= '9' ? *c - '0' : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10 : -1;
        if (v < 0)
            break;
        mask = mask << 4 | (uint64_t)v;
    }
    return mask;
}

/* Whether thread tid can still run the stop handler: not if the signal
 * waits, pending, behind its mask (unless tid itself is inside on_stop:
 * still waiting there from the last round, it has every signal blocked and
 * the new one pending, and answers from there; another thread inside, one
 * that answered this round, says nothing about tid), if it is stopped or
 * traced, or gone. No allocation, no stdio. */
static bool can_answer(pid_t tid)
{
    char path[48] = "/proc/self/task/", digits[16];
    int nd = 0;
    for (pid_t t = tid; t > 0 && nd < 15; t /= 10)
        digits[nd++] = (char)('0' + t % 10);
    size_t len = strlen(path);
    while (nd > 0)
        path[len++] = digits[--nd];
    memcpy(path + len, "/status", 8);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return false;
    buf[got] = 0;
    const char *st = strstr(buf, "\nState:\t");
    if (st != NULL && (st[8] == 'T' || st[8] == 't' || st[8] == 'Z' || st[8] == 'X'))
        return false;
    uint64_t bit = 1ull << (stop_signal() - 1);
    if (is_inside(tid))                 /* still in on_stop from the last round */
        return true;
    return !((status_mask(buf, "\nSigBlk:\t") & bit) && (status_mask(buf, "\nSigPnd:\t") & bit));
}

/* A thread of the parent still inside on_stop is not in the child. */
static void fork_child(void)
{
    for (int k = 0; k < MAX_THREADS; k++)
        atomic_store(&inside[k], 0);
}

void lg_stopworld_init(void)
{
    pthread_atfork(NULL, NULL, fork_child);
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
            if (tid <= 0 || tid == me || tid == lg_sigwriter_tid())
                continue;                   /* the shim's writer: not the program's */
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
    long next_check = 50000000L;        /* ns: the first look at laggards */
    for (int i = 0; i < n; i++)
        given_up[i] = false;
    for (;;) {
        int waiting = 0;
        for (int i = 0; i < n; i++)
            waiting += targets[i].tid > 0 && !given_up[i] && !atomic_load(&targets[i].acked);
        if (waiting == 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ns = (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec);
        if (ns > 2000000000L)
            break;                      /* the rest keep their whole mapping */
        if (ns > next_check) {          /* give up on those that cannot answer */
            for (int i = 0; i < n; i++)
                if (targets[i].tid > 0 && !given_up[i] && !atomic_load(&targets[i].acked))
                    given_up[i] = !can_answer(targets[i].tid);
            next_check = ns + 20000000L;
        }
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
