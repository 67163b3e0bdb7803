/* snapshot.c - writes one snapshot of the live heap as a graph: the blocks
 * sorted by address, the refcount objects with their precise edges (each
 * type's traverse), the conservative edges found by scanning every live
 * block for pointers to other live blocks, the root areas and the pointers
 * found in them, the stack table, the module map and the refcount history.
 * Passes, in order:
 *   1. modules (dl_iterate_phdr) - before any shim lock, since a thread that
 *      holds the loader lock may be waiting in a hook;
 *   2. freeze: every shard lock of the object and block maps (no block can be
 *      freed while it is scanned);
 *   3. blocks collected and sorted; objects collected, each given its block;
 *   4. precise edges and every string (type and field names) gathered;
 *   5. root regions (regions.c), which need the sorted blocks;
 *   6. sections written in the order lg_trace.h fixes; the record sections
 *      packed (lg_pack.h) as they are written, EDGES and ROOTS while
 *      scanning.
 * Runs under the reentrancy guard: whatever it calls allocates untracked. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <sys/auxv.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockbits.h"
#include "gate.h"
#include "lg_shim.h"
#include "objects.h"
#include "rcworld.h"
#include "snapshot.h"
#define UNW_LOCAL_ONLY
#include <libunwind.h>


#define pair lg_bpair

struct objref {
    uint64_t addr;
    struct lg_obj *rec;
    uint32_t block;
};

/* ---- growable arrays in the shim's pages -------------------------------- */

struct vec {
    char *p;
    size_t n, cap, elem;
};

static void *vec_push(struct vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4096;
        char *np = lg_map_pages(cap * v->elem);
        if (np == NULL)
            return NULL;
        if (v->p) {
            memcpy(np, v->p, v->n * v->elem);
            lg_unmap_pages(v->p, v->cap * v->elem);
        }
        v->p = np;
        v->cap = cap;
    }
    return v->p + v->elem * v->n++;
}

static void vec_free(struct vec *v)
{
    if (v->p)
        lg_unmap_pages(v->p, v->cap * v->elem);
    memset(v, 0, sizeof *v);
}

/* ---- strings -------------------------------------------------------------- */

struct str {
    const char *s;
    uint32_t len;
    uint32_t hash;
};
static struct vec strs = {.elem = sizeof(struct str)};
static uint32_t *str_slots;             /* id + 1, 0 = empty */
static size_t str_cap;

static uint32_t str_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void str_rehash(size_t cap)
{
    uint32_t *n = lg_map_pages(cap * sizeof *n);
    if (n == NULL)
        return;
    for (size_t i = 0; i < strs.n; i++) {
        struct str *x = (struct str *)strs.p + i;
        size_t j = x->hash & (cap - 1);
        while (n[j])
            j = (j + 1) & (cap - 1);
        n[j] = (uint32_t)i + 1;
    }
    if (str_slots)
        lg_unmap_pages(str_slots, str_cap * sizeof *str_slots);
    str_slots = n;
    str_cap = cap;
}

static uint32_t intern(const char *s)
{
    if (s == NULL)
        return LG_NONE;
    size_t len = strnlen(s, 4096);
    uint32_t h = str_hash(s, len);
    if (str_slots == NULL || (strs.n + 1) * 2 > str_cap)
        str_rehash(str_cap ? str_cap * 2 : 1024);
    if (str_slots == NULL)
        return LG_NONE;
    size_t j = h & (str_cap - 1);
    for (; str_slots[j]; j = (j + 1) & (str_cap - 1)) {
        struct str *x = (struct str *)strs.p + (str_slots[j] - 1);
        if (x->hash == h && x->len == len && memcmp(x->s, s, len) == 0)
            return str_slots[j] - 1;
    }
    char *copy = lg_scratch_alloc(len + 1);   /* the caller's buffer may be reused */
    struct str *x = vec_push(&strs);
    if (copy == NULL || x == NULL)
        return LG_NONE;
    memcpy(copy, s, len);
    *x = (struct str){copy, (uint32_t)len, h};
    str_slots[j] = (uint32_t)strs.n;
    return (uint32_t)strs.n - 1;
}

static void strings_reset(void)
{
    vec_free(&strs);
    if (str_slots)
        lg_unmap_pages(str_slots, str_cap * sizeof *str_slots);
    str_slots = NULL;
    str_cap = 0;
}

/* ---- sorting and lookup ---------------------------------------------------- */

static void insertion_sort(struct pair *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct pair t = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1].addr > t.addr) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = t;
    }
}

/* In-place MSD radix sort (American flag sort) on the address, 8 bits per
 * level from the highest bit in which the addresses differ: no second
 * buffer, so sorting 3.2M blocks needs no memory beyond the copy. */
