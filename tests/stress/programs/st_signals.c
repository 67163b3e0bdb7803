/* st_signals.c - snapshot signals arrive during heavy allocation: THREADS
 * threads each lose three 2777-byte blocks, then allocate and free without
 * pause while the main thread sends SIGNALS snapshot signals (SIGUSR2, the
 * shim's default), at random moments, to the process or to one of the
 * threads. Every snapshot the shim writes must be complete; signals that
 * arrive while one is pending merge into it. The exit snapshot holds
 * exactly THREADS*3 lost 2777-byte blocks (the threads park at the end).
 *   st_signals THREADS SIGNALS SEED */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "stress_util.h"

static atomic_int stop;
static atomic_int parked;

static void *worker(void *arg)
{
    for (int i = 0; i < 3; i++) {
        st_leak(2777);
    }
    st_wipe_stack();    /* a thread's first malloc runs deep: no copy below */
    st_churn_main(arg);
    st_park(&parked);
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    int nsig = argc > 2 ? atoi(argv[2]) : 50;
    unsigned seed = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
    struct st_churn c[16] = {0};
    if (nthreads > 16)
        nthreads = 16;
    /* without the shim nobody handles SIGUSR2: ignore it the same way
     * there (the shim installs its handler before main, so keep that) */
    struct sigaction old;
    sigaction(SIGUSR2, NULL, &old);
    if (old.sa_handler == SIG_DFL)
        signal(SIGUSR2, SIG_IGN);
    if (st_start(c, nthreads, seed, &stop, worker) != 0)
        return 1;
    for (int i = 0; i < nsig; i++) {
        unsigned r = st_next(&seed);
        usleep(r % 1500);
        if (r & 1)
            kill(getpid(), SIGUSR2);
        else
            pthread_kill(c[(r >> 1) % (unsigned)nthreads].thread, SIGUSR2);
    }
    atomic_store(&stop, 1);
    while (atomic_load(&parked) < nthreads)
        usleep(200);
    printf("%d threads, %d signals\n", nthreads, nsig);
    return 0;
}
