/* libc_bookkeeping.c - a clean program that makes libc and the loader keep
 * bookkeeping of their own: stdio buffers, a locale, a dlerror message,
 * detached threads (with thread-locals) that exit first, getpwuid (NSS)
 * and time zone data. Nothing may be reported lost. */
#include <dlfcn.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static __thread char tls_buf[64];

static void *quick(void *arg)
{
    snprintf(tls_buf, sizeof tls_buf, "thread %p", arg);
    char *s = malloc(32);
    free(s);
    return NULL;
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    printf("hello %d\n", 42);
    fprintf(stderr, "to stderr\n");
    if (dlopen("/nonexistent/libnothing.so", RTLD_NOW) == NULL)
        (void)dlerror();
    for (int i = 0; i < 4; i++) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_create(&t, &a, quick, (void *)(long)i);
        pthread_attr_destroy(&a);
    }
    usleep(100000);                     /* let the detached threads finish */
    struct passwd *pw = getpwuid(getuid());
    time_t now = time(NULL);
    char buf[64];
    strftime(buf, sizeof buf, "%c", localtime(&now));
    printf("%s %zu\n", pw ? "user" : "nouser", sizeof buf);
    return 0;
}
