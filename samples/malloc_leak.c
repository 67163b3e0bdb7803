/* malloc_leak.c - the plainest leak: one block from a named function whose
 * only pointer is dropped, so it is definitely lost (Valgrind's words), and a
 * second block kept in a global, so it is still reachable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *kept_config;                      /* still reachable through this global */

__attribute__((noinline)) static void make_config_buffer(void)
{
    char *buf = malloc(100);            /* lost: the pointer dies with this frame */
    if (buf == NULL)
        return;
    strcpy(buf, "config");
    printf("made a %zu-byte buffer holding \"%s\" and forgot it\n", (size_t)100, buf);
}

int main(void)
{
    make_config_buffer();
    kept_config = malloc(32);
    if (kept_config != NULL)
        strcpy(kept_config, "kept");
    return 0;
}
