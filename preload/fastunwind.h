/* fastunwind.h - the fast unwinder's interface (fastunwind.c): a rule per
 * return address in a per-thread cache the caller owns (stacks.c keeps it
 * in its per-thread stack cache). */
#ifndef LG_FASTUNWIND_H
#define LG_FASTUNWIND_H

#include <stdbool.h>
#include <stdint.h>

#define LG_FU_CACHE_BITS 12

struct lg_fu_rule {
    uintptr_t ip;                       /* the return address, 0 = empty */
    int32_t cfa_off;                    /* CFA = rsp or rbp + cfa_off */
    int16_t rbp_off;                    /* rbp saved at CFA + rbp_off, 0 = kept */
    uint8_t kind;                       /* fastunwind.c: rsp, rbp, end, unknown */
    uint8_t pad;
};

/* A stack unwound before, and every stack word that unwind read
 * (fastunwind.c: replaying). */
#define LG_FU_MEMO_BITS 7
#define LG_FU_MEMO_WAYS 4               /* entries a start (ip, sp) may use */
#define LG_FU_MEMO_DEPTH 32             /* deeper unwinds are not kept */
#define LG_FU_MEMO_LOADS (2 * LG_FU_MEMO_DEPTH + 8)
struct lg_fu_memo {
    uintptr_t ip, sp, rbp;              /* the first program frame; ip 0 = empty */
    unsigned max, n, nloads;
    bool rbp_read;                      /* the unwind depended on rbp */
    uint32_t id;                        /* its stack id (stacks.c), UINT32_MAX: not yet */
    void *frames[LG_FU_MEMO_DEPTH];
    uintptr_t load_at[LG_FU_MEMO_LOADS];
    uintptr_t load_val[LG_FU_MEMO_LOADS];
};

struct lg_fu_cache {
    unsigned gen;                       /* lg_fu_forget() count it was filled under */
    struct lg_fu_rule rules[1u << LG_FU_CACHE_BITS];
    struct lg_fu_memo memo[1u << LG_FU_MEMO_BITS];
    uint8_t victim[(1u << LG_FU_MEMO_BITS) / LG_FU_MEMO_WAYS];  /* next to replace, per set */
};

/* Return addresses of the program's frames above fp (a frame-pointer
 * frame: fp[0] the saved rbp, fp[1] the return address), at most max, the
 * shim's own frames left out; -1 when some frame is not one it can unwind
 * (then use libunwind). *kept: the memo that now holds these frames (its
 * id free for the caller to fill), or NULL. */
int lg_fu_backtrace(void **buf, int max, struct lg_fu_cache *cache, const uintptr_t *fp,
                    struct lg_fu_memo **kept);

#endif /* LG_FASTUNWIND_H */
