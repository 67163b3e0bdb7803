/* fastunwind.c - a fast x86-64 unwinder for the common frames, with
 * libunwind (stacks.c) as the fallback for everything else. Owns the
 * per-return-address rules: each is read once from the module's
 * .eh_frame_hdr / .eh_frame (a binary search, then the CIE's and FDE's
 * call-frame program run up to the address) and kept in a per-thread,
 * direct-mapped cache, like Linux's ORC: the frame's CFA is rsp+N or
 * rbp+N, the return address sits at CFA-8, rbp is unchanged or saved at
 * CFA+M. Anything else - an expression, a signal frame, a register rule
 * for rbp or the return address, an address with no unwind info (JIT
 * code), a 64-bit .eh_frame - is "unknown" and the whole capture goes to
 * libunwind, so a stack always takes the same path and gets the same id.
 * The shim's own frames (built with -fno-omit-frame-pointer) are walked by
 * their frame pointers, without a rule, and left out of the result.
 * Every read of the stack lies between the current stack pointer and the
 * thread's stack top (pthread_getattr_np, once per thread); a stack
 * pointer outside them (a signal's alternate stack, a coroutine) falls back
 * too. Module text is read only through its own program headers. */
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "fastunwind.h"
#include "lg_shim.h"

enum { K_EMPTY = 0, K_RSP = 1, K_RBP = 2, K_END = 3, K_UNKNOWN = 4 };
#define R_RBP 6
#define R_RSP 7
#define R_RA 16

static __thread uintptr_t stk_lo, stk_hi;   /* 0: not looked up; lo=hi: none */

static void stack_bounds(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    if (lg_in_getattr)          /* it holds our own lock: ask on a later stack */
        return;
    stk_lo = stk_hi = 1;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return;
    if (pthread_attr_getstack(&a, &addr, &size) == 0 && size > 0) {
        stk_lo = (uintptr_t)addr;
        stk_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&a);
}

/* ---- reading .eh_frame ---------------------------------------------------- */

struct rd {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t uleb(struct rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; r->p < r->end && shift < 64; shift += 7) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t sleb(struct rd *r)
{
    int64_t v = 0;
    int shift = 0;
    for (; r->p < r->end && shift < 64;) {
        uint8_t b = *r->p++;
        v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= -((int64_t)1 << shift);
            return v;
        }
    }
    r->bad = true;
    return 0;
}

static uint64_t fixed(struct rd *r, int n)
{
    uint64_t v = 0;
    if (r->end - r->p < n) {
        r->bad = true;
        return 0;
    }
    memcpy(&v, r->p, (size_t)n);
    r->p += n;
    return v;
}

/* A DW_EH_PE-encoded pointer: absolute or pc-relative only. */
static uintptr_t encoded(struct rd *r, uint8_t enc)
{
    const uint8_t *at = r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: v = fixed(r, 8); break;
    case 0x03: v = fixed(r, 4); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(r, 4); break;
    case 0x02: v = fixed(r, 2); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)fixed(r, 2); break;
    default: r->bad = true; return 0;
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += (uintptr_t)at; break;
    default: r->bad = true; return 0;
    }
    if (enc & 0x80)
        r->bad = true;                  /* indirect */
    return (uintptr_t)v;
}

struct cfa_state {
    int cfa_reg;
    int64_t cfa_off;
    int rbp;                            /* 0 unchanged, 1 at CFA+rbp_off, 2 other */
    int64_t rbp_off;
    int ra;                             /* 0 unset, 1 at CFA+ra_off, 2 undefined, 3 other */
    int64_t ra_off;
};

static void set_reg(struct cfa_state *s, uint64_t reg, int kind, int64_t off)
{
    if (reg == R_RBP) {
        s->rbp = kind;
        s->rbp_off = off;
    } else if (reg == R_RA) {
        s->ra = kind;
        s->ra_off = off;
    }
}

/* Runs a call-frame program until the location passes target (or to its
 * end when target is 0). false when an instruction is one we do not model
 * for rbp, rsp, the CFA or the return address. */
