/* st_threads.c - THREADS threads allocate, resize and free at once
 * (ROUNDS rounds each, every allocator entry point), and each loses exactly
 * LEAKS blocks of 4093 bytes along the way; everything else is freed.
 * The threads then park and the program exits while they wait, or with
 * "join" they end and are joined first.
 *   st_threads THREADS LEAKS ROUNDS SEED [join]
 * Prints one line; the trace holds exactly THREADS*LEAKS lost 4093-byte
 * blocks. */
#include <stdio.h>

#include "stress_util.h"

static int leaks;
static atomic_int parked;
static int join;

static void *worker(void *arg)
{
    struct st_churn *c = arg;
    void *keep[16] = {0};
    long every = c->rounds / (leaks + 1) + 1;
    int left = leaks;
    for (long i = 0; i < c->rounds || left > 0; i++) {
        if (i < c->rounds)
            st_churn_round(keep, &c->seed);
        if (left > 0 && (i % every == every - 1 || i >= c->rounds)) {
            st_leak(4093);
            left--;
        }
    }
    for (int k = 0; k < 16; k++)
        free(keep[k]);
    explicit_bzero(keep, sizeof keep);  /* no dangling copy: another thread's
                                           leak may reuse the address */
    st_wipe_stack();
    if (!join)
        st_park(&parked);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8;
    leaks = argc > 2 ? atoi(argv[2]) : 5;
    long rounds = argc > 3 ? atol(argv[3]) : 20000;
    unsigned seed = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 1;
    join = argc > 5 && strcmp(argv[5], "join") == 0;
    struct st_churn *c = calloc((size_t)n, sizeof *c);
    for (int i = 0; i < n; i++) {
        c[i].seed = seed + (unsigned)i * 7919u;
        c[i].rounds = rounds;
        if (pthread_create(&c[i].thread, NULL, worker, &c[i]) != 0)
            return 1;
    }
    for (int i = 0; join && i < n; i++)
        pthread_join(c[i].thread, NULL);
    while (!join && atomic_load(&parked) < n)
        usleep(200);
    free(c);
    printf("%d threads, %d leaks each, %ld rounds\n", n, leaks, rounds);
    return 0;
}
