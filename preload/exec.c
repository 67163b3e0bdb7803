/* exec.c - keeps the shim across exec, and remembers dlclose'd modules.
 * execve, execvpe, execle, fexecve, posix_spawn and posix_spawnp get an
 * environment that still preloads libleakgraph.so (by its absolute path)
 * and still carries the LEAKGRAPH_ settings this process started with, even
 * when the program passes an environment without them; execv, execvp,
 * execl and execlp (which libc sends to the kernel through its own execve)
 * are routed through ours. Owns the shim's own path and the saved settings. */
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_shim.h"
#include "snapshot.h"

#define SAVED_MAX 8

static char self_path[4096];
static char *saved[SAVED_MAX];          /* "LEAKGRAPH_X=..." from our start */
static int n_saved;

void lg_exec_init(void)
{
    Dl_info di;
    if (dladdr((void *)&lg_exec_init, &di) && di.dli_fname != NULL &&
        realpath(di.dli_fname, self_path) == NULL)   /* absolute: the program may chdir */
        self_path[0] = 0;
    extern char **environ;
    for (char **e = environ; e && *e && n_saved < SAVED_MAX; e++) {
        if (strncmp(*e, "LEAKGRAPH_", 10) != 0)
            continue;
        size_t n = strlen(*e);
        char *c = lg_arena_alloc(n + 1);
        if (c == NULL)
            break;
        memcpy(c, *e, n + 1);
        saved[n_saved++] = c;
    }
}

static bool has_var(char *const envp[], const char *assign)
{
    size_t k = (size_t)(strchr(assign, '=') - assign) + 1;
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, assign, k) == 0)
            return true;
    return false;
}

/* envp, or a copy that preloads the shim and carries the saved settings */
static char *const *fix_env(char *const envp[])
{
    if (atomic_load(&lg_state) != LG_READY || self_path[0] == 0)
        return envp;
    size_t n = 0;
    const char *preload = NULL;
    for (char *const *e = envp; e && *e; e++, n++)
        if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
            preload = *e + 11;
    bool need_preload = preload == NULL || strstr(preload, self_path) == NULL;
    int missing = 0;
    for (int i = 0; i < n_saved; i++)
        missing += !has_var(envp, saved[i]);
    if (!need_preload && missing == 0)
        return envp;
    char **out = lg_arena_alloc(sizeof *out * (n + (size_t)missing + 2));
    if (out == NULL)
        return envp;
    size_t k = 0;
    for (char *const *e = envp; e && *e; e++)
        if (!need_preload || strncmp(*e, "LD_PRELOAD=", 11) != 0)
            out[k++] = *e;
    if (need_preload) {                 /* ours first; drop other spellings of it */
        size_t len = 11 + strlen(self_path) + (preload ? 1 + strlen(preload) : 0) + 1;
        char *v = lg_arena_alloc(len);
        if (v == NULL)
            return envp;
        strcpy(v, "LD_PRELOAD=");
        strcat(v, self_path);
        for (const char *t = preload; t && *t;) {
            size_t tl = strcspn(t, ": ");
            bool ours = (tl >= 16 && memcmp(t + tl - 16, "/libleakgraph.so", 16) == 0) ||
                        (tl == 15 && memcmp(t, "libleakgraph.so", 15) == 0);
            if (tl > 0 && !ours) {
                strcat(v, " ");
                strncat(v, t, tl);
            }
            t += tl;
            t += strspn(t, ": ");
        }
        out[k++] = v;
    }
    for (int i = 0; i < n_saved; i++)
        if (!has_var(envp, saved[i]))
            out[k++] = saved[i];
    out[k] = NULL;
    return out;
}

void *lg_next_symbol(const char *name)
{
    int was = lg_in_hook;
    lg_in_hook = 1;
    void *f = dlsym(RTLD_NEXT, name);
    lg_in_hook = was;
    return f;
}

/* dlclose: remember the loaded libraries first, so frames in the ones it
 * unloads (the handle's, and dependencies that go with it) stay
 * symbolizable. */
LG_EXPORT int dlclose(void *handle)
{
    static int (*real)(void *);
    if (real == NULL && (real = lg_next_symbol("dlclose")) == NULL)
        return -1;
    struct lg_retire_set set;
    bool retiring = false;
    void *volatile h = handle;          /* dlclose(NULL) is an error the real one reports */
    if (h != NULL && atomic_load(&lg_state) == LG_READY && !lg_in_hook) {
        lg_in_hook = 1;
        retiring = lg_modules_retire_begin(&set);
        lg_in_hook = 0;
    }
    int r = real(handle);
    int real_errno = errno;
    if (retiring) {
        lg_in_hook = 1;
        lg_modules_retire_end(&set);
        lg_in_hook = 0;
    }
    lg_fu_forget();                     /* unwind rules of the module may be stale */
    errno = real_errno;
    return r;
}

LG_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    static int (*real)(const char *, char *const[], char *const[]);
    if (real == NULL && (real = lg_next_symbol("execve")) == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(path, argv, fix_env(envp));
}

LG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    static int (*real)(const char *, char *const[], char *const[]);
    if (real == NULL && (real = lg_next_symbol("execvpe")) == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(file, argv, fix_env(envp));
}

/* execv, execvp, execl and execlp reach the kernel through libc's own
 * execve, not ours, with environ: route them through ours. */
extern char **environ;

LG_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

LG_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

static char **gather(const char *arg, va_list ap)
{
    va_list count;
    va_copy(count, ap);
    size_t n = 1;
    while (va_arg(count, const char *) != NULL)
        n++;
    va_end(count);
    char **argv = lg_arena_alloc(sizeof *argv * (n + 1));
    if (argv == NULL)
        return NULL;
    argv[0] = (char *)arg;
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg(ap, char *);   /* argv[n] is the terminating NULL */
    return argv;
}

LG_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    char **argv = gather(arg, ap);
    va_end(ap);
    if (argv == NULL) {
        errno = ENOMEM;
        return -1;
    }
    return execve(path, argv, environ);
}

LG_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    char **argv = gather(arg, ap);
    va_end(ap);
    if (argv == NULL) {
        errno = ENOMEM;
        return -1;
    }
    return execvpe(file, argv, environ);
}

LG_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    static int (*real)(int, char *const[], char *const[]);
    if (real == NULL && (real = lg_next_symbol("fexecve")) == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd, argv, fix_env(envp));
}

LG_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    size_t n = 1;
    va_start(ap, arg);
    while (va_arg(ap, const char *) != NULL)
        n++;
    va_end(ap);
    char **argv = lg_arena_alloc(sizeof *argv * (n + 1));
    if (argv == NULL) {
        errno = ENOMEM;
        return -1;
    }
    va_start(ap, arg);
    argv[0] = (char *)arg;
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg(ap, char *);   /* argv[n] is the terminating NULL */
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

LG_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                       const posix_spawnattr_t *, char *const[], char *const[]);
    if (real == NULL && (real = lg_next_symbol("posix_spawn")) == NULL)
        return ENOSYS;
    return real(pid, path, fa, attr, argv, fix_env(envp));
}

LG_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                       const posix_spawnattr_t *, char *const[], char *const[]);
    if (real == NULL && (real = lg_next_symbol("posix_spawnp")) == NULL)
        return ENOSYS;
    return real(pid, file, fa, attr, argv, fix_env(envp));
}
