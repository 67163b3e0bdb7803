/* threads_hammer.c - THREADS threads each run ROUNDS malloc/free pairs of
 * mixed sizes (realloc and calloc too) and keep exactly KEEP blocks each in
 * a global array: the exit snapshot must hold exactly THREADS * KEEP of
 * them among its blocks, none lost. */
#include <pthread.h>
#include <stdlib.h>

#define THREADS 4
#define ROUNDS 20000
#define KEEP 100

void *hammer_kept[THREADS][KEEP];

static void *hammer(void *arg)
{
    long id = (long)arg;
    unsigned seed = (unsigned)id * 7919u + 1;
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 512;
        void *p = (i & 3) == 0 ? calloc(1, n) : malloc(n);
        if ((i & 7) == 1)
            p = realloc(p, n * 2);
        free(p);
    }
    for (int k = 0; k < KEEP; k++)
        hammer_kept[id][k] = malloc(16 + (size_t)k);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}
