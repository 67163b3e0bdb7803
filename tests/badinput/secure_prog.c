/* secure_prog.c - linked against the shim itself (DT_NEEDED with an
 * absolute path, which the loader honours in secure-execution mode, unlike
 * LD_PRELOAD), so the shim is really loaded into a setuid process. Prints
 * AT_SECURE and whether the shim is present, asks for a snapshot, leaks a
 * block and exits 0. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>

void *volatile keep;

int main(void)
{
    int (*snap)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "leakgraph_snapshot");
    keep = malloc(100);
    keep = NULL;
    printf("secure=%lu shim=%d", getauxval(AT_SECURE), snap != NULL);
    if (snap != NULL)
        printf(" snapshot=%s", snap() == 0 ? "written" : "refused");
    printf("\n");
    return 0;
}
