/* prog_status.c - the wrapped program of the bad-input tests: leaks one
 * block, prints one line and exits with the status given as its argument,
 * so a test sees that its output and exit status come through unchanged. */
#include <stdio.h>
#include <stdlib.h>

void *volatile keep;

int main(int argc, char **argv)
{
    int status = argc > 1 ? atoi(argv[1]) : 0;
    keep = malloc(64);
    free(malloc(4000));                 /* a block that comes and goes */
    keep = NULL;                        /* the 64 bytes are lost */
    printf("prog_status says hello, exiting %d\n", status);
    return status;
}
