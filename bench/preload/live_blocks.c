/* live_blocks.c - allocates BLOCKS blocks of 40 to 104 bytes (mean 72, so
 * 3.2M blocks are a 233 MB live heap), links every eighth into a list and
 * keeps the rest in one big array, then exits with all of them live: the
 * exit-time leak check of every tool scans them all.
 *   live_blocks BLOCKS */
#include <stdint.h>
#include <stdlib.h>

struct node {
    struct node *next;
};

void *volatile live_keep[2];

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 3200000;
    void **all = malloc(sizeof *all * (size_t)n);
    struct node *head = NULL;
    uint32_t seed = 12345;
    for (long i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t size = 40 + ((seed >> 16) % 65);
        struct node *b = malloc(size);
        b->next = NULL;
        if (i % 8 == 0) {
            b->next = head;
            head = b;
            all[i] = NULL;
        } else
            all[i] = b;
    }
    live_keep[0] = all;
    live_keep[1] = head;
    return 0;
}
