/* config.c - the shim's settings from the environment: LEAKGRAPH_OUTPUT,
 * LEAKGRAPH_DEPTH, LEAKGRAPH_HISTORY, LEAKGRAPH_HISTORY_DEPTH,
 * LEAKGRAPH_SIGNAL, LEAKGRAPH_SIGNAL_THREAD, LEAKGRAPH_HEADERS. A bad value gets one
 * line on stderr and its default; the target always runs. Owns lg_cfg and
 * lg_say(), the shim's only way to speak (write(2), no stdio, no malloc). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lg_shim.h"

struct lg_config lg_cfg = {
    .depth = LG_DEPTH_DEFAULT,
    .history = LG_HISTORY_DEFAULT,
    .history_depth = LG_HISTORY_DEPTH_DEFAULT,
    .signal = SIGUSR2,
    .headers = 1,
    .output = "leakgraph.%p.trace",
};

void lg_say(const char *a, const char *b, const char *c, const char *d)
{
    char line[1024];
    size_t n = 0;
    const char *parts[] = {"leakgraph: ", a, b, c, d, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        for (const char *s = parts[i]; s && *s && n < sizeof line - 1; s++)
            line[n++] = *s;
    }
    if (n > 0 && line[n - 1] != '\n')
        line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

static void utoa(long v, char *out)
{
    char tmp[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *out++ = '-';
    while (n)
        *out++ = tmp[--n];
    *out = 0;
}

/* 0 and the number, or -1 when text is not a whole number in [lo, hi]. */
static int parse_long(const char *text, long lo, long hi, long *out)
{
    char *end;
    if (text[0] == 0)
        return -1;
    long v = strtol(text, &end, 10);
    if (*end != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void bad(const char *name, const char *val, const char *why, long def)
{
    char num[24], head[600];
    utoa(def, num);
    size_t n = strlen(name);
    if (n > 100)
        n = 100;
    memcpy(head, name, n);
    head[n++] = '=';
    size_t v = strlen(val);
    if (v > 400)
        v = 400;
    memcpy(head + n, val, v);
    head[n + v] = 0;
    lg_say(head, why, "; using ", num);
}

static const struct { const char *name; int sig; } signals[] = {
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"INT", SIGINT},
    {"QUIT", SIGQUIT}, {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"PWR", SIGPWR},
};

static int parse_signal(const char *text)
{
    long v;
    if (strcasecmp(text, "none") == 0 || strcasecmp(text, "off") == 0)
        return 0;
    if (parse_long(text, 0, SIGRTMAX, &v) == 0)
        return (int)v;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (strcasecmp(text, signals[i].name) == 0)
            return signals[i].sig;
    return -1;
}

void lg_config_load(void)
{
    const char *v;
    long n;
    if ((v = getenv("LEAKGRAPH_OUTPUT")) != NULL) {
        if (v[0] == 0 || strlen(v) >= sizeof lg_cfg.output - 32)
            lg_say("LEAKGRAPH_OUTPUT is empty or too long; using leakgraph.%p.trace",
                   NULL, NULL, NULL);
        else
            strcpy(lg_cfg.output, v);
    }
    if (lg_cfg.output[0] != '/') {      /* where the program started, even if it chdirs */
        char cwd[2048];
        size_t len = strlen(lg_cfg.output);
        if (getcwd(cwd, sizeof cwd) != NULL && strlen(cwd) + 1 + len < sizeof lg_cfg.output) {
            size_t c = strlen(cwd);
            memmove(lg_cfg.output + c + 1, lg_cfg.output, len + 1);
            memcpy(lg_cfg.output, cwd, c);
            lg_cfg.output[c] = '/';
        }
    }
    if ((v = getenv("LEAKGRAPH_DEPTH")) != NULL) {
        if (parse_long(v, 0, 0x7fffffff, &n) < 0)
            bad("LEAKGRAPH_DEPTH", v, " is not a number", LG_DEPTH_DEFAULT);
        else if (n > LG_DEPTH_MAX) {
            bad("LEAKGRAPH_DEPTH", v, " is more than 256", LG_DEPTH_MAX);
            lg_cfg.depth = LG_DEPTH_MAX;
        } else
            lg_cfg.depth = (int)n;
    }
    /* a history event is worth its stack: with stacks off, no history
     * unless LEAKGRAPH_HISTORY asks for one */
    if (lg_cfg.depth == 0)
        lg_cfg.history = 0;
    if ((v = getenv("LEAKGRAPH_HISTORY")) != NULL) {
        if (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0)
            lg_cfg.history = 0;
        else if (strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0)
            lg_cfg.history = LG_HISTORY_DEFAULT;
        else if (parse_long(v, 0, LG_HISTORY_MAX, &n) < 0)
            bad("LEAKGRAPH_HISTORY", v, " is not on, off or a number up to 1024",
                LG_HISTORY_DEFAULT);
        else
            lg_cfg.history = (int)n;
    }
    if ((v = getenv("LEAKGRAPH_HISTORY_DEPTH")) != NULL) {
        if (parse_long(v, 0, LG_DEPTH_MAX, &n) < 0)
            bad("LEAKGRAPH_HISTORY_DEPTH", v, " is not a number up to 256",
                LG_HISTORY_DEPTH_DEFAULT);
        else
            lg_cfg.history_depth = (int)n;  /* 0: as deep as LEAKGRAPH_DEPTH */
    }
    if ((v = getenv("LEAKGRAPH_STATS")) != NULL)
        lg_cfg.stats = v[0] == '1' || strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0;
    if ((v = getenv("LEAKGRAPH_HEADERS")) != NULL) {
        if (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
            lg_cfg.headers = 0;
        else if (strcasecmp(v, "on") != 0 && strcasecmp(v, "yes") != 0 && strcmp(v, "1") != 0)
            lg_say("LEAKGRAPH_HEADERS=", v, " is not on or off; using on", NULL);
    }
    if ((v = getenv("LEAKGRAPH_SIGNAL_THREAD")) != NULL) {
        if (strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
            lg_cfg.signal_thread = 1;
        else if (strcasecmp(v, "off") != 0 && strcasecmp(v, "no") != 0 && strcmp(v, "0") != 0)
            lg_say("LEAKGRAPH_SIGNAL_THREAD=", v, " is not on or off; using off", NULL);
    }
    if ((v = getenv("LEAKGRAPH_SIGNAL")) != NULL) {
        int sig = parse_signal(v);
        if (sig < 0 || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV)
            bad("LEAKGRAPH_SIGNAL", v, " is not a usable signal", SIGUSR2);
        else
            lg_cfg.signal = sig;
    }
}
