/* same_frame_callers.c - one allocating function reached in turn from two
 * callers whose frames are the same size, so every call finds it at the
 * same stack address: the shim replays a stack it unwound before when the
 * stack words it read still hold the same values (preload/fastunwind.c),
 * and this checks that each block still names its own caller. Built with
 * -O2 and no frame pointers, so rbp holds whatever the loop left there.
 * Loses 50 blocks of 24 bytes through via_a and 50 of 40 through via_b. */
#include <stdlib.h>

void *volatile sink;

__attribute__((noinline)) static void *leaf(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) void *via_a(size_t n)
{
    void *p = leaf(n);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) void *via_b(size_t n)
{
    void *p = leaf(n);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void lose_all(void)
{
    for (int i = 0; i < 100; i++) {
        void *p = (i & 1) ? via_b(40) : via_a(24);
        ((char *)p)[0] = 1;             /* dropped: the block is lost */
    }
}

int main(void)
{
    lose_all();
    sink = NULL;
    return 0;
}
