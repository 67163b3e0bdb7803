/* snapshot_stress.c - the main thread requests SNAPS snapshots while two
 * threads allocate and free small blocks and large ones (which glibc maps
 * and unmaps on their own): a snapshot must never read a block that is
 * being freed, so every snapshot completes and the process survives.
 *   snapshot_stress [blocked]
 * blocked: the two threads block every signal, so the snapshot cannot stop
 * them and they run on through it; only the shim's gate and locks keep
 * them from changing the heap while it is read. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SNAPS 20

static atomic_int stop;

static int blocked;

static void *churn(void *arg)
{
    if (blocked) {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
    }
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *keep[8] = {0};
    while (!atomic_load(&stop)) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)(seed >> 16) % 8;
        free(keep[k]);
        size_t n = (seed & 1) ? (256u << 10) : 64;
        keep[k] = malloc(n);
        memset(keep[k], 1, 64);
        ((void **)keep[k])[1] = keep[(k + 1) % 8];
    }
    for (int k = 0; k < 8; k++)
        free(keep[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    blocked = argc > 1 && strcmp(argv[1], "blocked") == 0;
    int (*snap)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "leakgraph_snapshot");
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 7));
    int bad = 0;
    for (int i = 0; i < SNAPS && snap; i++)
        bad |= snap() != 0;
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return bad;
}
