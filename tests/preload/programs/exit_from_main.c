/* exit_from_main.c - main calls exit() while its frame still holds the
 * only pointer to a 50-byte block: the block is reachable (the exit
 * snapshot scans main's frame), and a 60-byte block whose pointer died
 * with a returned frame is lost. */
#include <stdlib.h>
#include <string.h>

void *volatile exit_slot;

__attribute__((noinline)) static void lose(void)
{
    char *volatile p = malloc(60);
    memset(p, 0, 60);
}

int main(void)
{
    lose();
    char *volatile mine = malloc(50);
    memset(mine, 1, 50);
    exit(0);
}
