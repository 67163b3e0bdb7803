/* dl_leak.c - dlopens a library (path in argv[1]) whose function loses a
 * block: one lost block of 77 bytes, allocated inside the library. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (h == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    void (*leak)(void) = (void (*)(void))dlsym(h, "dl_lib_leak");
    if (leak == NULL)
        return 1;
    leak();
    return 0;
}
