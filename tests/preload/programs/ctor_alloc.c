/* ctor_alloc.c - a constructor that runs before main allocates two blocks,
 * keeps one in a global and loses the other: one lost block of 333 bytes.
 * A destructor frees the kept one, so the exit snapshot (taken after the
 * program's destructors) must not hold it, nor the 111-byte block an
 * atexit handler frees. */
#include <stdlib.h>
#include <string.h>

void *volatile ctor_kept;
void *volatile ctor_slot;

__attribute__((constructor)) static void early(void)
{
    ctor_kept = malloc(222);
    ctor_slot = malloc(333);
    memset(ctor_slot, 0, 333);
    ctor_slot = NULL;
}

__attribute__((destructor)) static void late(void)
{
    free(ctor_kept);
    ctor_kept = NULL;
}

void *volatile main_kept;

static void at_exit_free(void)
{
    free(main_kept);                    /* the atexit handler runs before the snapshot */
    main_kept = NULL;
}

int main(void)
{
    main_kept = malloc(111);
    atexit(at_exit_free);
    return 0;
}