static bool run_cfa(struct rd *r, struct cfa_state *s, const struct cfa_state *init,
                    uint64_t caf, int64_t daf, uintptr_t loc, uintptr_t target)
{
    struct cfa_state saved[4];
    int nsaved = 0;
    while (r->p < r->end && !r->bad) {
        uint8_t op = *r->p++;
        uint64_t reg, delta = 0;
        switch (op >> 6) {
        case 1: delta = op & 0x3f; goto advance;
        case 2: set_reg(s, op & 0x3f, 1, (int64_t)uleb(r) * daf); continue;
        case 3:
            reg = op & 0x3f;
            goto restore;
        }
        switch (op) {
        case 0x00: continue;
        case 0x02: delta = fixed(r, 1); goto advance;
        case 0x03: delta = fixed(r, 2); goto advance;
        case 0x04: delta = fixed(r, 4); goto advance;
        case 0x05: reg = uleb(r); set_reg(s, reg, 1, (int64_t)uleb(r) * daf); continue;
        case 0x06: reg = uleb(r); goto restore;
        case 0x07: reg = uleb(r); set_reg(s, reg, 2, 0); continue;
        case 0x08: reg = uleb(r); set_reg(s, reg, 0, 0); continue;
        case 0x09:
            reg = uleb(r);
            (void)uleb(r);
            if (reg == R_RBP || reg == R_RA || reg == R_RSP)
                return false;
            continue;
        case 0x0a:
            if (nsaved == 4)
                return false;
            saved[nsaved++] = *s;
            continue;
        case 0x0b:
            if (nsaved == 0)
                return false;
            *s = saved[--nsaved];       /* the CFA too, as libgcc does */
            continue;
        case 0x0c: s->cfa_reg = (int)uleb(r); s->cfa_off = (int64_t)uleb(r); continue;
        case 0x0d: s->cfa_reg = (int)uleb(r); continue;
        case 0x0e: s->cfa_off = (int64_t)uleb(r); continue;
        case 0x10: case 0x16: {
            reg = uleb(r);
            uint64_t len = uleb(r);
            if (reg == R_RBP || reg == R_RA || reg == R_RSP || len > (uint64_t)(r->end - r->p))
                return false;
            r->p += len;
            continue;
        }
        case 0x11: reg = uleb(r); set_reg(s, reg, 1, sleb(r) * daf); continue;
        case 0x12: s->cfa_reg = (int)uleb(r); s->cfa_off = sleb(r) * daf; continue;
        case 0x13: s->cfa_off = sleb(r) * daf; continue;
        case 0x14: case 0x15:
            reg = uleb(r);
            if (op == 0x14)
                (void)uleb(r);
            else
                (void)sleb(r);
            if (reg == R_RBP || reg == R_RA || reg == R_RSP)
                return false;
            continue;
        case 0x2e: (void)uleb(r); continue;
        case 0x2f: reg = uleb(r); set_reg(s, reg, 1, -(int64_t)uleb(r) * daf); continue;
        default: return false;          /* set_loc, def_cfa_expression, ... */
        }
    advance:
        loc += delta * caf;
        if (target != 0 && loc > target)
            return !r->bad;
        continue;
    restore:
        if (init == NULL)
            return false;
        if (reg == R_RBP)
            s->rbp = init->rbp, s->rbp_off = init->rbp_off;
        else if (reg == R_RA)
            s->ra = init->ra, s->ra_off = init->ra_off;
        continue;
    }
    return !r->bad;
}

