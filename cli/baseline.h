/* baseline.h - a baseline of known leaks for `leakgraph check`: a JSON file
 * that `check --write-baseline` writes and `check --baseline` reads. A leak
 * is identified by its kind, its type and the function names of its
 * allocating stack (not addresses), so the identity survives rebuilds and
 * ASLR. Owns the entries; docs/reports.md shows the file. */
#ifndef LG_BASELINE_H
#define LG_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

struct lg_baseline_entry {
    char *key;                       /* lg_leak_key() */
    char *kind;                      /* the JSON report's kind word */
    char *type;                      /* or NULL */
    char **stack;                    /* function names, innermost first */
    size_t nstack;
    uint64_t bytes, blocks;          /* summed over the records merged here */
    bool seen;                       /* lg_baseline_mark() found it */
};

struct lg_baseline;

/* How many of the frames a leak's identity uses (see lg_leak_key). */
size_t lg_identity_depth(const struct lg_frame *f, size_t n);

/* The identity of a leak: "kind|type|f1;f2;..." with each frame's function,
 * or "module!?" when unknown, or "?" without a module, down to main (or the
 * thread's start routine): the C library's frames below it are left out.
 * malloc'd. */
char *lg_leak_key(const char *kind, const char *type, const struct lg_frame *f, size_t n);

struct lg_baseline *lg_baseline_new(void);     /* NULL + errno */
void lg_baseline_free(struct lg_baseline *b);

/* Add a leak; one with the same key adds its bytes and blocks to the entry.
 * 0 or -ENOMEM. */
int lg_baseline_add(struct lg_baseline *b, const char *kind, const char *type,
                    const struct lg_frame *f, size_t n, uint64_t bytes, uint64_t blocks);

/* Read a baseline file. 0 or a negative errno with one line in err naming
 * the file ("base.json: offset 120: expected ','"). */
int lg_baseline_load(const char *path, struct lg_baseline **out, char *err, size_t errlen);

/* Write it (entries in the order added). 0 or a negative errno + err. */
int lg_baseline_write(const struct lg_baseline *b, const char *path, char *err, size_t errlen);

/* Is the key known? Marks the entry seen, so the unseen ones are fixed. */
bool lg_baseline_mark(struct lg_baseline *b, const char *key);

size_t lg_baseline_count(const struct lg_baseline *b);
const struct lg_baseline_entry *lg_baseline_entry(const struct lg_baseline *b, size_t i);

#endif /* LG_BASELINE_H */
