/* chdir_exit.c - changes directory to argv[1] before exiting: the trace
 * still goes where the program started (a relative LEAKGRAPH_OUTPUT is
 * resolved at start). */
#include <stdlib.h>
#include <unistd.h>

void *volatile chdir_slot;

int main(int argc, char **argv)
{
    chdir_slot = malloc(321);
    chdir_slot = NULL;
    return argc > 1 && chdir(argv[1]) != 0;
}