/* The rule at pc (a return address minus one) from its FDE. */
static void rule_from_fde(const uint8_t *fde, uintptr_t pc, struct lg_fu_rule *out)
{
    out->kind = K_UNKNOWN;
    uint32_t len;
    memcpy(&len, fde, 4);
    if (len == 0 || len == 0xffffffffu)
        return;
    struct rd r = {fde + 8, fde + 4 + len, false};
    int32_t cie_off;
    memcpy(&cie_off, fde + 4, 4);
    const uint8_t *cie = fde + 4 - cie_off;
    uint32_t clen;
    memcpy(&clen, cie, 4);
    uint32_t cid;
    memcpy(&cid, cie + 4, 4);
    if (clen == 0 || clen == 0xffffffffu || cid != 0)
        return;
    struct rd c = {cie + 8, cie + 4 + clen, false};
    uint8_t version = (uint8_t)fixed(&c, 1);
    const char *aug = (const char *)c.p;
    size_t alen = strnlen(aug, (size_t)(c.end - c.p));
    c.p += alen + 1;
    if (version != 1 && version != 3)
        return;
    uint64_t caf = uleb(&c);
    int64_t daf = sleb(&c);
    uint64_t ra_reg = version == 1 ? fixed(&c, 1) : uleb(&c);
    if (ra_reg != R_RA || c.bad)
        return;
    uint8_t fde_enc = 0;
    if (aug[0] == 'z') {
        uint64_t zlen = uleb(&c);
        if (c.bad || zlen > (uint64_t)(c.end - c.p))
            return;
        struct rd z = {c.p, c.p + zlen, false};
        for (size_t i = 1; i < alen; i++) {
            if (aug[i] == 'R')
                fde_enc = (uint8_t)fixed(&z, 1);
            else if (aug[i] == 'L')
                (void)fixed(&z, 1);
            else if (aug[i] == 'P') {
                uint8_t penc = (uint8_t)fixed(&z, 1);
                (void)encoded(&z, penc & 0x7f);
            } else
                return;                 /* 'S' (a signal frame) and the rest */
        }
        if (z.bad)
            return;
        c.p += zlen;
    } else if (alen != 0)
        return;
    struct cfa_state init = {R_RSP, 8, 0, 0, 0, 0};
    struct rd ci = c;
    if (!run_cfa(&ci, &init, NULL, caf, daf, 0, 0))
        return;
    uintptr_t start = encoded(&r, fde_enc);
    uintptr_t range = encoded(&r, fde_enc & 0x0f);
    if (r.bad || pc < start || pc - start >= range)
        return;
    if (aug[0] == 'z') {
        uint64_t zlen = uleb(&r);
        if (r.bad || zlen > (uint64_t)(r.end - r.p))
            return;
        r.p += zlen;
    }
    struct cfa_state s = init;
    if (!run_cfa(&r, &s, &init, caf, daf, start, pc))
        return;
    if (s.ra == 2) {                    /* _start: the outermost frame */
        out->kind = K_END;
        return;
    }
    if (s.ra != 1 || s.ra_off != -8 || (s.cfa_reg != R_RSP && s.cfa_reg != R_RBP))
        return;
    if (s.cfa_off <= 0 || s.cfa_off > (1 << 30) || s.rbp == 2)
        return;
    if (s.rbp == 1 && (s.rbp_off < -32768 || s.rbp_off > 32767))
        return;
    out->cfa_off = (int32_t)s.cfa_off;
    out->rbp_off = s.rbp == 1 ? (int16_t)s.rbp_off : 0;
    out->kind = s.cfa_reg == R_RSP ? K_RSP : K_RBP;
    if (s.rbp == 1 && s.rbp_off == 0)
        out->kind = K_UNKNOWN;          /* 0 means unchanged below */
}

struct find_arg {
    uintptr_t pc;
    struct lg_fu_rule *out;
};

/* The rule at pc from a module's .eh_frame_hdr search table. */
static void rule_from_hdr(const uint8_t *h, uintptr_t pc, struct lg_fu_rule *out)
{
    if (h[0] != 1 || h[3] != 0x3b)      /* version 1, table datarel sdata4 */
        return;
    struct rd r = {h + 4, h + 4 + 16, false};
    (void)encoded(&r, h[1]);            /* eh_frame_ptr */
    uint64_t count;
    if (h[2] == 0x03)
        count = fixed(&r, 4);
    else if (h[2] == 0x0b)
        count = (uint64_t)(int64_t)(int32_t)fixed(&r, 4);
    else
        return;
    if (r.bad || count == 0 || count > (1u << 28))
        return;
    const int32_t *t = (const int32_t *)(const void *)r.p;
    size_t lo = 0, hi = count;          /* last entry with start <= pc */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)(h + t[2 * mid]) <= pc)
            lo = mid;
        else
            hi = mid;
    }
    if ((uintptr_t)(h + t[2 * lo]) > pc)
        return;
    rule_from_fde(h + t[2 * lo + 1], pc, out);
}

/* Runs under the loader's lock, so the module cannot go away meanwhile. */
static int find_rule(struct dl_phdr_info *info, size_t size, void *argp)
{
    (void)size;
    struct find_arg *a = argp;
    bool inside = false;
    const uint8_t *hdr = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && a->pc >= s && a->pc < s + ph->p_memsz)
            inside = true;
        else if (ph->p_type == PT_GNU_EH_FRAME)
            hdr = (const uint8_t *)s;
    }
    if (!inside)
        return 0;
    if (hdr != NULL)
        rule_from_hdr(hdr, a->pc, a->out);
    return 1;
}

