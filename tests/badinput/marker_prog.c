/* marker_prog.c - dlopens the library given as its argument (marker_lib)
 * and leaks a block, so its trace names that library as a module; the test
 * then replaces this program's file with a script. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void *volatile keep;

int main(int argc, char **argv)
{
    if (argc < 2 || dlopen(argv[1], RTLD_NOW) == NULL) {
        fprintf(stderr, "marker_prog: cannot load %s\n", argc < 2 ? "(nothing)" : argv[1]);
        return 1;
    }
    keep = malloc(48);
    keep = NULL;
    return 0;
}
