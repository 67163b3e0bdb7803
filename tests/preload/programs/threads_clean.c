/* threads_clean.c - a clean threaded program: threads allocate, free and
 * exit, one thread is still blocked at exit holding its only pointer to a
 * block on its stack and another in a thread-local. Nothing is lost. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__thread void *volatile threads_tls_block;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int ready;

static void *worker(void *arg)
{
    for (int i = 0; i < 1000; i++)
        free(malloc((size_t)(i % 200) + 1));
    char *s = strdup("worker");
    free(s);
    return arg;
}

static void *sleeper(void *arg)
{
    void *volatile mine = malloc(77);   /* only on this thread's stack */
    threads_tls_block = malloc(55);             /* only in this thread's TLS */
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    for (;;)
        pause();
    return (void *)mine;
}

int main(void)
{
    pthread_t t[4], s;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    pthread_create(&s, NULL, sleeper, NULL);
    pthread_mutex_lock(&m);
    while (!ready)
        pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
    printf("clean\n");
    return 0;
}
