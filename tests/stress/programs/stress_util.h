/* stress_util.h - what the stress programs share: a seeded generator and a
 * churn thread that allocates, resizes and frees blocks of every allocator
 * entry point until told to stop, keeping a few alive (all freed when it
 * stops, so churn never adds to a leak count). Sizes stay in 1..3000 so
 * they never collide with the sizes the programs leak on purpose. */
#ifndef STRESS_UTIL_H
#define STRESS_UTIL_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline unsigned st_next(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

struct st_churn {
    pthread_t thread;
    unsigned seed;
    atomic_int *stop;
    long rounds;                 /* 0: until *stop */
};

/* One round: one of malloc, calloc, realloc, posix_memalign, free */
static inline void st_churn_round(void **keep, unsigned *seed)
{
    unsigned r = st_next(seed);
    int k = (int)(r % 16);
    size_t n = 1 + (r >> 4) % 3000;
    switch ((r >> 16) % 5) {
    case 0:
        free(keep[k]);
        keep[k] = malloc(n);
        break;
    case 1:
        free(keep[k]);
        keep[k] = calloc(1, n);
        break;
    case 2: {
        void *p = realloc(keep[k], n);
        if (p != NULL)
            keep[k] = p;
        break;
    }
    case 3:
        free(keep[k]);
        keep[k] = NULL;
        if (posix_memalign(&keep[k], 64, n) != 0)
            keep[k] = NULL;
        break;
    default:
        free(keep[k]);
        keep[k] = NULL;
        break;
    }
    if (keep[k] != NULL)
        memset(keep[k], (int)k, n < 32 ? n : 32);
}

static inline void *st_churn_main(void *arg)
{
    struct st_churn *c = arg;
    void *keep[16] = {0};
    for (long i = 0; c->rounds == 0 ? !atomic_load(c->stop) : i < c->rounds; i++)
        st_churn_round(keep, &c->seed);
    for (int k = 0; k < 16; k++)
        free(keep[k]);
    explicit_bzero(keep, sizeof keep);  /* no dangling copy: another thread's
                                           leak may reuse the address */
    return NULL;
}

/* Starts n threads running fn on c[0..n), seeds seed, seed+1, ... and the
 * shared stop flag; 0, or -1 if a thread could not be started. */
static inline int st_start(struct st_churn *c, int n, unsigned seed, atomic_int *stop,
                           void *(*fn)(void *))
{
    for (int i = 0; i < n; i++) {
        c[i].seed = seed + (unsigned)i;
        c[i].stop = stop;
        if (pthread_create(&c[i].thread, NULL, fn, &c[i]) != 0)
            return -1;
    }
    return 0;
}

/* Writes zeros over the stack below the caller, so no dead frame keeps a
 * copy of a pointer the program dropped on purpose: a thread calls it after
 * its leaks (its first malloc runs deeper than any later one, through
 * glibc's arena set-up and the shim's, and a later snapshot that stops it
 * inside the shim scans that depth again, uninitialised slots included),
 * or last:
 * glibc keeps an exited thread's stack mapped for reuse, and the shim scans
 * it like any writable mapping, so a stale copy there (the shim's unwinder
 * runs deep below the thread's frames) would keep a leak reachable. */
__attribute__((noinline, unused)) static void st_wipe_stack(void)
{
    char pad[32768];
    explicit_bzero(pad, sizeof pad);
}

/* Ends a thread's work by parking it for good: the program exits while it
 * waits (see st_wipe_stack). A joined thread's stack stays mapped in glibc's cache and the shim
 * scans it whole, dead frames included (the shim's own block-map probes on
 * the thread's way out leave block addresses there), which can keep a leak
 * reachable; a parked thread's stack is scanned only from its stack
 * pointer up. */
__attribute__((noreturn, unused)) static void st_park(atomic_int *parked)
{
    atomic_fetch_add(parked, 1);
    for (;;) {
#ifdef __x86_64__
        /* the scratch registers still hold what the last calls left, a
         * block address the shim's hooks looked at, say; the snapshot scans
         * a stopped thread's registers */
        __asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
                         "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
                         "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d"
                         ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                         "memory");
#endif
        pause();
    }
}

/* Loses one zeroed block of n bytes (zeroed: stale pointers in a fresh
 * block would make another leak only indirectly lost). */
__attribute__((noinline, unused)) static void st_leak(size_t n)
{
    static void *volatile slot;
    slot = malloc(n);
    memset(slot, 0, n);
    slot = NULL;
}
#endif
