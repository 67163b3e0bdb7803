/* dl_leak_lib.c - a library the dl_leak program dlopens: it loses 77
 * bytes. */
#include <stdlib.h>
#include <string.h>

void *volatile dl_lib_slot;

__attribute__((visibility("default"))) void dl_lib_leak(void)
{
    dl_lib_slot = malloc(77);
    memset(dl_lib_slot, 0, 77);
    dl_lib_slot = NULL;
}
