/* st_dl_lib.c - the libraries st_dlloop loads: built twice, with
 * ST_VARIANT_B or without; each call loses one block (7171 bytes in the
 * first, 7272 in the second). */
#include <stdlib.h>
#include <string.h>

void *volatile st_dl_slot;

#ifdef ST_VARIANT_B
__attribute__((visibility("default"))) void stress_dl_leak_b(void)
{
    st_dl_slot = malloc(7272);
    memset(st_dl_slot, 2, 7272);
    st_dl_slot = NULL;
}
#else
__attribute__((visibility("default"))) void stress_dl_leak_a(void)
{
    st_dl_slot = malloc(7171);
    memset(st_dl_slot, 1, 7171);
    st_dl_slot = NULL;
}
#endif
