/* run.c - `leakgraph run [OPTIONS] -- PROGRAM [ARGS...]`: checks the
 * program (found on PATH like execvp, executable, dynamically linked),
 * finds the shim, runs the program with LD_PRELOAD and LEAKGRAPH_OUTPUT
 * pointing into a private trace directory, forwards SIGINT/SIGTERM sent to
 * leakgraph itself, then reports every trace the program and its children
 * wrote (report.c) and decides the exit status. Owns the child, the trace
 * directory (removed afterwards unless --keep-traces) and its signal
 * handlers.
 *
 * Exit status: the program's own when no leak fails the gate; the
 * --error-exitcode (23) when one does; 128+N when signal N killed it (after
 * reporting what was recorded); 2 for usage errors (bad option, missing,
 * non-executable or static program, unwritable --output, no shim); 3 when
 * the program wrote no readable trace. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"

#ifndef LG_SHIM_INSTALLED_REL
#define LG_SHIM_INSTALLED_REL "../lib/leakgraph/libleakgraph.so"
#endif
#define LG_SHIM_BUILD_REL "../preload/libleakgraph.so"

static volatile sig_atomic_t child_pid;

/* Forward a signal another process sent to leakgraph. Signals from the
 * terminal (Ctrl-C) reach the whole foreground group, the child included,
 * so forwarding those would deliver them twice. */
static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (child_pid > 0 && (si == NULL || si->si_code == SI_USER || si->si_code == SI_QUEUE))
        kill(child_pid, sig);
}

/* execvp's search: 0 and the path in out, or -errno */
static int find_program(const char *prog, char *out, size_t len)
{
    struct stat st;
    if (strchr(prog, '/')) {
        if (snprintf(out, len, "%s", prog) >= (int)len)
            return -ENAMETOOLONG;
        if (stat(out, &st) < 0)
            return -errno;
        if (S_ISDIR(st.st_mode))
            return -EISDIR;
        return access(out, X_OK) < 0 ? -errno : 0;
    }
    const char *path = getenv("PATH");
    if (path == NULL || *path == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    int err = -ENOENT;
    for (const char *p = path;; ) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (snprintf(out, len, "%.*s%s%s", (int)n, p, n ? "/" : "", prog) < (int)len &&
            stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            err = -EACCES;            /* remember, keep looking, as execvp does */
        }
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    return err;
}

/* 1 when the file is an ELF executable without PT_INTERP (static), 0 when it
 * is dynamic or not ELF (a script: its interpreter is checked by exec) */
static int is_static_elf(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf64_Ehdr eh;
    int result = 0;
    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
        goto out;
    result = 1;
    for (unsigned i = 0; i < eh.e_phnum && i < 4096; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
            (ssize_t)sizeof(ph))
            break;
        if (ph.p_type == PT_INTERP) {
            result = 0;
            break;
        }
    }
out:
    close(fd);
    return result;
}

/* the shim: LEAKGRAPH_SHIM, else beside us in the build tree, else installed */
static int find_shim(char *out, size_t len)
{
    const char *env = getenv("LEAKGRAPH_SHIM");
    if (env && *env) {
        if (access(env, R_OK) < 0) {
            fprintf(stderr, "leakgraph: LEAKGRAPH_SHIM=%s: %s\n", env, strerror(errno));
            return -1;
        }
        return snprintf(out, len, "%s", env) < (int)len ? 0 : -1;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        fprintf(stderr, "leakgraph: cannot find myself (/proc/self/exe): %s; set LEAKGRAPH_SHIM\n",
                strerror(errno));
        return -1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    const char *rels[] = {LG_SHIM_BUILD_REL, LG_SHIM_INSTALLED_REL};
    for (size_t i = 0; i < 2; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof(cand), "%s/%s", self, rels[i]);
        if (access(cand, R_OK) == 0) {
            char *real = realpath(cand, NULL);
            int rc = snprintf(out, len, "%s", real ? real : cand) < (int)len ? 0 : -1;
            free(real);
            return rc;
        }
    }
    fprintf(stderr, "leakgraph: cannot find the shim libleakgraph.so (looked in %s/%s and %s/%s);"
            " set LEAKGRAPH_SHIM\n", self, LG_SHIM_BUILD_REL, self, LG_SHIM_INSTALLED_REL);
    return -1;
}

