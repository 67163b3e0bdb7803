/* deepbind_lib.c - a library the test loads with RTLD_DEEPBIND: its
 * malloc and free would bind to libc's, past the shim, unless the shim
 * points them back (preload/deepbind.c). Each function crosses the
 * boundary one way: blocks of the program freed or grown here, blocks of
 * its own handed out, and one it leaks. DEEP_NAME names the one probe
 * function of the copies the RUNPATH test loads by bare name. */
#include <stdlib.h>
#include <string.h>

#define API __attribute__((visibility("default")))

#ifdef DEEP_NAME
API int DEEP_NAME(void)
{
    void *p = malloc(48);
    free(p);
    return 1;
}
#else
API void deep_free(void *p)
{
    free(p);
}

API void *deep_grow(void *p, size_t n)
{
    return realloc(p, n);
}

API void *deep_alloc(size_t n)
{
    return calloc(1, n);
}

API char *deep_dup(const char *s)
{
    return strdup(s);
}

static void *volatile kept;

API void deep_leak(void)
{
    kept = malloc(333);
    memset(kept, 0, 333);
    kept = NULL;                        /* lost: no pointer left */
}
#endif
