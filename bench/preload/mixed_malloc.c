/* mixed_malloc.c - PAIRS malloc/free pairs of mixed sizes (8 B to 4 KiB,
 * a few live at a time) split over THREADS threads, from three call sites
 * at different depths: the hot path of every allocation tracker.
 *   mixed_malloc PAIRS THREADS */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long per_thread;

__attribute__((noinline)) static void *leaf(size_t n)
{
    return malloc(n);
}

__attribute__((noinline)) static void *mid(size_t n)
{
    return leaf(n);
}

static void *run(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
    void *live[16] = {0};
    for (long i = 0; i < per_thread; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        size_t n = 8u << (seed % 10);
        n += seed % 64;
        unsigned slot = (seed >> 8) & 15;
        free(live[slot]);
        switch ((seed >> 12) % 3) {
        case 0: live[slot] = malloc(n); break;
        case 1: live[slot] = leaf(n); break;
        default: live[slot] = mid(n); break;
        }
        if (live[slot])
            *(volatile char *)live[slot] = 1;
    }
    for (int k = 0; k < 16; k++)
        free(live[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    long pairs = argc > 1 ? atol(argv[1]) : 20000000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 64)
        return 2;
    per_thread = pairs / threads;
    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return 0;
}
