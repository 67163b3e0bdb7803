/* writer.c - the trace file and the snapshot's scratch memory. Owns the
 * output descriptor (opened at the first snapshot, O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0600; an existing name, a symbolic link included, gets .1, .2, ...;
 * only a character device or FIFO is opened as it is), the write buffer, section
 * headers whose lengths are fixed up when a section ends (so sections can be
 * streamed), the one packed record section open at a time (lg_pack.h: records
 * are encoded straight into the write buffer, the count fixed up at its end
 * like the length), and the PROCESS section written once per file. write(2)
 * only; nothing here calls malloc. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lg_pack.h"
#include "lg_shim.h"
#include "snapshot.h"

#define BUF_SIZE (1u << 20)
#define SCRATCH_CHUNK (1u << 20)

/* ---- scratch --------------------------------------------------------------- */

struct chunk {
    struct chunk *next;
    size_t size, used;
};
static struct chunk *scratch;

void *lg_scratch_alloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (scratch == NULL || scratch->size - scratch->used < size) {
        size_t want = size + sizeof(struct chunk) + 16;
        if (want < SCRATCH_CHUNK)
            want = SCRATCH_CHUNK;
        want = (want + 4095) & ~(size_t)4095;
        struct chunk *c = lg_map_pages(want);
        if (c == NULL)
            return NULL;
        c->size = want;
        c->used = (sizeof *c + 15) & ~(size_t)15;
        c->next = scratch;
        scratch = c;
    }
    void *p = (char *)scratch + scratch->used;
    scratch->used += size;
    return p;
}

void lg_scratch_release(void)
{
    while (scratch) {
        struct chunk *next = scratch->next;
        lg_unmap_pages(scratch, scratch->size);
        scratch = next;
    }
}

/* ---- the file ---------------------------------------------------------------- */

static int fd = -1;
static int failed;                      /* errno of a failure; no more writes */
static bool told;
static char path[4200];
static char *buf;
static size_t buf_len;
static uint64_t buf_off;                /* file offset of buf[0] */

bool lg_out_failed(void)
{
    return failed != 0 || fd < 0;
}

static const char *errtext(int e)
{
    switch (e) {
    case EACCES: return "Permission denied";
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case EROFS: return "Read-only file system";
    case ENOSPC: return "No space left on device";
    case EDQUOT: return "Disk quota exceeded";
    case ELOOP: return "Too many levels of symbolic links";
    case EMFILE: return "Too many open files";
    case ENFILE: return "Too many open files in system";
    case ENAMETOOLONG: return "File name too long";
    case EEXIST: return "File exists";
    case EIO: return "Input/output error";
    case EFBIG: return "File too large";
    case ENOMEM: return "Cannot allocate memory";
    default: return "I/O error";
    }
}

static void say_failure(int e, const char *what)
{
    if (told)
        return;
    told = true;
    char why[96];
    size_t k = strlen(errtext(e));
    memcpy(why, errtext(e), k);
    strcpy(why + k, "; trace incomplete");
    lg_say("cannot write ", path, ": ", why);
    (void)what;
}

static size_t put_num(char *out, unsigned long v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out[k++] = tmp[--n];
    return k;
}

static void expand(const char *pattern, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *p = pattern; *p && k + 24 < cap; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            k += put_num(out + k, (unsigned long)getpid());
            p++;
        } else
            out[k++] = *p;
    }
    out[k] = 0;
}

