/* idle_signal.c - a program that loses a block, sends itself the snapshot
 * signal (SIGUSR2) and then sits idle, allocating nothing, while it watches
 * its own trace (LEAKGRAPH_OUTPUT, %p = its pid) for a complete snapshot:
 * the trace's last section is a SNAPSHOT_END. With LEAKGRAPH_SIGNAL_THREAD=on
 * the shim's writer thread writes it at once; without it nothing is written
 * until the next allocation.
 *   idle_signal written   exit 0 when a snapshot appears within 10 s
 *   idle_signal waits     exit 0 when none appears within 1 s, then
 *                         allocates, after which one must be there
 *   idle_signal fork      the first, in a forked child (its own trace and
 *                         writer thread); exit with the child's status
 * Exit 3: not as expected. Only syscalls between the signal and the check. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg_trace.h"

void *volatile idle_keep, *volatile idle_next;

static void trace_path(char *out, size_t cap)
{
    const char *pat = getenv("LEAKGRAPH_OUTPUT");
    size_t k = 0;
    for (const char *p = pat ? pat : ""; *p && k + 24 < cap; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            char digits[16];
            int n = 0;
            for (unsigned v = (unsigned)getpid(); v; v /= 10)
                digits[n++] = (char)('0' + v % 10);
            while (n)
                out[k++] = digits[--n];
            p++;
        } else
            out[k++] = *p;
    }
    out[k] = 0;
}

/* The trace ends with a whole SNAPSHOT_END section. */
static int snapshot_written(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    struct stat st;
    struct lg_section_header h;
    size_t tail = sizeof h + sizeof(struct lg_snapshot_end);
    int ok = fstat(fd, &st) == 0 && (size_t)st.st_size >= tail &&
             pread(fd, &h, sizeof h, st.st_size - (off_t)tail) == (ssize_t)sizeof h &&
             h.tag == LG_SEC_SNAPSHOT_END;
    close(fd);
    return ok;
}

static int wait_for(const char *path, int tenths)
{
    for (int i = 0; i < tenths; i++) {
        if (snapshot_written(path))
            return 1;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return snapshot_written(path);
}

static int idle(int expect_written)
{
    char path[4096];
    trace_path(path, sizeof path);
    char *lost = malloc(4321);
    memset(lost, 1, 4321);
    lost = NULL;
    idle_keep = malloc(1234);
    kill(getpid(), SIGUSR2);
    if (expect_written)
        return wait_for(path, 100) ? 0 : 3;
    if (wait_for(path, 10))
        return 3;                       /* written while idle: not the default */
    void *next = malloc(1);             /* the next allocation writes it */
    idle_next = next;                   /* (kept, or the pair is optimised out) */
    return snapshot_written(path) ? 0 : 3;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "written";
    if (strcmp(mode, "fork") != 0)
        return idle(strcmp(mode, "written") == 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(idle(1));
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 3;
    return WEXITSTATUS(status);
}