static void lookup_rule(uintptr_t ip, struct lg_fu_rule *out)
{
    out->ip = ip;
    out->kind = K_UNKNOWN;
    struct find_arg a = {ip - 1, out}; /* inside the call, not after it */
    dl_iterate_phdr(find_rule, &a);
}

/* ---- the unwinder --------------------------------------------------------- */

static inline size_t slot_of(uintptr_t ip)
{
    return (size_t)((ip * 0x9E3779B97F4A7C15ull) >> (64 - LG_FU_CACHE_BITS));
}

static atomic_uint generation;          /* bumped by every dlclose */

/* A module may have gone and another come at its address: every thread
 * drops its rules before its next unwind. */
void lg_fu_forget(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
}

/* ---- replaying a stack unwound before -----------------------------------
 * An unwind is a pure function of its starting state (ip, sp, rbp), the
 * rules of the ips it meets and the words it reads from the stack. So each
 * successful unwind is kept (per thread, by its first program frame) with
 * the address and value of every word it read; the next unwind from the
 * same state first re-reads those words, and when every one still holds
 * its value the frames are the same ones, found without a rule lookup:
 * independent loads instead of a chain of dependent ones. A program that
 * allocates in a loop, or increfs and decrefs in one function, unwinds
 * each of its stacks once. */

struct recorder {
    struct lg_fu_memo *m;               /* NULL: not recording */
    unsigned n;
    bool rbp_read;                      /* the starting rbp decided something */
};

/* Keeps the word at `at` (value v) among those a replay re-reads. */
static inline void note(struct recorder *r, uintptr_t at, uintptr_t v)
{
    if (r->m == NULL)
        return;
    if (r->n < LG_FU_MEMO_LOADS) {
        r->m->load_at[r->n] = at;
        r->m->load_val[r->n] = v;
        r->n++;
    } else
        r->m = NULL;                    /* too deep to keep */
}

static inline uintptr_t load(struct recorder *r, uintptr_t at)
{
    uintptr_t v = *(const uintptr_t *)at;
    note(r, at, v);
    return v;
}

/* The first entry of the set an unwind from (ip, sp) is kept in. A set
 * holds LG_FU_MEMO_WAYS unwinds: one function called from several callers
 * at one stack depth (rc_incref from four places of one loop) starts each
 * unwind from the same (ip, sp), and a single entry would be rewritten by
 * every other call. */
static inline size_t memo_set(uintptr_t ip, uintptr_t sp)
{
    size_t sets = (1u << LG_FU_MEMO_BITS) / LG_FU_MEMO_WAYS;
    return (size_t)((((ip ^ (sp << 20)) * 0x9E3779B97F4A7C15ull) >> 32) * sets >> 32) * LG_FU_MEMO_WAYS;
}

static bool replay(const struct lg_fu_memo *m)
{
    if (m->nloads > 0 && *(const uintptr_t *)m->load_at[0] != m->load_val[0])
        return false;                   /* another caller: the usual miss */
    uintptr_t diff = 0;
    for (unsigned i = 1; i < m->nloads; i++)
        diff |= *(const uintptr_t *)m->load_at[i] ^ m->load_val[i];
    return diff == 0;
}

static inline bool memo_matches(const struct lg_fu_memo *m, uintptr_t ip, uintptr_t sp,
                                uintptr_t rbp, int max)
{
    return m->ip == ip && m->sp == sp && (!m->rbp_read || m->rbp == rbp) &&
           m->max == (unsigned)max && replay(m);
}

/* From the first program frame (ip, sp, rbp) outward. */
/* rbp is about to decide something: the load it came from (if any) joins
 * the recorded ones. A frame without frame pointers saves rbp as any other
 * callee-saved register, often holding a loop counter or a pointer; a load
 * of it that no later frame reads must not stop a replay. */
static inline void use_rbp(struct recorder *r, uintptr_t *rbp_at, uintptr_t rbp, bool *first_rbp)
{
    r->rbp_read |= *first_rbp;
    if (*rbp_at != 0)
        note(r, *rbp_at, rbp);
    *rbp_at = 0;
}