static void radix_sort(struct pair *a, size_t n, int shift)
{
    if (n < 48 || shift < 0) {
        insertion_sort(a, n);
        return;
    }
    size_t count[256] = {0}, start[256], next[256];
    for (size_t i = 0; i < n; i++)
        count[(a[i].addr >> shift) & 255]++;
    size_t sum = 0;
    for (int d = 0; d < 256; d++) {
        start[d] = next[d] = sum;
        sum += count[d];
    }
    for (int d = 0; d < 256; d++) {
        size_t end = start[d] + count[d];
        while (next[d] < end) {
            struct pair t = a[next[d]];
            int k = (int)((t.addr >> shift) & 255);
            while (k != d) {            /* cycle t into its bucket */
                struct pair u = a[next[k]];
                a[next[k]++] = t;
                t = u;
                k = (int)((t.addr >> shift) & 255);
            }
            a[next[d]++] = t;
        }
    }
    for (int d = 0; d < 256; d++)
        if (count[d] > 1)
            radix_sort(a + start[d], count[d], shift - 8);
}

/* LSD radix sort, at most 12 bits a pass (as few passes as the address
 * range needs: 2 for a heap of 256 MiB), with a second buffer: faster than
 * the in-place sort on millions of blocks (sequential passes), used when
 * the buffer fits (the exit snapshot has just released the tables). */
static bool lsd_sort(struct pair *a, size_t n, int bits)
{
    enum { MAX_DIGIT = 12 };
    int span = bits - 4;                /* addresses are 16-aligned */
    int passes = (span + MAX_DIGIT - 1) / MAX_DIGIT;
    if (passes < 1)
        return false;
    int digit = (span + passes - 1) / passes;
    size_t buckets = (size_t)1 << digit;
    struct pair *tmp = lg_map_pages_filled(n * sizeof *tmp);
    size_t *count = lg_map_pages(sizeof *count << MAX_DIGIT);
    if (tmp == NULL || count == NULL) {
        if (tmp)
            lg_unmap_pages(tmp, n * sizeof *tmp);
        if (count)
            lg_unmap_pages(count, sizeof *count << MAX_DIGIT);
        return false;
    }
    struct pair *src = a, *dst = tmp;
    for (int p = 0, shift = 4; p < passes; p++, shift += digit) {
        uint64_t mask = buckets - 1;
        memset(count, 0, sizeof *count * buckets);
        for (size_t i = 0; i < n; i++)
            count[(src[i].addr >> shift) & mask]++;
        size_t sum = 0;
        for (size_t d = 0; d < buckets; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].addr >> shift) & mask]++] = src[i];
        struct pair *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    lg_unmap_pages(tmp, n * sizeof *tmp);
    lg_unmap_pages(count, sizeof *count << MAX_DIGIT);
    return true;
}

static void sort_pairs(struct pair *a, size_t n, bool may_use_buffer)
{
    if (n < 2)
        return;
    uint64_t lo = a[0].addr, hi = a[0].addr;
    for (size_t i = 1; i < n; i++) {
        if (a[i].addr < lo)
            lo = a[i].addr;
        if (a[i].addr > hi)
            hi = a[i].addr;
    }
    int top = 63 - __builtin_clzll((lo ^ hi) | 1);   /* highest differing bit */
    bool aligned = ((lo | hi) & 15) == 0;
    for (size_t i = 0; aligned && i < n; i++)
        aligned = (a[i].addr & 15) == 0;
    if (may_use_buffer && aligned && n > 100000 && lsd_sort(a, n, top + 1))
        return;
    radix_sort(a, n, top >= 7 ? top - 7 : 0);
}

struct heap {
    struct pair *b;                     /* sorted blocks */
    size_t n, cap;
    uint64_t lo, hi;                    /* lowest start, highest end */
    uint32_t *obj_of;                   /* block -> object index, or LG_NONE */
    struct chunk_ix *cix;               /* 64 KiB chunk -> its blocks (hash) */
    size_t cix_cap;
    bool glibc;                         /* blocks carry glibc chunk headers */
    struct objref *objs;
    size_t nobj;
};

/* glibc's malloc keeps pointers to chunk headers (the arena's top chunk,
 * last_remainder); the header of the chunk after a block overlaps the
 * block's last 8 bytes, so such a pointer looks like an interior pointer
 * into a live block. It is the allocator's, never the program's. */
static bool is_next_chunk(uint64_t a, uint64_t v)
{
    uint64_t r = lg_real_block(a);      /* a headered block's chunk starts 16 earlier */
    uint64_t size = ((const uint64_t *)(uintptr_t)r)[-1];
    return !(size & 2) && v == r - 16 + (size & ~(uint64_t)7);
}

/* ---- chunk index: which blocks start in each 64 KiB of address space ------
 * Narrows the binary search of find_block to one chunk's blocks (and a
 * small table that stays in cache); a value in no indexed chunk falls back
 * to searching all blocks. */
#define CHUNK_SHIFT 16

struct chunk_ix {
    uint64_t chunk;                     /* address >> CHUNK_SHIFT, + 1 (0 = empty) */
    uint32_t first, end;                /* blocks [first, end) start in it */
};

