/* json.h - a small streaming JSON writer for the report: objects, arrays,
 * keys, strings with correct escaping (control characters, quotes,
 * backslashes, invalid UTF-8 replaced by U+FFFD), integers. Owns only its
 * nesting state; commas and indentation are its business, not the caller's. */
#ifndef LG_JSON_H
#define LG_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LG_JW_DEPTH 32

struct lg_jw {
    FILE *out;
    int depth;
    bool first[LG_JW_DEPTH];          /* no member written yet at this depth */
    bool after_key;                   /* a key was written; its value comes next */
};

void lg_jw_init(struct lg_jw *w, FILE *out);
void lg_jw_object(struct lg_jw *w);           /* { */
void lg_jw_end_object(struct lg_jw *w);       /* } */
void lg_jw_array(struct lg_jw *w);            /* [ */
void lg_jw_end_array(struct lg_jw *w);        /* ] */
void lg_jw_key(struct lg_jw *w, const char *key);
void lg_jw_str(struct lg_jw *w, const char *s);       /* NULL writes null */
void lg_jw_int(struct lg_jw *w, int64_t v);
void lg_jw_uint(struct lg_jw *w, uint64_t v);
void lg_jw_bool(struct lg_jw *w, bool v);
void lg_jw_null(struct lg_jw *w);
void lg_jw_hex(struct lg_jw *w, uint64_t v);          /* "0x1a2b" */
/* key + value shorthands */
void lg_jw_kstr(struct lg_jw *w, const char *key, const char *s);
void lg_jw_kuint(struct lg_jw *w, const char *key, uint64_t v);
void lg_jw_kint(struct lg_jw *w, const char *key, int64_t v);
void lg_jw_khex(struct lg_jw *w, const char *key, uint64_t v);
void lg_jw_kbool(struct lg_jw *w, const char *key, bool v);

/* Write s as a JSON string literal (quotes included) to out. */
void lg_jw_escape(FILE *out, const char *s);

#endif /* LG_JSON_H */