static int full_write(const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int lg_out_flush(void)
{
    if (failed)
        return -failed;
    if (fd < 0)
        return -EBADF;
    int err = full_write(buf, buf_len);
    if (err < 0) {
        failed = -err;
        say_failure(failed, "write");
        return err;
    }
    buf_off += buf_len;
    buf_len = 0;
    return 0;
}

void lg_out_write(const void *p, size_t n)
{
    const char *c = p;
    while (n > 0 && !failed && fd >= 0) {
        size_t room = BUF_SIZE - buf_len;
        size_t k = n < room ? n : room;
        memcpy(buf + buf_len, c, k);
        buf_len += k;
        c += k;
        n -= k;
        if (buf_len == BUF_SIZE)
            lg_out_flush();
    }
}

uint64_t lg_out_begin(uint32_t tag)
{
    uint64_t at = buf_off + buf_len;
    struct lg_section_header h = {tag, 0, 0};
    lg_out_write(&h, sizeof h);
    return at;
}

/* Overwrites n bytes at file offset at, in the buffer or, for the part
 * already flushed, in the file. */
static void patch(uint64_t at, const void *p, size_t n)
{
    const char *c = p;
    if (failed || fd < 0)
        return;
    if (at < buf_off) {
        size_t k = at + n <= buf_off ? n : (size_t)(buf_off - at);
        if (pwrite(fd, c, k, (off_t)at) != (ssize_t)k) {
            failed = errno ? errno : EIO;
            say_failure(failed, "pwrite");
            return;
        }
        c += k;
        n -= k;
        at += k;
    }
    if (n > 0)
        memcpy(buf + (at - buf_off), c, n);
}

void lg_out_end(uint64_t at)
{
    static const char zeros[8];
    uint64_t end = buf_off + buf_len;
    uint64_t len = end - at - sizeof(struct lg_section_header);
    if (len % 8) {
        lg_out_write(zeros, 8 - len % 8);
        len += 8 - len % 8;
    }
    patch(at + offsetof(struct lg_section_header, length), &len, sizeof len);
}

/* ---- packed record sections (lg_pack.h) ------------------------------------ */

static const struct lg_pack_layout *pack_layout;   /* the open one, or NULL */
static uint64_t pack_count;
static struct lg_pack_state pack_state;
/* STACKS: the previous stack's frames stay valid (stacks.c never changes
 * or frees a published stack) */
static const uint64_t *stack_prev;
static uint32_t stack_prev_depth;
static uint64_t stack_last;

uint64_t lg_out_begin_packed(uint32_t tag)
{
    static const uint64_t count;        /* fixed up by lg_out_end_packed() */
    uint64_t at = lg_out_begin(tag);
    pack_layout = lg_pack_layout(tag);
    pack_count = 0;
    memset(&pack_state, 0, sizeof pack_state);
    stack_prev = NULL;
    stack_prev_depth = 0;
    stack_last = 0;
    lg_out_write(&count, sizeof count);
    return at;
}

/* one record with layout l; called with a constant l, so the compiler
 * unrolls the field loop for each layout */
static inline __attribute__((always_inline)) void put_record(const struct lg_pack_layout *l,
                                                             const void *rec)
{
    if (BUF_SIZE - buf_len < LG_PACK_MAX_BYTES) {
        uint8_t tmp[LG_PACK_MAX_BYTES];
        lg_out_write(tmp, lg_pack_record(l, &pack_state, rec, tmp));
    } else
        buf_len += lg_pack_record(l, &pack_state, rec, (uint8_t *)buf + buf_len);
}

void lg_out_record(const void *rec)
{
    if (failed || fd < 0)
        return;
    if (pack_layout == &lg_pack_layouts[0])          /* BLOCKS and EDGES: millions */
        put_record(&lg_pack_layouts[0], rec);
    else if (pack_layout == &lg_pack_layouts[2])
        put_record(&lg_pack_layouts[2], rec);
    else
        put_record(pack_layout, rec);
    pack_count++;
}

void lg_out_stack(const uint64_t *pcs, uint32_t depth)
{
    uint8_t tmp[10];
    lg_out_write(tmp, lg_pack_uleb(depth, tmp));
    for (uint32_t i = 0; i < depth; i++)
        lg_out_write(tmp, lg_pack_frame(stack_prev, stack_prev_depth, depth, i, pcs[i],
                                        &stack_last, tmp));
    stack_prev = pcs;
    stack_prev_depth = depth;
    pack_count++;
}

void lg_out_end_packed(uint64_t at)
{
    lg_out_end(at);
    patch(at + sizeof(struct lg_section_header), &pack_count, sizeof pack_count);
    pack_layout = NULL;
}

static void write_process(void)
{
    char cmd[65536];
    ssize_t n = 0;
    int c = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (c >= 0) {
        ssize_t r;
        while (n < (ssize_t)sizeof cmd && (r = read(c, cmd + n, sizeof cmd - (size_t)n)) > 0)
            n += r;
        close(c);
    }
    uint32_t argc = 0;
    for (ssize_t i = 0; i < n; i++)
        if (cmd[i] == 0)
            argc++;
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe);
    if (el < 0)
        el = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    extern uint64_t lg_start_time_ns;
    struct lg_process p = {(uint32_t)getpid(), (uint32_t)getppid(), lg_start_time_ns, argc, 0};
    uint64_t at = lg_out_begin(LG_SEC_PROCESS);
    lg_out_write(&p, sizeof p);
    uint32_t len = (uint32_t)el;
    lg_out_write(&len, sizeof len);
    lg_out_write(exe, (size_t)el);
    for (ssize_t i = 0, s = 0; i < n; i++) {
        if (cmd[i] == 0) {
            len = (uint32_t)(i - s);
            lg_out_write(&len, sizeof len);
            lg_out_write(cmd + s, (size_t)len);
            s = i + 1;
        }
    }
    lg_out_end(at);
}

int lg_out_open(void)
{
    if (fd >= 0)
        return failed ? -failed : 0;
    if (failed || told)
        return -EIO;
    if (buf == NULL && (buf = lg_map_pages(BUF_SIZE)) == NULL)
        return -ENOMEM;
    char base[4200];
    expand(lg_cfg.output, base, sizeof base - 16);
    strcpy(path, base);
    for (int i = 1; i < 10000; i++) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        /* a device or a pipe named outright (/dev/null, /dev/full, a FIFO) is
         * written to, not renamed around: no /dev/null.1 */
        struct stat st;
        if (i == 1 && lstat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
            fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
            break;
        }
        size_t k = strlen(base);
        memcpy(path, base, k);
        path[k] = '.';
        path[k + 1 + put_num(path + k + 1, (unsigned long)i)] = 0;
    }
    if (fd < 0) {
        int e = errno;
        if (!told) {
            told = true;
            char why[96];
            size_t k = strlen(errtext(e));
            memcpy(why, errtext(e), k);
            strcpy(why + k, "; no trace written");
            lg_say("cannot write ", path, ": ", why);
        }
        failed = e;
        return -e;
    }
    buf_len = 0;
    buf_off = 0;
    struct lg_file_header h;
    memcpy(h.magic, LG_TRACE_MAGIC, LG_TRACE_MAGIC_LEN);
    h.version = LG_TRACE_VERSION;
    h.header_size = sizeof h;
    lg_out_write(&h, sizeof h);
    write_process();
    return 0;
}

void lg_writer_fork_child(void)
{
    if (fd >= 0)
        close(fd);                      /* the parent's file stays the parent's */
    fd = -1;
    failed = 0;
    told = false;
    buf_len = 0;
    buf_off = 0;
}
