/* deepbind.c - blocks crossing into and out of a library loaded with
 * RTLD_DEEPBIND: the program's small blocks freed and grown there, the
 * library's freed here, one block lost in the library. Under the shim the
 * program must run as it does bare (glibc aborts on a headered block freed
 * past the shim) and the lost block must be the library's 333 bytes.
 *   deepbind LIBRARY */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_DEEPBIND);
    if (h == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    void (*deep_free)(void *) = (void (*)(void *))dlsym(h, "deep_free");
    void *(*deep_grow)(void *, size_t) = (void *(*)(void *, size_t))dlsym(h, "deep_grow");
    void *(*deep_alloc)(size_t) = (void *(*)(size_t))dlsym(h, "deep_alloc");
    char *(*deep_dup)(const char *) = (char *(*)(const char *))dlsym(h, "deep_dup");
    void (*deep_leak)(void) = (void (*)(void))dlsym(h, "deep_leak");
    if (!deep_free || !deep_grow || !deep_alloc || !deep_dup || !deep_leak)
        return 1;
    for (int i = 0; i < 100; i++) {
        deep_free(malloc(64 + (size_t)i));              /* ours, freed there */
        char *g = deep_grow(malloc(40), 100 + (size_t)i * 400);   /* grown past 32 KiB too */
        memset(g, 1, 100);
        free(g);
        free(deep_alloc(24 + (size_t)i));               /* theirs, freed here */
        free(deep_dup("a string from the library"));
    }
    deep_leak();
    puts("done");
    return 0;
}
