/* st_fork.c - a parent with THREADS threads allocating without pause forks
 * FORKS children one after another at random moments (so fork often lands
 * while a thread is inside the shim). Each child starts a thread of its
 * own that allocates and frees, loses exactly two 4242-byte blocks and
 * exits normally: its trace holds those and nothing else lost. The parent
 * loses one 4848-byte block after the last fork (churn sizes stay under 3001). A child that inherited a
 * lock held by another thread hangs, and the test's timeout catches it.
 * With "spawn", one more thread starts and joins short-lived threads all
 * along: a thread's first moments (pthread_getattr_np, which the shim's
 * allocations inside unwind with libunwind) overlap the forks, so a child
 * inherits libunwind's locks held unless fork waits for them (phdr.c).
 *   st_fork FORKS THREADS SEED [spawn] */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress_util.h"

static atomic_int stop;

static void *spawner(void *arg)
{
    unsigned seed = *(unsigned *)arg;
    while (!atomic_load(&stop)) {
        struct st_churn k = {.seed = st_next(&seed), .stop = &stop, .rounds = 200};
        if (pthread_create(&k.thread, NULL, st_churn_main, &k) != 0)
            break;
        pthread_join(k.thread, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int forks = argc > 1 ? atoi(argv[1]) : 20;
    int nthreads = argc > 2 ? atoi(argv[2]) : 3;
    unsigned seed = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
    struct st_churn c[16] = {0};
    if (nthreads > 16)
        nthreads = 16;
    if (st_start(c, nthreads, seed, &stop, st_churn_main) != 0)
        return 1;
    pthread_t spawn_thread;
    unsigned spawn_seed = seed + 77;
    bool spawn = argc > 4 && strcmp(argv[4], "spawn") == 0;
    if (spawn && pthread_create(&spawn_thread, NULL, spawner, &spawn_seed) != 0)
        return 1;
    int failed = 0;
    for (int i = 0; i < forks; i++) {
        usleep(st_next(&seed) % 2000);
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            atomic_int kid_stop = 0;
            struct st_churn kc = {.seed = seed + 99, .stop = &kid_stop, .rounds = 2000};
            if (pthread_create(&kc.thread, NULL, st_churn_main, &kc) != 0)
                _exit(1);
            pthread_join(kc.thread, NULL);  /* before the leaks: see st_park */
            st_leak(4242);
            st_leak(4242);
            exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(c[i].thread, NULL);
    if (spawn)
        pthread_join(spawn_thread, NULL);
    st_leak(4848);
    printf("%d forks, %d failed\n", forks, failed);
    return failed != 0;
}