static void build_chunk_index(struct heap *h)
{
    size_t chunks = 0;
    for (size_t i = 0; i < h->n; i++)
        if (i == 0 || (h->b[i].addr >> CHUNK_SHIFT) != (h->b[i - 1].addr >> CHUNK_SHIFT))
            chunks++;
    size_t cap = 16;
    while (cap < chunks * 2)
        cap *= 2;
    h->cix = lg_map_pages(cap * sizeof *h->cix);
    if (h->cix == NULL)
        return;
    h->cix_cap = cap;
    for (size_t i = 0; i < h->n;) {
        uint64_t c = h->b[i].addr >> CHUNK_SHIFT;
        size_t j = i + 1;
        while (j < h->n && (h->b[j].addr >> CHUNK_SHIFT) == c)
            j++;
        size_t k = (size_t)((c * 0x9E3779B97F4A7C15ull) >> 40) & (cap - 1);
        while (h->cix[k].chunk != 0)
            k = (k + 1) & (cap - 1);
        h->cix[k] = (struct chunk_ix){c + 1, (uint32_t)i, (uint32_t)j};
        i = j;
    }
}

/* [*lo, *n) to search for the last block with address <= v */
static inline void narrow(const struct heap *h, uint64_t v, size_t *lo, size_t *n)
{
    *lo = 0;
    *n = h->n;
    if (h->cix == NULL)
        return;
    uint64_t c = v >> CHUNK_SHIFT;
    size_t k = (size_t)((c * 0x9E3779B97F4A7C15ull) >> 40) & (h->cix_cap - 1);
    for (; h->cix[k].chunk != 0; k = (k + 1) & (h->cix_cap - 1)) {
        if (h->cix[k].chunk != c + 1)
            continue;
        uint32_t first = h->cix[k].first;
        if (v < h->b[first].addr) {     /* before the chunk's first block: the */
            *lo = first ? first - 1 : 0; /* block before may reach into it */
            *n = 1;
        } else {
            *lo = first;
            *n = h->cix[k].end - first;
        }
        return;
    }
}

/* The last block with address <= v (b[0].addr <= v), searched outward
 * from block k: 1, 2, 4 ... blocks away until the steps pass v, then
 * halving between the last two; those blocks' entries are near k's, in
 * cache. SIZE_MAX when v lies more than NEAR_BLOCKS blocks away. */
#define NEAR_BLOCKS 64

static inline size_t search_near(const struct pair *b, size_t n, size_t k, uint64_t v)
{
    size_t lo, hi, step = 1;            /* b[lo].addr <= v < b[hi].addr (b[n]: past all) */
    if (b[k].addr <= v) {
        lo = k;
        for (;;) {
            hi = lo + step;
            if (hi >= n) {
                hi = n;
                break;
            }
            if (b[hi].addr > v)
                break;
            lo = hi;
            if (hi - k >= NEAR_BLOCKS)
                return SIZE_MAX;
            step *= 2;
        }
    } else {
        hi = k;
        for (;;) {
            lo = hi > step ? hi - step : 0;
            if (b[lo].addr <= v)
                break;
            hi = lo;
            if (k - hi >= NEAR_BLOCKS)
                return SIZE_MAX;
            step *= 2;
        }
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].addr <= v)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Block index whose extent holds v, or LG_NONE; *start: points at its start
 * (or at the object inside it). *hint: the block found last, or one near
 * where v may point (LG_NONE: none): an array of pointers to blocks
 * allocated one after another points into that block or one a few blocks
 * on, a list's next pointer to a block allocated just before or after the
 * one that holds it, and then a short search among the hint's neighbours
 * replaces the search through the chunk index (a cache miss a step). */
static uint32_t find_block_near(const struct heap *h, uint64_t v, bool *start, uint32_t *hint)
{
    if (v < h->lo || v >= h->hi)
        return LG_NONE;
    const struct pair *b = h->b;
    size_t i = SIZE_MAX;
    uint32_t k = *hint;
    if (k != LG_NONE)
        i = search_near(b, h->n, k, v);
    if (i == SIZE_MAX) {
        size_t lo, n;
        narrow(h, v, &lo, &n);
        while (n > 1) {                 /* last block with addr <= v, branch-free */
            size_t half = n / 2;
            lo = b[lo + half].addr <= v ? lo + half : lo;
            n -= half;
        }
        if (b[lo].addr > v)
            return LG_NONE;
        i = lo;
    }
    *hint = (uint32_t)i;
    uint64_t size = lg_meta_size(b[i].meta);
    if (v >= b[i].addr + (size ? size : 1))
        return LG_NONE;
    *start = v == b[i].addr ||
             (h->obj_of && h->obj_of[i] != LG_NONE && h->objs[h->obj_of[i]].addr == v);
    if (!*start && h->glibc && is_next_chunk(b[i].addr, v))
        return LG_NONE;
    return (uint32_t)i;
}

static uint32_t find_block(const struct heap *h, uint64_t v, bool *start)
{
    uint32_t hint = LG_NONE;
    return find_block_near(h, v, start, &hint);
}

static uint32_t find_exact(const struct heap *h, uint64_t a)
{
    bool start;
    uint32_t i = find_block(h, a, &start);
    return i != LG_NONE && h->b[i].addr == a ? i : LG_NONE;
}

/* ---- precise edges ---------------------------------------------------------- */

struct precise_ctx {
    struct heap *h;
    uint32_t from;
    struct vec *edges;
};

