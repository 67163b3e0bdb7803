/* symtest_lib.c - a shared library with return addresses at known lines, for
 * test_symbolize.c. Built with -O0 so that no call becomes a tail call; the
 * helper is always_inline so that its body is an inlined frame. Each call
 * and the __LINE__ that records its line share one source line. */
#include <stddef.h>

__attribute__((visibility("default"))) int symtest_lines[3];

__attribute__((noinline, visibility("default"))) void *symtest_capture(void)
{
    return __builtin_return_address(0);
}

__attribute__((visibility("default"))) void *symtest_outer(void)
{
    void *ra;
    ra = symtest_capture(); symtest_lines[0] = __LINE__;
    return ra;
}

static inline __attribute__((always_inline)) void *symtest_inline_helper(void)
{
    void *ra;
    ra = symtest_capture(); symtest_lines[1] = __LINE__;
    return ra;
}

__attribute__((visibility("default"))) void *symtest_with_inline(void)
{
    void *ra;
    ra = symtest_inline_helper(); symtest_lines[2] = __LINE__;
    return ra;
}
