/* thread_register.c - a thread keeps its only pointer to an 88-byte block in
 * a register (r12) and spins; main exits meanwhile. The exit snapshot stops
 * that thread and scans its saved registers, so the block is reachable. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int spinning;

static void *spin(void *arg)
{
    register void *p __asm__("r12") = malloc(88);
    memset(p, 0, 88);
    __asm__ volatile("" : "+r"(p));
    atomic_store(&spinning, 1);
    for (;;)
        __asm__ volatile("" : "+r"(p));
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, spin, NULL);
    while (!atomic_load(&spinning))
        ;
    return 0;
}
