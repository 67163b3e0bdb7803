/* fork_threads.c - forks FORKS children while another thread allocates and
 * frees without pause (so fork often lands while that thread is inside the
 * shim). Each child loses one 4242-byte block and exits normally, so it
 * writes its own trace; the parent loses one 2424-byte block. Hangs (and
 * the test times out) if a child inherits a shim lock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORKS 20

static atomic_int stop;
void *volatile fork_slot;

static void *churn(void *arg)
{
    while (!atomic_load(&stop)) {
        void *p = malloc(64);
        memset(p, 0, 64);
        free(p);
    }
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, churn, NULL);
    for (int i = 0; i < FORKS; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            fork_slot = malloc(4242);
            fork_slot = NULL;
            free(malloc(10));
            exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    fork_slot = malloc(2424);
    fork_slot = NULL;
    return 0;
}
