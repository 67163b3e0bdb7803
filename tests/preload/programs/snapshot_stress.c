/* snapshot_stress.c - the main thread requests SNAPS snapshots while two
 * threads allocate and free small blocks and large ones (which glibc maps
 * and unmaps on their own): a snapshot must never read a block that is
 * being freed, so every snapshot completes and the process survives. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SNAPS 20

static atomic_int stop;

static void *churn(void *arg)
{
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

int main(void)
{
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
