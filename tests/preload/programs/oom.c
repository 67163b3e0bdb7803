/* oom.c - runs out of memory under RLIMIT_AS and prints what it saw: the
 * shim must not change it (NULL with ENOMEM, realloc leaving the block
 * alone, realloc(p, 0), calloc overflow, posix_memalign's error code). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(void)
{
    struct rlimit rl = {512u << 20, 512u << 20};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        return 2;
    errno = 0;
    void *p = malloc(SIZE_MAX / 2);
    printf("huge malloc: %s errno=%s\n", p ? "ptr" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
    volatile size_t quarter = SIZE_MAX / 4, tera = (size_t)1 << 40;
    errno = 0;
    p = calloc(quarter, 8);
    printf("overflowing calloc: %s errno=%s\n", p ? "ptr" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
    char *volatile q = malloc(16);
    strcpy(q, "still here");
    errno = 0;
    void *r = realloc(q, tera);
    printf("huge realloc: %s errno=%s old=%s\n", r ? "ptr" : "NULL",
           errno == ENOMEM ? "ENOMEM" : "other", q);
    void *al = NULL;
    int e = posix_memalign(&al, 64, tera);
    printf("huge posix_memalign: %s\n", e == ENOMEM ? "ENOMEM" : "other");
    e = posix_memalign(&al, 3, 16);
    printf("bad alignment: %s\n", e == EINVAL ? "EINVAL" : "other");
    errno = 0;
    r = realloc(q, 0);
    printf("realloc to 0: %s\n", r ? "ptr" : "NULL");
    /* exhaust the limit with 1 MiB blocks, then give them back */
    void **blocks = calloc(4096, sizeof *blocks);
    int n = 0;
    errno = 0;
    while (n < 4096 && (blocks[n] = malloc(1u << 20)) != NULL)
        memset(blocks[n++], 1, 64);
    printf("exhausted: errno=%s\n", errno == ENOMEM ? "ENOMEM" : "other");
    while (n > 0)
        free(blocks[--n]);
    free(blocks);
    void *again = malloc(100);
    printf("after freeing: %s\n", again ? "ptr" : "NULL");
    free(again);
    return 0;
}
