/* fatal.c - dies of a signal after losing a 5555-byte block: argv[1] is
 * "term" (raise SIGTERM) or "abort" (abort()). The shim writes a final
 * snapshot marked fatal and the process still dies of that signal. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void *volatile fatal_slot;

int main(int argc, char **argv)
{
    fatal_slot = malloc(5555);
    fatal_slot = NULL;
    if (argc > 1 && strcmp(argv[1], "abort") == 0)
        abort();
    raise(SIGTERM);
    return 0;
}