static int on_edge(void *child, const char *field, void *arg)
{
    struct precise_ctx *c = arg;
    uint32_t to = LG_NONE;
    struct lg_shard *s = lg_map_shard(&lg_objects, (uintptr_t)child);
    uint64_t v;
    if (lg_map_get(s, (uintptr_t)child, &v)) {
        struct lg_obj *r = (struct lg_obj *)(uintptr_t)v;
        to = c->h->objs[r->snap_index].block;
    } else {
        bool start;
        to = find_block(c->h, (uintptr_t)child, &start);
    }
    if (to == LG_NONE)
        return 0;                       /* a static or untracked object */
    struct lg_edge *e = vec_push(c->edges);
    if (e)
        *e = (struct lg_edge){c->from, to, LG_NONE, intern(field), LG_EDGE_PRECISE, 0};
    return 0;
}

/* ---- scanning ------------------------------------------------------------------ */

static uint64_t n_edges, n_roots;
static uint64_t last_blocks, last_objects;

static void scan_block(const struct heap *h, uint32_t i)
{
    const uint64_t *w = (const uint64_t *)(uintptr_t)h->b[i].addr;
    size_t words = lg_meta_size(h->b[i].meta) / 8;
    if (h->b[i].addr & 7)
        return;
    uint32_t hint = i;                  /* its neighbours first (find_block_near) */
    for (size_t k = 0; k < words; k++) {
        uint64_t v = w[k];
        if (v < h->lo || v >= h->hi)
            continue;
        bool start;
        uint32_t to = find_block_near(h, v, &start, &hint);
        if (to == LG_NONE)
            continue;
        struct lg_edge e = {i, to, (uint32_t)(k * 8), LG_NONE,
                            start ? LG_EDGE_START : LG_EDGE_INTERIOR, 0};
        lg_out_record(&e);
        n_edges++;
    }
}

static void scan_words(const struct heap *h, const uint64_t *w, size_t words,
                       uint64_t at, uint32_t region)
{
    for (size_t k = 0; k < words; k++) {
        uint64_t v = w[k];
        if (v < h->lo || v >= h->hi)
            continue;
        bool start;
        uint32_t to = find_block(h, v, &start);
        if (to == LG_NONE)
            continue;
        struct lg_root r = {at + k * 8, region, to, start ? LG_EDGE_START : LG_EDGE_INTERIOR, 0};
        lg_out_record(&r);
        n_roots++;
    }
}

/* Reads a root region through process_vm_readv, so a mapping another thread
 * unmaps meanwhile gives an error, not a crash; pages never touched
 * (mincore) are skipped. */
#include <sys/mman.h>
#include <sys/uio.h>
static void scan_region(const struct heap *h, const struct lg_rregion *r, uint32_t idx,
                        uint64_t *buf, size_t buf_words)
{
    uint64_t s = (r->start + 7) & ~(uint64_t)7, e = r->end & ~(uint64_t)7;
    unsigned char vec[256];
    pid_t pid = getpid();
    while (s < e) {
        uint64_t page = s & ~(uint64_t)4095;
        uint64_t span_end = page + 256 * 4096;
        if (span_end > e)
            span_end = e;
        size_t npages = (size_t)((span_end - page + 4095) / 4096);
        bool all = mincore((void *)(uintptr_t)page, npages * 4096, vec) != 0;
        for (size_t p = 0; p < npages;) {
            if (!all && !(vec[p] & 1)) {
                p++;
                continue;
            }
            size_t q = p;
            while (q < npages && (all || (vec[q] & 1)) && (q - p + 1) * 512 <= buf_words)
                q++;
            uint64_t a = page + p * 4096, b = page + q * 4096;
            if (a < s)
                a = s;
            if (b > span_end)
                b = span_end;
            if (b > a) {
                struct iovec local = {buf, (size_t)(b - a)};
                struct iovec remote = {(void *)(uintptr_t)a, (size_t)(b - a)};
                ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
                if (got < 0 && (errno == ENOSYS || errno == EPERM))
                    scan_words(h, (const uint64_t *)(uintptr_t)a, (size_t)(b - a) / 8, a, idx);
                else if (got > 0)
                    scan_words(h, buf, (size_t)got / 8, a, idx);
            }
            p = q;
        }
        s = span_end;
    }
}

/* ---- the snapshot ---------------------------------------------------------------- */

static lg_lock snap_lock;
static uint32_t seq;

void lg_snapshot_fork_lock(void)
{
    lg_lock_take(&snap_lock);
}

void lg_snapshot_fork_unlock(void)
{
    lg_lock_drop(&snap_lock);
}

void lg_snapshot_fork_child(void)
{
    seq = 0;
    lg_writer_fork_child();
    lg_lock_drop(&snap_lock);
}

static void write_strings(void)
{
    uint64_t at = lg_out_begin(LG_SEC_STRINGS);
    uint32_t n = (uint32_t)strs.n;
    lg_out_write(&n, sizeof n);
    for (size_t i = 0; i < strs.n; i++) {
        struct str *x = (struct str *)strs.p + i;
        lg_out_write(&x->len, sizeof x->len);
        lg_out_write(x->s, x->len);
    }
    lg_out_end(at);
}

static void write_modules(const struct lg_modules *m)
{
    uint64_t at = lg_out_begin(LG_SEC_MODULES);
    for (size_t i = 0; i < m->n; i++) {
        const struct lg_mod *x = &m->mods[i];
        struct lg_module r = {x->base, x->start, x->end, x->path_len, x->build_id_len};
        lg_out_write(&r, sizeof r);
        lg_out_write(x->path, x->path_len);
        lg_out_write(x->build_id, x->build_id_len);
    }
    lg_out_end(at);
}

