/* lost_tree.c - a binary tree of 15 nodes whose root pointer is dropped:
 * memcheck counts the root definitely lost and the 14 others indirectly. */
#include <stdlib.h>

struct node {
    struct node *left, *right;
    long payload[4];
};

static struct node *build(int depth)
{
    if (depth == 0)
        return NULL;
    struct node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        abort();
    n->left = build(depth - 1);
    n->right = build(depth - 1);
    return n;
}

__attribute__((noinline)) static void grow_and_forget(void)
{
    volatile struct node *root = build(4);
    (void)root;
}

int main(void)
{
    grow_and_forget();
    return 0;
}
