/* runpath.c - dlopen by bare name of libraries found only through this
 * program's RUNPATH ($ORIGIN/rp), plainly and with RTLD_DEEPBIND: the
 * shim's dlopen must look where the program's would (the real dlopen
 * searches the caller's RUNPATH, and the shim is not the caller). */
#include <dlfcn.h>
#include <stdio.h>

static int probe(const char *lib, const char *fn, int mode)
{
    void *h = dlopen(lib, mode);
    if (h == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", lib, dlerror());
        return 1;
    }
    int (*f)(void) = (int (*)(void))dlsym(h, fn);
    return f != NULL && f() == 1 ? 0 : 1;
}

int main(void)
{
    int bad = probe("liblg_rp_plain.so", "rp_plain", RTLD_NOW);
    bad |= probe("liblg_rp_deep.so", "rp_deep", RTLD_NOW | RTLD_DEEPBIND);
    puts(bad ? "missing" : "found");
    return bad;
}
