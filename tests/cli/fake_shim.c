/* fake_shim.c - a stand-in for libleakgraph.so in the tests of `run`: when
 * loaded it writes the trace of scenario $FAKE_SHIM_SCENARIO (default
 * "leak") to $LEAKGRAPH_OUTPUT with %p replaced by the pid, at load time,
 * so a process killed later still leaves one. It tests how `run` finds,
 * waits for and reports traces, independently of the real shim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenarios.h"

__attribute__((constructor)) static void fake_shim_write(void)
{
    const char *out = getenv("LEAKGRAPH_OUTPUT");
    const char *scn = getenv("FAKE_SHIM_SCENARIO");
    char path[4096];
    if (out == NULL)
        return;
    const char *p = strstr(out, "%p");
    if (p)
        snprintf(path, sizeof(path), "%.*s%d%s", (int)(p - out), out, (int)getpid(), p + 2);
    else
        snprintf(path, sizeof(path), "%s", out);
    struct lg_tb *tb = lg_tb_new((uint32_t)getpid(), "/bin/faked");
    lg_tb_arg(tb, "faked");
    lg_scenario_build(tb, scn && *scn ? scn : "leak");
    lg_tb_write(tb, path);
    lg_tb_free(tb);
}
