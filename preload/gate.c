/* gate.c - the gate of headered blocks (gate.h): each thread's busy slot,
 * claimed at its first pass and freed when it ends, the counter of threads
 * without one, and closing and opening for the snapshot and fork. Only
 * syscalls and atomics here: hooks call in from anywhere, signal handlers
 * included. */
#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"

static struct lg_gate_slot slots[LG_GATE_SLOTS];
static atomic_int slotless;             /* threads inside with no slot */
static __thread int slotless_depth __attribute__((tls_model("initial-exec")));
static __thread bool no_slot __attribute__((tls_model("initial-exec")));   /* never claim */
__thread struct lg_gate_slot *lg_gate_mine __attribute__((tls_model("initial-exec")));
static __thread int closing __attribute__((tls_model("initial-exec")));   /* the closer */
atomic_int lg_gate_shut;
bool lg_gate_fenced = true;             /* until membarrier is known to work */

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

void lg_gate_init(void)
{
    int saved = errno;
    long cmds = membarrier(MEMBARRIER_CMD_QUERY);
    lg_gate_fenced = !(cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                       membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0);
    errno = saved;
}

static void pause_briefly(int round)
{
    if (round < 64) {
        __builtin_ia32_pause();
    } else if (round < 256) {
        sched_yield();
    } else {
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Until the gate opens: spin a little, then sleep on the futex. */
static void wait_open(void)
{
    for (int round = 0; atomic_load(&lg_gate_shut); round++) {
        if (round < 128) {
            __builtin_ia32_pause();
            continue;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        syscall(SYS_futex, &lg_gate_shut, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    }
}

/* May this thread go through a shut gate? See gate.h. */
static bool may_pass_shut(void)
{
    return closing || lg_in_lock;
}

static struct lg_gate_slot *claim(void)
{
    for (int i = 0; i < LG_GATE_SLOTS; i++) {
        int free_ = 0;
        if (atomic_load_explicit(&slots[i].taken, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&slots[i].taken, &free_, 1))
            return &slots[i];
    }
    return NULL;
}

static enum lg_gate_pass enter_slotless(void)
{
    for (;;) {
        atomic_fetch_add(&slotless, 1);   /* a full barrier: no membarrier needed */
        if (slotless_depth > 0 || !atomic_load(&lg_gate_shut) || may_pass_shut()) {
            slotless_depth++;
            return LG_GATE_SLOTLESS;
        }
        atomic_fetch_sub(&slotless, 1);
        wait_open();
    }
}

void lg_gate_leave_slotless(void)
{
    slotless_depth--;
    atomic_fetch_sub(&slotless, 1);
}

enum lg_gate_pass lg_gate_enter_slow(void)
{
    struct lg_gate_slot *me = lg_gate_mine;
    if (me == NULL && !no_slot) {
        me = lg_gate_mine = claim();
        no_slot = me == NULL;
    }
    if (me == NULL)
        return enter_slotless();
    for (;;) {                          /* the slot is idle here: not nested */
        atomic_store_explicit(&me->busy, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&lg_gate_shut, memory_order_relaxed) || may_pass_shut())
            return LG_GATE_OUTER;
        atomic_store_explicit(&me->busy, 0, memory_order_release);
        wait_open();
    }
}

/* Whether wait_ms (>= 0) have passed since start; looked at every 64th
 * round of a wait only. */
static bool ran_out(int round, int wait_ms, struct timespec start)
{
    if (wait_ms < 0 || (round & 63) != 63)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > wait_ms;
}

/* Waits until *count is at most floor (a slot's busy flag: 0); false when
 * wait_ms ran out first. */
static bool wait_down(atomic_int *count, int floor, int wait_ms, struct timespec start)
{
    for (int round = 0; atomic_load_explicit(count, memory_order_acquire) > floor; round++) {
        pause_briefly(round);
        if (ran_out(round, wait_ms, start))
            return false;
    }
    return true;
}

bool lg_gate_close(int wait_ms)
{
    if (closing)
        return false;                   /* already this thread's: a fatal signal in it */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int open = 0;
    for (int round = 0; !atomic_compare_exchange_weak(&lg_gate_shut, &open, 1); round++) {
        open = 0;                       /* another closer has it: a snapshot, a fork */
        pause_briefly(round);
        if (ran_out(round, wait_ms, start))
            return false;
    }
    closing = 1;
    if (__libc_single_threaded)
        return true;                    /* no other thread, now or ever before */
    if (!lg_gate_fenced && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
        lg_gate_fenced = true;          /* cannot happen once registered; be safe */
    bool all = true;
    struct lg_gate_slot *mine = lg_gate_mine;
    for (int i = 0; i < LG_GATE_SLOTS && all; i++)
        if (&slots[i] != mine)
            all = wait_down(&slots[i].busy, 0, wait_ms, start);
    if (all)                            /* this thread's own slotless passes excepted */
        all = wait_down(&slotless, slotless_depth, wait_ms, start);
    if (!all)
        lg_gate_open();
    return all;
}

void lg_gate_open(void)
{
    closing = 0;
    atomic_store(&lg_gate_shut, 0);
    syscall(SYS_futex, &lg_gate_shut, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/* In a forked child: the other threads are gone, and their slots with them. */
void lg_gate_fork_child(void)
{
    struct lg_gate_slot *mine = lg_gate_mine;
    for (int i = 0; i < LG_GATE_SLOTS; i++) {
        if (&slots[i] == mine)
            continue;
        atomic_store(&slots[i].busy, 0);
        atomic_store(&slots[i].taken, 0);
    }
    atomic_store(&slotless, slotless_depth);
    lg_gate_init();                     /* the child is a new process to membarrier */
    lg_gate_open();
}

void lg_gate_thread_exit(void)
{
    struct lg_gate_slot *me = lg_gate_mine;
    lg_gate_mine = NULL;
    no_slot = true;                     /* late frees (TLS destructors) count instead */
    if (me != NULL)
        atomic_store(&me->taken, 0);
}
