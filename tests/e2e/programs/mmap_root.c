/* mmap_root.c - the only pointer to a heap block lives in a page the program
 * mapped itself (as gcc's cc1 keeps its GC pages): the block is still
 * reachable, not lost. A second block's pointer is dropped: lost. */
#include <stdlib.h>
#include <sys/mman.h>

static void **page;         /* the global points at the mapping, not the heap */

int main(void)
{
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    page[7] = malloc(200);
    volatile void *lost = malloc(24);
    lost = NULL;
    (void)lost;
    return 0;
}