static uint32_t write_stacks(void)
{
    uint64_t at = lg_out_begin_packed(LG_SEC_STACKS);
    uint32_t n = lg_stacks_count();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t depth;
        const uintptr_t *f = lg_stack_frames(i, &depth);
        lg_out_stack(f != NULL ? (const uint64_t *)f : NULL, f != NULL ? depth : 0);
    }
    lg_out_end_packed(at);
    return n;
}

/* Which of the modules loaded in turn at one address each stack's frames
 * belong to (docs/trace-format.md, EPOCHS). */
static void write_epochs(const struct lg_modules *m, uint32_t nstacks)
{
    uint64_t at = lg_out_begin(LG_SEC_EPOCHS);
    struct lg_epochs e = {(uint32_t)m->n, nstacks};
    lg_out_write(&e, sizeof e);
    for (size_t i = 0; i < m->n; i++)
        lg_out_write(&m->mods[i].unload, sizeof m->mods[i].unload);
    for (uint32_t i = 0; i < nstacks; i++) {
        uint32_t epoch = lg_stack_epoch(i);
        lg_out_write(&epoch, sizeof epoch);
    }
    lg_out_end(at);
}

/* Copies the live blocks out of the map and sorts them. At exit (consume)
 * each shard's array is released as soon as it is copied, so the copy
 * costs almost no extra memory. */
#define LIBC_BLOCKS_MAX 4097

/* Sorted indices of the blocks that hold threads' TLS vectors. */
static size_t libc_blocks(const struct heap *h, uint32_t *out)
{
    uintptr_t dtv[LIBC_BLOCKS_MAX];
    size_t nd = lg_thread_dtvs(dtv, LIBC_BLOCKS_MAX);
    size_t n = 0;
    for (size_t i = 0; i < nd; i++) {
        bool start;
        uint32_t b = find_block(h, dtv[i], &start);
        if (b == LG_NONE)
            continue;
        size_t k = n++;                 /* insertion sort: a few per thread */
        for (; k > 0 && out[k - 1] > b; k--)
            out[k] = out[k - 1];
        out[k] = b;
    }
    return n;
}

/* Per stack, whether the dynamic loader itself called malloc (its first
 * frame lies in ld.so): the loader's link maps, scope arrays and
 * _dl_find_object segments are its bookkeeping, never a leak (glibc frees
 * them only in __libc_freeres, which memcheck runs at exit). NULL when the
 * loader is not found. */
static const uint8_t *loader_stacks(const struct lg_modules *m, uint32_t nstacks)
{
    uint64_t base = getauxval(AT_BASE);
    const struct lg_mod *ld = NULL;
    for (size_t i = 0; i < m->n && ld == NULL; i++)
        if (m->mods[i].unload == LG_NONE && base != 0 && m->mods[i].base == base)
            ld = &m->mods[i];
    for (size_t i = 0; i < m->n && ld == NULL; i++)   /* run as ld.so PROGRAM */
        if (m->mods[i].unload == LG_NONE && m->mods[i].path != NULL &&
            memmem(m->mods[i].path, m->mods[i].path_len, "/ld-linux", 9) != NULL)
            ld = &m->mods[i];
    uint8_t *flag = ld != NULL && nstacks > 0 ? lg_scratch_alloc(nstacks) : NULL;
    for (uint32_t i = 0; flag != NULL && i < nstacks; i++) {
        uint32_t depth;
        const uintptr_t *f = lg_stack_frames(i, &depth);
        flag[i] = f != NULL && depth > 0 && f[0] >= ld->start && f[0] < ld->end;
    }
    return flag;
}

/* The headered blocks come from the byte map in address order, the map's
 * blocks are copied out and sorted apart (few: large and aligned ones),
 * then the two runs are merged from the back into h->b. */
static int collect_blocks(struct heap *h, bool consume)
{
    size_t n = lg_map_count(&lg_blocks), k = 0;
    size_t nh = lg_bb_count();
    h->cap = nh + n + 1;
    h->b = lg_map_pages(h->cap * sizeof *h->b);
    struct pair *m = lg_map_pages((n + 1) * sizeof *m);   /* filled as shards are released */
    if (h->b == NULL || m == NULL) {
        if (m != NULL)
            lg_unmap_pages(m, (n + 1) * sizeof *m);
        return -ENOMEM;
    }
    for (int s = 0; s < LG_SHARDS; s++) {
        struct lg_shard *sh = &lg_blocks.shards[s];
        for (size_t i = 0; i < sh->cap && k < n; i++)
            if (sh->slots[i].key)
                m[k++] = (struct pair){sh->slots[i].key, sh->slots[i].val};
        if (consume)
            lg_map_release(sh);
    }
    sort_pairs(m, k, consume);
    /* every page of h->b is about to be written: one call faults them all
     * in, not a fault a page (3.2M blocks: 167 -> 157 ms a snapshot); here,
     * not at the mmap, so the array's pages do not add to the shards'
     * while those are copied and released */
#ifdef MADV_POPULATE_WRITE
    madvise(h->b, (nh + k) * sizeof *h->b, MADV_POPULATE_WRITE);   /* an old kernel: faults */
#endif
    nh = lg_bb_collect(h->b, nh);
    size_t hi = nh, mi = k, out = nh + k;
    while (mi > 0) {                    /* both runs sorted: merge from the back */
        if (hi > 0 && h->b[hi - 1].addr > m[mi - 1].addr)
            h->b[--out] = h->b[--hi];
        else
            h->b[--out] = m[--mi];
    }
    lg_unmap_pages(m, (n + 1) * sizeof *m);
    k += nh;
    h->n = k;
    h->glibc = lg_glibc_malloc();
    build_chunk_index(h);
    h->lo = k ? h->b[0].addr : 0;
    h->hi = 0;
    for (size_t i = 0; i < k; i++) {
        uint64_t sz = lg_meta_size(h->b[i].meta);
        uint64_t end = h->b[i].addr + (sz ? sz : 1);
        if (end > h->hi)
            h->hi = end;
    }
    return 0;
}

