/* getattr_first.c - threads whose first act is pthread_getattr_np on
 * themselves (as Rust's runtime does for every thread it starts). glibc
 * holds the thread's own lock while that call reallocs, so a shim that asks
 * for the same thread's attributes from inside the allocation waits on
 * itself forever. Each thread then keeps one 77-byte block in a global and
 * loses one 99-byte block; the threads are joined. */
#include <pthread.h>
#include <stdlib.h>

#define THREADS 4

void *kept[THREADS];                /* global: the optimizer keeps the malloc */
void *volatile sink;                /* the lost block passes through here */

static void *worker(void *arg)
{
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        abort();
    pthread_attr_destroy(&attr);
    kept[(long)arg] = malloc(77);
    sink = malloc(99);
    sink = NULL;
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}
