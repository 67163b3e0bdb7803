/* make_trace.c - writes a scenario trace (scenarios.h) for the command
 * tests: make_trace SCENARIO PATH [PID]. */
#include <stdio.h>
#include <stdlib.h>

#include "scenarios.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: make_trace SCENARIO PATH [PID]\n");
        return 2;
    }
    uint32_t pid = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 4242;
    const char *exe = argc > 1 && argv[1][0] == 'w' ? "/bin/we\"ird\\prog\x7f" : "/bin/prog";
    struct lg_tb *tb = lg_tb_new(pid, exe);
    lg_tb_arg(tb, "prog");
    if (lg_scenario_build(tb, argv[1]) < 0) {
        fprintf(stderr, "make_trace: unknown scenario %s\n", argv[1]);
        return 2;
    }
    int rc = lg_tb_write(tb, argv[2]);
    lg_tb_free(tb);
    if (rc < 0) {
        fprintf(stderr, "make_trace: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
