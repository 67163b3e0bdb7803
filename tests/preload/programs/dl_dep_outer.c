/* dl_dep_outer.c - a library whose one job is to need another: built
 * twice, each linked against one build of dl_swap_lib.c (alpha_leak,
 * gamma_leak), so dlclose of this one unloads that one with it.
 * dl_dep_leak goes through the dependency's dl_swap_leak. */
#include <stddef.h>

void dl_swap_leak(size_t n);

__attribute__((visibility("default"))) void dl_dep_leak(size_t n)
{
    dl_swap_leak(n);
    __asm__ volatile("" ::: "memory");  /* a frame of its own */
}
