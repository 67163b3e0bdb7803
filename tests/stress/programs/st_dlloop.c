/* st_dlloop.c - dlopen, call, dlclose in a loop: ITERS times, alternating
 * two libraries (argv[2] and argv[3]) that each lose one block per call,
 * 7171 bytes from stress_dl_leak_a in the first, 7272 bytes from
 * stress_dl_leak_b in the second. Both are usually mapped at the same
 * address, one after the other, so a stack is only symbolized right if the
 * shim recorded each module while it was loaded.
 * LIB_A and LIB_B may be the same library.
 *   st_dlloop ITERS LIB_A LIB_B */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int iters = atoi(argv[1]);
    for (int i = 0; i < iters; i++) {
        const char *lib = argv[2 + i % 2];
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            fprintf(stderr, "%s\n", dlerror());
            return 1;
        }
        void (*leak)(void) = (void (*)(void))dlsym(h, "stress_dl_leak_a");
        if (leak == NULL)
            leak = (void (*)(void))dlsym(h, "stress_dl_leak_b");
        if (leak == NULL)
            return 1;
        leak();
        if (dlclose(h) != 0)
            return 1;
    }
    printf("%d dlopen/dlclose\n", iters);
    return 0;
}
