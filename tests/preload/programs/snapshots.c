/* snapshots.c - one snapshot on SIGUSR2 mid-run, one requested through
 * leakgraph_snapshot() (looked up with dlsym, so it works without the shim
 * too), then the exit snapshot: three in all. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

void *volatile snap_slot;

int main(void)
{
    snap_slot = malloc(10);
    raise(SIGUSR2);                     /* written at the next allocator call */
    free(malloc(1));
    int (*snap)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "leakgraph_snapshot");
    if (snap == NULL) {
        printf("no shim\n");
        return 0;
    }
    int err = snap();
    printf("snapshot %d\n", err);
    return err == 0 ? 0 : 1;
}
