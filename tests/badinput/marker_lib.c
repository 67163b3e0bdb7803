/* marker_lib.c - a library whose constructor creates the file named by
 * LG_MARKER. A trace naming it among its modules proves that the CLI only
 * reads ELF files: if anything loaded it, the marker would appear. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void marker_ctor(void)
{
    const char *m = getenv("LG_MARKER");
    if (m != NULL && *m != '\0') {
        int fd = open(m, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
}

int marker_value(void);
int marker_value(void)
{
    return 42;
}