/* From the first program frame (ip, sp, rbp) outward. */
static int unwind(void **buf, int max, struct lg_fu_rule *cache, uintptr_t ip, uintptr_t sp,
                  uintptr_t rbp, uintptr_t hi, struct recorder *r)
{
    int n = 0;
    bool first_rbp = true;              /* rbp is still the starting one: in
                                           code without frame pointers, any
                                           value, which matters only if read */
    uintptr_t rbp_at = 0;               /* where rbp was loaded from, not yet
                                           recorded; 0: nowhere or recorded */
    while (n < max && ip != 0) {
        if (lg_ip_is_own(ip)) {         /* left out; the shim keeps frame */
            uintptr_t cfa = rbp + 16;   /* pointers: rbp -> saved rbp, ra */
            use_rbp(r, &rbp_at, rbp, &first_rbp);
            if (rbp < sp || cfa > hi)
                return -1;
            ip = load(r, rbp + 8);
            rbp_at = rbp;
            rbp = *(const uintptr_t *)rbp_at;
            first_rbp = false;
            sp = cfa;
            continue;
        }
        buf[n++] = (void *)ip;
        struct lg_fu_rule *ru = &cache[slot_of(ip)];
        if (LG_UNLIKELY(ru->ip != ip || ru->kind == K_EMPTY))
            lookup_rule(ip, ru);
        if (ru->kind == K_END)
            break;
        if (ru->kind == K_UNKNOWN)
            return -1;
        if (ru->kind == K_RBP)
            use_rbp(r, &rbp_at, rbp, &first_rbp);
        uintptr_t cfa = (ru->kind == K_RSP ? sp : rbp) + (uintptr_t)(intptr_t)ru->cfa_off;
        if (cfa <= sp || cfa > hi || cfa - 8 < sp)
            return -1;
        uintptr_t next = load(r, cfa - 8);
        if (ru->rbp_off != 0) {
            uintptr_t at = cfa + (uintptr_t)(intptr_t)ru->rbp_off;
            if (at < sp || at + 8 > hi)
                return -1;
            rbp_at = at;
            rbp = *(const uintptr_t *)at;
            first_rbp = false;
        }
        sp = cfa;
        ip = next;
    }
    return n;
}

int lg_fu_backtrace(void **buf, int max, struct lg_fu_cache *fc, const uintptr_t *fp,
                    struct lg_fu_memo **kept)
{
    *kept = NULL;
    unsigned gen = atomic_load_explicit(&generation, memory_order_acquire);
    if (LG_UNLIKELY(fc->gen != gen)) {
        memset(fc->rules, 0, sizeof fc->rules);
        for (size_t i = 0; i < sizeof fc->memo / sizeof fc->memo[0]; i++)
            fc->memo[i].ip = 0;
        fc->gen = gen;
    }
    if (LG_UNLIKELY(stk_hi == 0))
        stack_bounds();
    uintptr_t lo = (uintptr_t)fp, hi = stk_hi;
    if (lo < stk_lo || lo + 16 > hi)
        return -1;                      /* not on the thread's stack */
    uintptr_t ip = fp[1], sp = (uintptr_t)(fp + 2), rbp = fp[0];
    while (ip != 0 && lg_ip_is_own(ip)) {   /* the hook's frames on top */
        uintptr_t cfa = rbp + 16;
        if (rbp < sp || cfa > hi)
            return -1;
        ip = ((const uintptr_t *)rbp)[1];
        rbp = ((const uintptr_t *)rbp)[0];
        sp = cfa;
    }
    if (ip == 0 || max <= 0)
        return 0;
    size_t set = memo_set(ip, sp);
    for (size_t w = 0; w < LG_FU_MEMO_WAYS; w++) {
        struct lg_fu_memo *m = &fc->memo[set + w];
        if (memo_matches(m, ip, sp, rbp, max)) {
            memcpy(buf, m->frames, sizeof *buf * m->n);
            *kept = m;
            return (int)m->n;
        }
    }
    /* not kept: replace the set's entries in turn */
    struct lg_fu_memo *m = &fc->memo[set + fc->victim[set / LG_FU_MEMO_WAYS]++ % LG_FU_MEMO_WAYS];
    m->ip = 0;                          /* rewritten below, kept if complete */
    struct recorder r = {max <= LG_FU_MEMO_DEPTH ? m : NULL, 0, false};
    int n = unwind(buf, max, fc->rules, ip, sp, rbp, hi, &r);
    if (n >= 0 && r.m != NULL) {
        m->sp = sp;
        m->rbp = rbp;
        m->rbp_read = r.rbp_read;
        m->max = (unsigned)max;
        m->n = (unsigned)n;
        m->nloads = r.n;
        memcpy(m->frames, buf, sizeof *buf * (size_t)n);
        m->id = UINT32_MAX;
        m->ip = ip;
        *kept = m;
    }
    return n;
}
