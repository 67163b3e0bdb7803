/* mmap_root.c - the only pointer to a malloc'd block lives in a page the
 * program mmap'd itself (like gcc's GC arenas): the block is reachable, so
 * nothing is lost. A second block whose pointer is dropped is lost. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *volatile mmap_slot;

int main(void)
{
    void **page = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    page[100] = malloc(40);             /* reachable only from the mapping */
    memset(page[100], 7, 40);
    mmap_slot = malloc(24);             /* lost */
    mmap_slot = NULL;
    return 0;
}
