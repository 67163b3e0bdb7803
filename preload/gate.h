/* gate.h - the gate that holds headered blocks (blockbits.h) still while a
 * snapshot or a fork reads them, with no lock and no locked instruction on
 * the allocator's path (gate.c owns the slots and the closing).
 *
 * A hook that changes a header or a block's byte first marks its thread's
 * slot busy (a plain store), then looks at the gate. Whoever closes the
 * gate (one closer at a time) shuts it, makes every running thread's
 * stores visible with membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), and
 * waits until no slot is busy. Either the hook sees the gate shut (it
 * steps back and waits until it opens) or the closer sees the slot busy
 * (it waits until the hook leaves): an asymmetric Dekker handshake, as in
 * userspace RCU, whose cost is all on the rare closing side. Without
 * membarrier the hook pays a full fence instead.
 *
 * A hook never waits at a shut gate when waiting could deadlock: nested in
 * a busy hook on its thread (a signal handler; the closer is waiting for
 * that hook), on the closer's own thread, or while its thread holds one of
 * the shim's locks (the closer takes those after the gate, so it cannot
 * read anything before this hook is done). A thread with no slot (more
 * than LG_GATE_SLOTS at once, or one ending) counts itself in a shared
 * counter with a locked add instead. With one thread in the process there
 * is nobody to wait for, and the gate is not touched. */
#ifndef LG_GATE_H
#define LG_GATE_H

#include "lg_shim.h"

#define LG_GATE_SLOTS 1024

struct lg_gate_slot {
    _Alignas(64) atomic_int busy;       /* one cache line per thread */
    atomic_int taken;
};

enum lg_gate_pass {
    LG_GATE_OPEN,                       /* single-threaded: nothing to undo */
    LG_GATE_OUTER,                      /* this thread's slot was idle: clear it */
    LG_GATE_NESTED,                     /* inside a busy hook: leave the slot busy */
    LG_GATE_SLOTLESS,                   /* counted in the shared counter */
};

extern __thread struct lg_gate_slot *lg_gate_mine __attribute__((tls_model("initial-exec")));
extern atomic_int lg_gate_shut;
extern bool lg_gate_fenced;             /* no membarrier: the hook fences */

enum lg_gate_pass lg_gate_enter_slow(void);   /* gate.c: no slot yet, or shut */
void lg_gate_leave_slotless(void);

/* Passes the gate: afterwards no closer reads headered blocks until
 * lg_gate_leave. */
static inline __attribute__((always_inline)) enum lg_gate_pass lg_gate_enter(void)
{
    if (__libc_single_threaded)
        return LG_GATE_OPEN;
    struct lg_gate_slot *me = lg_gate_mine;
    if (LG_UNLIKELY(me == NULL))
        return lg_gate_enter_slow();
    int was = atomic_load_explicit(&me->busy, memory_order_relaxed);
    atomic_store_explicit(&me->busy, 1, memory_order_relaxed);
    if (LG_UNLIKELY(lg_gate_fenced))
        atomic_thread_fence(memory_order_seq_cst);
    else
        atomic_signal_fence(memory_order_seq_cst);  /* membarrier does the rest */
    if (LG_UNLIKELY(atomic_load_explicit(&lg_gate_shut, memory_order_relaxed)) && !was) {
        atomic_store_explicit(&me->busy, 0, memory_order_release);
        return lg_gate_enter_slow();
    }
    return was ? LG_GATE_NESTED : LG_GATE_OUTER;
}

static inline __attribute__((always_inline)) void lg_gate_leave(enum lg_gate_pass pass)
{
    if (pass == LG_GATE_OUTER)
        atomic_store_explicit(&lg_gate_mine->busy, 0, memory_order_release);
    else if (LG_UNLIKELY(pass == LG_GATE_SLOTLESS))
        lg_gate_leave_slotless();
}

void lg_gate_init(void);                /* registers for membarrier */
bool lg_gate_close(int wait_ms);        /* shuts the gate and waits for the hooks
                                           inside; wait_ms < 0: as long as it takes.
                                           False (gate left open) on timeout */
void lg_gate_open(void);
void lg_gate_fork_child(void);          /* the forking thread's slot only, open */
void lg_gate_thread_exit(void);         /* threads.c: this thread's slot is free */

#endif /* LG_GATE_H */
