/* dl_leak.c - dlopens a library (path in argv[1]) whose function loses a
 * block: one lost block of 77 bytes, allocated inside the library. With
 * argv[2] = "close" the library is dlclose'd before exit; its module must
 * still be in the trace's module map. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

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
    if (argc > 2 && strcmp(argv[2], "close") == 0)
        return dlclose(h) != 0;
    return 0;
}
