/* exec_chain.c - execs itself N times (argv[1] = N), each time with an
 * environment that lacks LD_PRELOAD and every LEAKGRAPH_ variable; the
 * shim must follow through the chain. The last image loses one 4321-byte
 * block and prints its depth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile exec_slot;

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 0;
    exec_slot = malloc(1000);           /* never reported: exec discards it */
    if (n > 0) {
        char next[16];
        snprintf(next, sizeof next, "%d", n - 1);
        char *args[] = {argv[0], next, NULL};
        char *env[] = {"EXEC_CHAIN=1", NULL};
        execve("/proc/self/exe", args, env);
        perror("execve");
        return 1;
    }
    exec_slot = malloc(4321);
    exec_slot = NULL;
    printf("end of chain\n");
    return 0;
}
