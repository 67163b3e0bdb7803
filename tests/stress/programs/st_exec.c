/* st_exec.c - an exec chain from a multithreaded process: each image
 * starts THREADS threads allocating without pause, then execs itself with
 * DEPTH-1 while they run, alternately with an empty environment (the shim
 * must put itself back) and with the inherited one. The last image loses
 * one 4321-byte block and prints the chain's length. Only that image
 * writes a trace (exec writes no exit snapshot), under the same pid.
 *   st_exec DEPTH THREADS SEED [TOTAL] */
#include <stdio.h>
#include <unistd.h>

#include "stress_util.h"

static atomic_int stop;
void *volatile st_slot;

int main(int argc, char **argv)
{
    int depth = argc > 1 ? atoi(argv[1]) : 5;
    int nthreads = argc > 2 ? atoi(argv[2]) : 2;
    unsigned seed = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
    int total = argc > 4 ? atoi(argv[4]) : depth;
    st_slot = calloc(1, 1000);          /* discarded by exec, never reported */
    if (depth == 0) {
        st_slot = NULL;                 /* the last image's 1000 bytes are lost */
        st_leak(4321);
        printf("end of a chain of %d execs\n", total);
        return 0;
    }
    struct st_churn c[8] = {0};
    if (nthreads > 8)
        nthreads = 8;
    if (st_start(c, nthreads, seed, &stop, st_churn_main) != 0)
        return 1;
    usleep(st_next(&seed) % 3000);
    char a1[16], a2[16], a3[16], a4[16];
    snprintf(a1, sizeof a1, "%d", depth - 1);
    snprintf(a2, sizeof a2, "%d", nthreads);
    snprintf(a3, sizeof a3, "%u", seed);
    snprintf(a4, sizeof a4, "%d", total);
    char *args[] = {argv[0], a1, a2, a3, a4, NULL};
    char *empty[] = {"ST_EXEC=1", NULL};
    if (depth % 2)
        execve("/proc/self/exe", args, empty);
    else
        execv("/proc/self/exe", args);
    perror("exec");
    return 1;
}
