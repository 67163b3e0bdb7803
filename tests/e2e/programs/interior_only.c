/* interior_only.c - a block whose only pointer points into its middle
 * (possibly lost), a block kept through a pointer to its start (still
 * reachable), and a lost two-block cycle (one definite, one indirect). */
#include <stdlib.h>

struct pair {
    struct pair *other;
    char pad[56];
};

static char *middle;        /* points 40 bytes into a 64-byte block */
static char *start;         /* points at the start of a 48-byte block */

__attribute__((noinline)) static void lose_a_cycle(void)
{
    struct pair *a = malloc(sizeof(*a));
    struct pair *b = malloc(sizeof(*b));
    if (a == NULL || b == NULL)
        abort();
    a->other = b;
    b->other = a;
}

int main(void)
{
    char *p = malloc(64);
    start = malloc(48);
    if (p == NULL || start == NULL)
        abort();
    middle = p + 40;
    lose_a_cycle();
    return 0;
}
