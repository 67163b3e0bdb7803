/* fuzz_trace_read.c - libFuzzer harness for the trace reader and the
 * analysis: every input is loaded as a trace (through a memfd, so nothing
 * touches the disk) and, when it loads, every complete snapshot is analysed
 * with reach paths on and rendered as text and JSON (to /dev/null). Crashes, hangs, leaks and sanitizer reports are the
 * findings; a clean rejection is the expected answer to garbage. Built with
 * clang -fsanitize=fuzzer,address,undefined by tests/cli/CMakeLists.txt. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis.h"
#include "model.h"
#include "render.h"
#include "symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    char path[64], err[512];
    if (fd < 0)
        fd = memfd_create("lgfuzz", 0);
    if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct lg_proc_trace *t = NULL;
    if (lg_trace_load(path, &t, err, sizeof(err)) == 0) {
        for (uint32_t i = 0; i < t->nsnaps; i++) {
            struct lg_analysis *a = NULL;
            struct lg_analysis_options opt = {.reach_paths = true};
            if (lg_analyze(&t->snaps[i], &opt, &a) == 0) {
                for (uint32_t b = 0; b < a->nblocks && b < 64; b++) {
                    uint32_t root, edges[8];
                    lg_reach_path(a, b, &root, edges, 8);
                    lg_block_record(a, b);
                }
                lg_gate_fails(a, LG_FAIL_REACHABLE);
                static FILE *null_out;
                if (null_out == NULL)
                    null_out = fopen("/dev/null", "w");
                struct lg_report_proc rp = {t, &t->snaps[i], a, lg_symbolizer_new(&t->snaps[i]), 0};
                struct lg_render_opts ro = {true, 0, LG_FAIL_DEFINITE};
                if (null_out) {
                    lg_render_text(null_out, &rp, 1, &ro);
                    lg_render_json(null_out, &rp, 1, &ro);
                }
                if (rp.sym)
                    lg_symbolizer_free(rp.sym);
            }
            lg_analysis_free(a);
        }
    }
    lg_trace_free(t);
    return 0;
}
