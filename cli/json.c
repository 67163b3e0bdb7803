/* json.c - the streaming JSON writer of json.h. Output is indented two
 * spaces per level, one member per line, so reports diff well. */
#include "json.h"

#include <inttypes.h>
#include <string.h>

void lg_jw_init(struct lg_jw *w, FILE *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->first[0] = true;
}

static void indent(struct lg_jw *w)
{
    fputc('\n', w->out);
    for (int i = 0; i < w->depth; i++)
        fputs("  ", w->out);
}

/* before any value or key: a comma and a new line as needed */
static void before(struct lg_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    if (!w->first[w->depth])
        fputc(',', w->out);
    w->first[w->depth] = false;
    indent(w);
}

static void jw_open(struct lg_jw *w, char c)
{
    before(w);
    fputc(c, w->out);
    if (w->depth < LG_JW_DEPTH - 1)
        w->depth++;
    w->first[w->depth] = true;
}

static void jw_close(struct lg_jw *w, char c)
{
    bool empty = w->first[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (!empty)
        indent(w);
    fputc(c, w->out);
    if (w->depth == 0)
        fputc('\n', w->out);
}

void lg_jw_object(struct lg_jw *w) { jw_open(w, '{'); }
void lg_jw_end_object(struct lg_jw *w) { jw_close(w, '}'); }
void lg_jw_array(struct lg_jw *w) { jw_open(w, '['); }
void lg_jw_end_array(struct lg_jw *w) { jw_close(w, ']'); }

/* length of a valid UTF-8 sequence at s, or 0 */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

void lg_jw_escape(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            s++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", out); break;
            case '\r': fputs("\\r", out); break;
            case '\t': fputs("\\t", out); break;
            case '\b': fputs("\\b", out); break;
            case '\f': fputs("\\f", out); break;
            default: fprintf(out, "\\u%04x", c); break;
            }
            s++;
        } else {
            int n = utf8_len(s);
            if (n == 0) {
                fputs("\\ufffd", out);     /* not UTF-8: say so, keep going */
                s++;
            } else {
                fwrite(s, 1, (size_t)n, out);
                s += n;
            }
        }
    }
    fputc('"', out);
}

void lg_jw_key(struct lg_jw *w, const char *key)
{
    before(w);
    lg_jw_escape(w->out, key);
    fputs(": ", w->out);
    w->after_key = true;
}

void lg_jw_str(struct lg_jw *w, const char *s)
{
    before(w);
    if (s == NULL)
        fputs("null", w->out);
    else
        lg_jw_escape(w->out, s);
}

void lg_jw_int(struct lg_jw *w, int64_t v)
{
    before(w);
    fprintf(w->out, "%" PRId64, v);
}

void lg_jw_uint(struct lg_jw *w, uint64_t v)
{
    before(w);
    fprintf(w->out, "%" PRIu64, v);
}

void lg_jw_bool(struct lg_jw *w, bool v)
{
    before(w);
    fputs(v ? "true" : "false", w->out);
}

void lg_jw_null(struct lg_jw *w)
{
    before(w);
    fputs("null", w->out);
}

void lg_jw_hex(struct lg_jw *w, uint64_t v)
{
    before(w);
    fprintf(w->out, "\"0x%" PRIx64 "\"", v);
}

void lg_jw_kstr(struct lg_jw *w, const char *key, const char *s) { lg_jw_key(w, key); lg_jw_str(w, s); }
void lg_jw_kuint(struct lg_jw *w, const char *key, uint64_t v) { lg_jw_key(w, key); lg_jw_uint(w, v); }
void lg_jw_kint(struct lg_jw *w, const char *key, int64_t v) { lg_jw_key(w, key); lg_jw_int(w, v); }
void lg_jw_khex(struct lg_jw *w, const char *key, uint64_t v) { lg_jw_key(w, key); lg_jw_hex(w, v); }
void lg_jw_kbool(struct lg_jw *w, const char *key, bool v) { lg_jw_key(w, key); lg_jw_bool(w, v); }
