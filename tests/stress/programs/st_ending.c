/* st_ending.c - how a program ends while THREADS threads allocate without
 * pause. Each thread first loses two 3333-byte blocks; the main thread
 * loses one 5151-byte block, prints a line, and then, by MODE:
 *   thread_exit  one extra thread calls exit(7) while the others run (the
 *                main thread waits in pthread_join, never returning)
 *   _exit        the main thread calls _exit(9): no exit snapshot
 *   abort        the main thread calls abort(): a final snapshot marked
 *                fatal, and the process dies of SIGABRT (status 134)
 *   exit         the main thread calls exit(5) while the threads run
 *   st_ending MODE THREADS SEED */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stress_util.h"

static atomic_int stop;
static atomic_int started;
static int nthreads;
static unsigned seed;

static void *worker(void *arg)
{
    st_leak(3333);
    st_leak(3333);
    st_wipe_stack();    /* a thread's first malloc runs deep: no copy below */
    atomic_fetch_add(&started, 1);
    return st_churn_main(arg);
}

static void *exiter(void *arg)
{
    while (atomic_load(&started) < nthreads)
        usleep(100);
    usleep(st_next(&seed) % 5000);
    printf("exit from a thread\n");
    fflush(stdout);
    exit(7);
    return arg;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exit";
    nthreads = argc > 2 ? atoi(argv[2]) : 4;
    seed = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
    struct st_churn c[16] = {0};
    if (nthreads > 16)
        nthreads = 16;
    if (st_start(c, nthreads, seed, &stop, worker) != 0)
        return 1;
    st_leak(5151);
    if (strcmp(mode, "thread_exit") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, exiter, NULL) != 0)
            return 1;
        pthread_join(c[0].thread, NULL);   /* never returns: exit comes first */
        return 1;
    }
    while (atomic_load(&started) < nthreads)
        usleep(100);
    usleep(st_next(&seed) % 5000);
    printf("leaving by %s\n", mode);
    fflush(stdout);
    if (strcmp(mode, "_exit") == 0)
        _exit(9);
    if (strcmp(mode, "abort") == 0)
        abort();
    exit(5);
}
