/* dl_swap_lib.c - built twice, with SWAP_FN naming the leaking function
 * (alpha_leak, gamma_leak: names of one length, so both builds have one
 * layout): dl_swap_leak loses one block of the given size through it. */
#include <stdlib.h>
#include <string.h>

void *volatile dl_swap_slot;

__attribute__((noinline)) void SWAP_FN(size_t n)
{
    dl_swap_slot = malloc(n);
    memset(dl_swap_slot, 0, n);
    dl_swap_slot = NULL;
}

__attribute__((visibility("default"))) void dl_swap_leak(size_t n)
{
    SWAP_FN(n);
    __asm__ volatile("" ::: "memory");  /* a frame of its own */
}
