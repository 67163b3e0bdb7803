/* plain_leak.c - three lost blocks (one 100-byte buffer, and a 2-block
 * chain whose head is lost: 100 + 48 + 48 bytes), one 32-byte block kept in
 * a global, one block freed. Globals are volatile so the compiler keeps
 * every allocation. */
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    char pad[40];
};

void *volatile plain_kept;
void *volatile plain_slot;

__attribute__((noinline)) static void lose_buffer(void)
{
    char *p = malloc(100);
    memset(p, 1, 100);
    plain_slot = p;
    plain_slot = NULL;
}

__attribute__((noinline)) static void lose_chain(void)
{
    struct node *a = calloc(1, sizeof *a);
    a->next = calloc(1, sizeof *a);
    plain_slot = a;
    plain_slot = NULL;
}

int main(void)
{
    lose_buffer();
    lose_chain();
    plain_kept = malloc(32);
    plain_slot = malloc(64);
    free(plain_slot);
    plain_slot = NULL;
    return 0;
}
