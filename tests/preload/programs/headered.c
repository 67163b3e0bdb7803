/* headered.c - blocks of both kinds the shim records (docs/shim.md, "Tables
 * and threads"): small ones with a header in front, large and aligned ones
 * in the block map, pointing at each other; reallocs across the size
 * cutoff both ways; malloc_usable_size filled to the last byte; and, with
 * M_MMAP_THRESHOLD lowered below the cutoff, headered blocks that are
 * mmap'd chunks. Lost: a 12000-byte mmap'd block and the 33-byte block
 * only it points to, a 40-byte block realloc'd to 3000, and an 8-byte block
 * just below a free chunk glibc's main_arena points to (15041
 * bytes in 4 blocks). Exits 1 if a block's contents or sizes look wrong. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void *volatile kept[6];
void *volatile slot;

__attribute__((noinline)) static void lose_mmapped(void)
{
    void **big = malloc(12000);         /* an mmap'd chunk with a header */
    memset(big, 0, 12000);
    big[100] = malloc(33);
    slot = big;
    slot = NULL;
}

__attribute__((noinline)) static void lose_grown(void)
{
    char *p = malloc(40);
    memset(p, 7, 40);
    p = realloc(p, 3000);
    slot = p;
    slot = NULL;
}

/* In glibc's smallest chunk the block would start where the next chunk's
 * header does, and main_arena's pointer to that chunk, free in a fastbin,
 * would keep the block. */
void *volatile drained[64];
__attribute__((noinline)) static void lose_tiny(void)
{
    void *fill[7];
    for (int i = 0; i < 7; i++)
        fill[i] = malloc(40);
    for (int i = 0; i < 64; i++)
        drained[i] = malloc(8);         /* free small chunks used up: the */
    slot = malloc(8);                   /* next two come from the top */
    void *next = malloc(40);
    kept[5] = malloc(100);
    for (int i = 0; i < 7; i++)
        free(fill[i]);                  /* the tcache of next's size is full */
    free(next);                         /* so next goes to a fastbin */
    slot = NULL;
}

int main(void)
{
    mallopt(M_MMAP_THRESHOLD, 4096);
    char *k = malloc(10000);            /* mmap'd and headered, kept */
    memset(k, 1, 10000);
    kept[0] = k;
    lose_mmapped();
    lose_grown();

    char *g = malloc(100);              /* headered -> map -> stays in the map */
    memset(g, 2, 100);
    g = realloc(g, 50000);
    if (g == NULL || g[99] != 2)
        return 1;
    g = realloc(g, 200);
    if (g == NULL || g[99] != 2)
        return 1;
    kept[1] = g;

    void **a;                           /* a map block pointing at a headered one */
    if (posix_memalign((void **)&a, 64, 64) != 0)
        return 1;
    a[0] = malloc(77);
    kept[2] = a;
    void **r = realloc(NULL, 30);       /* and the other way round */
    r[0] = aligned_alloc(64, 128);
    kept[3] = r;

    if (realloc(malloc(55), 0) != NULL) /* glibc frees it */
        return 1;
    char *u = malloc(24);
    size_t n = malloc_usable_size(u);
    if (n < 24)
        return 1;
    memset(u, 0xab, n);                 /* the header of the next chunk survives */
    char *v = calloc(3, 11);
    for (int i = 0; i < 33; i++)
        if (v[i] != 0)
            return 1;
    kept[4] = v;
    free(u);
    free(NULL);
    lose_tiny();
    return 0;
}