static int collect_objects(struct heap *h)
{
    size_t in_map = lg_map_count(&lg_objects), in_hdr = lg_objects_in_headers(), k = 0;
    size_t n = in_map + in_hdr;
    if (n == 0)
        return 0;
    h->objs = lg_map_pages(n * sizeof *h->objs);
    h->obj_of = lg_map_pages((h->n + 1) * sizeof *h->obj_of);
    if (h->objs == NULL || h->obj_of == NULL)
        return -ENOMEM;
    memset(h->obj_of, 0xff, (h->n + 1) * sizeof *h->obj_of);
    for (int s = 0; s < LG_SHARDS; s++) {
        struct lg_shard *sh = &lg_objects.shards[s];
        for (size_t i = 0; i < sh->cap && k < in_map; i++) {
            if (!sh->slots[i].key)
                continue;
            struct lg_obj *r = (struct lg_obj *)(uintptr_t)sh->slots[i].val;
            r->snap_index = (uint32_t)k;
            uint32_t b = find_exact(h, r->block);
            h->objs[k++] = (struct objref){sh->slots[i].key, r, b};
        }
    }
    /* the records kept in block headers (objects.c), block by block */
    for (size_t i = 0; i < h->n && in_hdr > 0 && k < n; i++) {
        void *blk = (void *)(uintptr_t)h->b[i].addr;
        if (!lg_bb_has(blk))
            continue;
        struct lg_obj *r = (struct lg_obj *)(uintptr_t)lg_hdr_meta(blk)[1];
        if (r == NULL || r->block != h->b[i].addr)
            continue;
        r->snap_index = (uint32_t)k;
        h->objs[k++] = (struct objref){r->obj, r, (uint32_t)i};
    }
    h->nobj = k;
    for (size_t i = 0; i < k; i++)
        if (h->objs[i].block != LG_NONE)
            h->obj_of[h->objs[i].block] = (uint32_t)i;
    return 0;
}

static void free_heap(struct heap *h)
{
    size_t n = h->n + 1;
    if (h->b)
        lg_unmap_pages(h->b, h->cap * sizeof *h->b);
    if (h->obj_of)
        lg_unmap_pages(h->obj_of, n * sizeof *h->obj_of);
    if (h->cix)
        lg_unmap_pages(h->cix, h->cix_cap * sizeof *h->cix);
    if (h->objs)
        lg_unmap_pages(h->objs, (h->nobj ? h->nobj : 1) * sizeof *h->objs);
}