static bool is_trace_name(const char *name)
{
    size_t n = strlen(name);
    return strncmp(name, "leakgraph.", 10) == 0 && n > 16 && strcmp(name + n - 6, ".trace") == 0;
}

/* names of the traces in dir, minus those in `before` (sorted lists) */
static int list_traces(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    *out = NULL;
    *n = 0;
    if (d == NULL)
        return -errno;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_trace_name(de->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(*out, cap * sizeof(char *));
            if (nv == NULL)
                break;
            *out = nv;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(len);
        if (p == NULL)
            break;
        snprintf(p, len, "%s/%s", dir, de->d_name);
        (*out)[(*n)++] = p;
    }
    closedir(d);
    return 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static const char run_usage[] =
    "usage: leakgraph run [--format text|json|sarif] [--output FILE] [--suppressions FILE]\n"
    "                     [--show-reachable] [--max-records N] [--keep-traces DIR]\n"
    "                     [--fail-on none|definite|possible|reachable] [--error-exitcode N]\n"
    "                     -- PROGRAM [ARGS...]\n";

int lg_cmd_run(int argc, char **argv)
{
    struct lg_cli_opts o;
    char prog[PATH_MAX], shim[PATH_MAX], dir[PATH_MAX], *preload = NULL, *outvar = NULL;
    char **before = NULL, **after = NULL, **fresh = NULL;
    size_t nbefore = 0, nafter = 0, nfresh = 0;
    bool made_dir = false;
    FILE *out = NULL;
    int i = 1, status = LG_EXIT_USAGE, rc;

    lg_opts_init(&o);
    while (i < argc) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(run_usage, stdout);
            return LG_EXIT_OK;
        }
        if (argv[i][0] != '-')
            break;                    /* the program, without "--" */
        rc = lg_opts_parse(&o, argc, argv, &i, true);
        if (rc < 0)
            return LG_EXIT_USAGE;
        if (rc == 0) {
            fprintf(stderr, "leakgraph: run: unknown option '%s'\n", argv[i]);
            return LG_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "leakgraph: run needs a program: leakgraph run [OPTIONS] -- PROGRAM [ARGS...]\n");
        return LG_EXIT_USAGE;
    }
    char **pargv = &argv[i];

    /* everything that can fail is checked before the program runs */
    rc = find_program(pargv[0], prog, sizeof(prog));
    if (rc < 0) {
        fprintf(stderr, "leakgraph: %s: %s\n", pargv[0], strerror(-rc));
        return LG_EXIT_USAGE;
    }
    if (is_static_elf(prog)) {
        fprintf(stderr, "leakgraph: %s is statically linked; the shim cannot see its allocations\n",
                pargv[0]);
        return LG_EXIT_USAGE;
    }
    if (find_shim(shim, sizeof(shim)) < 0)
        return LG_EXIT_USAGE;
    if (lg_opts_load_suppressions(&o) < 0)
        goto out;
    out = lg_opts_open_output(&o);
    if (out == NULL)
        goto out;
    if (o.keep_traces) {
        if (mkdir(o.keep_traces, 0777) < 0 && errno != EEXIST) {
            fprintf(stderr, "leakgraph: --keep-traces %s: %s\n", o.keep_traces, strerror(errno));
            goto out;
        }
        char *real = realpath(o.keep_traces, NULL);
        snprintf(dir, sizeof(dir), "%s", real ? real : o.keep_traces);
        free(real);
        /* the shim could not write there either: refuse before running */
        char probe[PATH_MAX + 32];
        snprintf(probe, sizeof(probe), "%s/.leakgraph-probe-XXXXXX", dir);
        int pfd = mkstemp(probe);
        if (pfd < 0) {
            fprintf(stderr, "leakgraph: --keep-traces %s: %s\n", o.keep_traces, strerror(errno));
            goto out;
        }
        close(pfd);
        unlink(probe);
        list_traces(dir, &before, &nbefore);     /* older runs' traces are not ours */
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof(dir), "%s/leakgraph.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL) {
            fprintf(stderr, "leakgraph: cannot create a trace directory %s: %s\n", dir, strerror(errno));
            goto out;
        }
        made_dir = true;
    }
    const char *old = getenv("LD_PRELOAD");
    size_t plen = strlen(shim) + (old ? strlen(old) : 0) + 2;
    size_t olen = strlen(dir) + 32;
    preload = malloc(plen);
    outvar = malloc(olen);
    if (preload == NULL || outvar == NULL)
        goto out;
    snprintf(preload, plen, "%s%s%s", shim, old && *old ? ":" : "", old && *old ? old : "");
    snprintf(outvar, olen, "%s/leakgraph.%%p.trace", dir);

    /* run it; exec errors come back through a close-on-exec pipe */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        fprintf(stderr, "leakgraph: pipe: %s\n", strerror(errno));
        goto out;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "leakgraph: fork: %s\n", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        goto out;
    }
    if (pid == 0) {
        close(pfd[0]);
        setenv("LD_PRELOAD", preload, 1);
        setenv("LEAKGRAPH_OUTPUT", outvar, 1);
        execv(prog, pargv);
        int e = errno;
        if (write(pfd[1], &e, sizeof(e)) < 0)
            _exit(127);
        _exit(127);
    }
    close(pfd[1]);
    child_pid = pid;
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    int exec_err = 0;
    ssize_t got;
    do
        got = read(pfd[0], &exec_err, sizeof(exec_err));
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    child_pid = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (got == (ssize_t)sizeof(exec_err)) {
        fprintf(stderr, "leakgraph: %s: %s\n", pargv[0], strerror(exec_err));
        status = LG_EXIT_USAGE;
        goto out;
    }

    int prog_status = 0, end_signal = 0;
    if (WIFSIGNALED(wstatus)) {
        end_signal = WTERMSIG(wstatus);
        prog_status = 128 + end_signal;
    } else if (WIFEXITED(wstatus)) {
        prog_status = WEXITSTATUS(wstatus);
    }

    /* every trace this run wrote: the program's and its children's */
    list_traces(dir, &after, &nafter);
    fresh = calloc(nafter ? nafter : 1, sizeof(char *));
    if (fresh == NULL)
        goto out;
    for (size_t k = 0; k < nafter; k++)
        if (!in_list(before, nbefore, after[k]))
            fresh[nfresh++] = after[k];
    if (nfresh == 0) {
        if (end_signal)
            fprintf(stderr, "leakgraph: %s wrote no trace in %s (%s); is %s a working shim?\n",
                    pargv[0], dir, strsignal(end_signal), shim);
        else    /* most often _exit(): it skips the destructor that writes */
            fprintf(stderr, "leakgraph: %s exited with status %d and wrote no trace: a process "
                    "that ends with _exit() (or execs past the shim) writes no exit snapshot; "
                    "nothing to report\n", pargv[0], prog_status);
        status = end_signal ? prog_status : LG_EXIT_TRACE;
        goto out;
    }
    struct lg_report_result res;
    lg_report_traces(&o, fresh, nfresh, out, (uint32_t)pid, end_signal, &res);
    if (end_signal)
        status = prog_status;
    else if (res.reported == 0)          /* every trace unreadable: a full disk, say */
        status = LG_EXIT_TRACE;
    else if (res.status < 0 && res.status != -ENOSYS)
        status = LG_EXIT_USAGE;          /* the report was lost (said so): never a pass */
    else if (res.gate_fails)
        status = o.error_exitcode;
    else
        status = prog_status;
    if (o.keep_traces)
        fprintf(stderr, "leakgraph: traces kept in %s\n", dir);
out:
    if (out && out != stdout)
        fclose(out);
    if (made_dir) {
        for (size_t k = 0; k < nafter; k++)
            unlink(after[k]);
        /* the shim may leave partial files of other names; remove what is left */
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            unlinkat(dirfd(d), de->d_name, 0);
        }
        if (d)
            closedir(d);
        rmdir(dir);
    }
    free(fresh);
    free_list(before, nbefore);
    free_list(after, nafter);
    free(preload);
    free(outvar);
    lg_opts_free(&o);
    return status;
}
