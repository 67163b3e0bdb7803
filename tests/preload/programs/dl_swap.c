/* dl_swap.c - loads two libraries in turn (paths in argv[1] and argv[2]),
 * each built from dl_swap_lib.c with its own function name: dlopen, call
 * its leaking function from one call site, dlclose, then the next. The
 * second library lands at the first one's address, so both lost blocks
 * have the same return addresses; each must still be reported in its own
 * library's function (the trace's EPOCHS section). Exits 3 when the
 * loader put the second library elsewhere: then the test proves nothing. */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    uintptr_t base[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        void *h = dlopen(argv[1 + i], RTLD_NOW | RTLD_LOCAL);
        struct link_map *lm = NULL;
        if (h == NULL || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0) {
            fprintf(stderr, "dl_swap: %s\n", dlerror());
            return 1;
        }
        base[i] = lm->l_addr;
        void (*leak)(size_t) = (void (*)(size_t))dlsym(h, "dl_swap_leak");
        if (leak == NULL)
            return 1;
        leak(i == 0 ? 77 : 99);         /* one call site for both */
        if (dlclose(h) != 0)
            return 1;
    }
    if (base[0] != base[1]) {
        fprintf(stderr, "dl_swap: the libraries were loaded at different addresses\n");
        return 3;
    }
    return 0;
}