static int write_all(uint32_t kind, int sig, uintptr_t sp, bool fatal)
{
    struct lg_modules mods;
    struct heap h;
    struct vec precise = {.elem = sizeof(struct lg_edge)};
    struct lg_rregion *regions = NULL;
    size_t nregions = 0;
    memset(&h, 0, sizeof h);
    n_edges = n_roots = 0;

    int err = lg_modules_collect(&mods);
    if (err < 0)
        return err;
    err = lg_out_open();
    if (err < 0)
        return err;
    static bool obj_taken[LG_SHARDS], blk_taken[LG_SHARDS];
    bool interrupted_in_lock = lg_in_lock;  /* a fatal signal inside a hook */
    /* the gate first (gate.h): a hook inside it may need a shim lock */
    bool gate_shut = lg_gate_close(fatal ? 100 : -1);
    if (!fatal) {
        lg_map_lock_all(&lg_objects);
        lg_map_lock_all(&lg_blocks);
    } else if (!interrupted_in_lock) {
        lg_map_try_lock_all(&lg_objects, obj_taken);
        lg_map_try_lock_all(&lg_blocks, blk_taken);
    }
    lg_in_lock = 1;
    err = collect_blocks(&h, kind == LG_SNAP_EXIT);
    if (err == 0)
        err = collect_objects(&h);
    if (err < 0)
        goto out_unlock;

    /* strings and precise edges */
    uint32_t *type_ids = h.nobj ? lg_scratch_alloc(h.nobj * sizeof *type_ids) : NULL;
    for (size_t i = 0; i < h.nobj; i++) {
        const struct lg_rc_world *w = lg_world_by_id(h.objs[i].rec->world);
        type_ids[i] = intern(w->type_name((void *)(uintptr_t)h.objs[i].addr));
        if (h.objs[i].block == LG_NONE)
            continue;
        struct precise_ctx c = {&h, h.objs[i].block, &precise};
        w->visit_edges((void *)(uintptr_t)h.objs[i].addr, on_edge, &c);
    }
    struct lg_heapinfo hi = {h.b, h.n};
    lg_regions_collect(&mods, &hi, sp, &regions, &nregions);
    uint32_t *region_names = lg_scratch_alloc(LG_REGIONS_CAP * sizeof *region_names);
    for (size_t i = 0; i < nregions && region_names; i++)
        region_names[i] = intern(regions[i].name);
    uint32_t stack_name = intern("[stack]"), regs_name = intern("[registers]");

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t at = lg_out_begin(LG_SEC_SNAPSHOT_BEGIN);
    struct lg_snapshot_begin sb = {++seq, kind, (uint32_t)sig, 0,
                                   (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec};
    if (lg_cfg.history > 0)
        sb.flags |= LG_SNAPF_HISTORY;
    if (atomic_load(&lg_lost_events))
        sb.flags |= LG_SNAPF_LOST_EVENTS;
    lg_out_write(&sb, sizeof sb);
    lg_out_end(at);

    write_strings();
    write_modules(&mods);
    uint32_t nstacks = write_stacks();
    write_epochs(&mods, nstacks);
    const uint8_t *by_loader = loader_stacks(&mods, nstacks);

    /* threads' TLS vectors are glibc's bookkeeping, never a leak; the
     * descriptor points into them, not at their start */
    uint32_t *libc = lg_scratch_alloc(sizeof *libc * LIBC_BLOCKS_MAX);
    size_t nlibc = libc ? libc_blocks(&h, libc) : 0;
    size_t next_libc = 0;
    at = lg_out_begin_packed(LG_SEC_BLOCKS);
    for (size_t i = 0; i < h.n; i++) {
        uint32_t flags = h.obj_of && h.obj_of[i] != LG_NONE ? LG_BLOCKF_OBJECT : 0;
        while (next_libc < nlibc && libc[next_libc] < i)
            next_libc++;
        if (next_libc < nlibc && libc[next_libc] == i)
            flags |= LG_BLOCKF_LIBC;
        uint32_t st = lg_meta_stack(h.b[i].meta);
        if (by_loader != NULL && st < nstacks && by_loader[st])
            flags |= LG_BLOCKF_LIBC;
        struct lg_block b = {h.b[i].addr, lg_meta_size(h.b[i].meta),
                             lg_meta_stack(h.b[i].meta), flags};
        lg_out_record(&b);
    }
    lg_out_end_packed(at);

    at = lg_out_begin_packed(LG_SEC_OBJECTS);
    for (size_t i = 0; i < h.nobj; i++) {
        const struct lg_rc_world *w = lg_world_by_id(h.objs[i].rec->world);
        void *o = (void *)(uintptr_t)h.objs[i].addr;
        struct lg_object r = {h.objs[i].addr, h.objs[i].block, type_ids[i], w->refcount(o),
                              w->flags(o), w->id};
        if (h.objs[i].rec->truncated)
            r.flags |= LG_OBJF_HISTORY_TRUNCATED;
        lg_out_record(&r);
    }
    lg_out_end_packed(at);

    at = lg_out_begin_packed(LG_SEC_EDGES);
    for (size_t i = 0; i < precise.n; i++)
        lg_out_record(precise.p + i * precise.elem);
    n_edges = precise.n;
    for (size_t i = 0; i < h.n; i++)
        scan_block(&h, (uint32_t)i);
    lg_out_end_packed(at);

    /* From here to the end of ROOTS nothing allocates or takes a lock that a
     * stopped thread could hold. A fatal snapshot stops the world too (only
     * syscalls, safe in its signal handler): otherwise every other thread's
     * whole stack mapping, dead frames and all, is scanned, and stale
     * copies there hide leaks; the process dies right after, so a world a
     * fault leaves stopped is harmless (the fault path resumes it anyway). */
    struct lg_stopped *stopped = NULL;
    size_t nstopped = 0;
    uint64_t *buf = lg_scratch_alloc((size_t)(1u << 16) * 8);
    if (region_names != NULL && buf != NULL) {   /* a fatal one too: see below */
        nstopped = lg_world_stop(&stopped);
        lg_regions_add_threads(regions, &nregions, LG_REGIONS_CAP, region_names, stopped,
                               nstopped, stack_name, regs_name);
    }

    at = lg_out_begin_packed(LG_SEC_REGIONS);
    for (size_t i = 0; i < nregions; i++) {
        struct lg_region r = {regions[i].start, regions[i].end, regions[i].kind,
                              region_names ? region_names[i] : LG_NONE,
                              regions[i].thread, regions[i].module};
        lg_out_record(&r);
    }
    lg_out_end_packed(at);

    at = lg_out_begin_packed(LG_SEC_ROOTS);
    for (size_t i = 0; i < nregions && buf; i++)
        scan_region(&h, &regions[i], (uint32_t)i, buf, (size_t)1 << 16);
    lg_out_end_packed(at);
    if (nstopped > 0)
        lg_world_resume();

    at = lg_out_begin_packed(LG_SEC_HISTORY);
    for (size_t i = 0; i < h.nobj; i++) {
        const struct lg_obj *r = h.objs[i].rec;
        for (uint32_t k = 0; k < r->n; k++) {
            struct lg_history e = {(uint32_t)i, r->ev[k].event, r->ev[k].stack, 0,
                                   r->ev[k].refcnt_after};
            lg_out_record(&e);
        }
    }
    lg_out_end_packed(at);

    at = lg_out_begin(LG_SEC_SNAPSHOT_END);
    struct lg_snapshot_end se = {h.n, h.nobj, n_edges, n_roots};
    last_blocks = h.n;
    last_objects = h.nobj;
    lg_out_write(&se, sizeof se);
    lg_out_end(at);
    err = lg_out_flush();

out_unlock:
    lg_in_lock = interrupted_in_lock;
    if (!fatal) {
        lg_map_unlock_all(&lg_blocks);
        lg_map_unlock_all(&lg_objects);
    } else if (!interrupted_in_lock) {
        lg_map_unlock_taken(&lg_blocks, blk_taken);
        lg_map_unlock_taken(&lg_objects, obj_taken);
    }
    if (gate_shut)
        lg_gate_open();
    free_heap(&h);
    vec_free(&precise);
    strings_reset();
    lg_scratch_release();
    return err;
}

static char *fmt_u(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    *p = 0;
    return p;
}

static void say_stats(uint32_t kind, uint64_t ns)
{
    static const char *const kinds[] = {"?", "exit", "signal", "request", "fatal"};
    char line[256], *p = line;
    p = fmt_u(p, seq);
    *p++ = ' ';
    *p++ = '(';
    strcpy(p, kinds[kind <= 4 ? kind : 0]);
    p += strlen(p);
    strcpy(p, "): blocks ");
    p = fmt_u(p + strlen(p), last_blocks);
    strcpy(p, ", objects ");
    p = fmt_u(p + strlen(p), last_objects);
    strcpy(p, ", edges ");
    p = fmt_u(p + strlen(p), n_edges);
    strcpy(p, ", roots ");
    p = fmt_u(p + strlen(p), n_roots);
    strcpy(p, ", ms ");
    p = fmt_u(p + strlen(p), ns / 1000000);
    lg_say("snapshot ", line, NULL, NULL);
}

uintptr_t lg_exit_stack_start;

/* At exit the stack below exit()'s caller belongs to exit, the loader's
 * destructor loop and the shim; those frames reuse memory where the
 * program's dead frames were, and their never-written slots still hold the
 * dead frames' pointers. Scanning them would make a block whose only
 * pointer died with its frame look reachable. So the exit snapshot scans
 * the current stack from exit()'s own frame (which holds its caller's
 * saved registers) upward: the frame that called exit() (main, when main
 * called it; libc's start code, when main returned) and its callers. */
static __attribute__((noinline)) void find_exit_caller_sp(void)
{
    void *exit_fn = dlsym(RTLD_DEFAULT, "exit");
    unw_context_t ctx;
    unw_cursor_t cur;
    if (exit_fn == NULL || unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return;
    for (int i = 0; i < 64 && unw_step(&cur) > 0; i++) {
        unw_proc_info_t pi;
        if (unw_get_proc_info(&cur, &pi) != 0 || pi.start_ip != (unw_word_t)(uintptr_t)exit_fn)
            continue;
        unw_word_t sp;                  /* exit's own frame: it holds the
                                           caller's callee-saved registers */
        if (unw_get_reg(&cur, UNW_REG_SP, &sp) == 0)
            lg_exit_stack_start = (uintptr_t)sp;
        return;
    }
}

void lg_find_exit_caller_sp(void)
{
    lg_fork_gate_enter();               /* libunwind's locks: see phdr.c */
    find_exit_caller_sp();
    lg_fork_gate_leave();
}

/* Spills the caller's registers into a jmp_buf on this frame, so the stack
 * scan from here up sees them. */
__attribute__((noinline)) int lg_write_snapshot(uint32_t kind, int sig)
{
    jmp_buf regs;
    setjmp(regs);
    uintptr_t sp = (uintptr_t)&regs;
    if (kind == LG_SNAP_EXIT && lg_exit_stack_start > sp)
        sp = lg_exit_stack_start;       /* see lg_find_exit_caller_sp() */
    int saved_errno = errno;
    bool fatal = kind == LG_SNAP_FATAL;
    int was = lg_in_hook;
    lg_in_hook = 1;
    if (fatal) {
        if (atomic_exchange(&snap_lock.v, 1)) {   /* one is being written */
            lg_in_hook = was;
            return -EBUSY;
        }
    } else
        lg_lock_take(&snap_lock);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int err = write_all(kind, sig, sp, fatal);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (lg_cfg.stats && err == 0)
        say_stats(kind, (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull +
                            (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec);
    lg_lock_drop(&snap_lock);
    lg_in_hook = was;
    __asm__ volatile("" : : "r"(&regs) : "memory");
    errno = saved_errno;
    return err;
}
