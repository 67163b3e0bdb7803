/* str.c - the built-in "str" type: immutable text stored in the object's own
 * block. Owns the intern table: one immortal str per distinct text, made by
 * rc_str_intern() and kept until exit (reachable from this file's globals,
 * never leaked), so interned strings compare by identity. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rc_internal.h"

typedef struct rc_str {
    rc_object ob;
    size_t len;
    size_t hash;
    char text[];        /* len bytes and a NUL, in the same block */
} rc_str;

static const rc_type str_type = {
    .name = "str",
    .size = sizeof(rc_str),
};

static size_t hash_text(const char *s, size_t len)
{
    size_t h = 1469598103934665603u;    /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static rc_object *make_str(const char *s, size_t len, int immortal)
{
    rc_object *o = rc__new_var(&str_type, len + 1, immortal);
    if (o == NULL)
        return NULL;
    rc_str *str = (rc_str *)o;
    str->len = len;
    str->hash = hash_text(s, len);
    memcpy(str->text, s, len);
    str->text[len] = '\0';
    return o;
}

rc_object *rc_str_new(const char *s)
{
    if (s == NULL) {
        errno = EINVAL;
        return NULL;
    }
    return make_str(s, strlen(s), 0);
}

const char *rc_str_value(const rc_object *o)
{
    assert(o != NULL && o->type == &str_type && "rc_str_value needs a str");
    return ((const rc_str *)o)->text;
}

/* ---- the intern table: open addressing, linear probing ------------------ */

/* Slots hold block starts (rc__head), not object addresses, so that any
 * leak checker sees a start pointer to every interned string's block. */
static rc__head **table;        /* capacity slots, a power of two */
static size_t capacity;
static size_t used;

static rc_str *as_str(rc__head *h)
{
    return (rc_str *)rc__object_of(h);
}

static int grow_table(void)
{
    size_t new_cap = capacity ? capacity * 2 : 64;
    rc__head **t = calloc(new_cap, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < capacity; i++) {
        if (table[i] == NULL)
            continue;
        size_t j = as_str(table[i])->hash & (new_cap - 1);
        while (t[j] != NULL)
            j = (j + 1) & (new_cap - 1);
        t[j] = table[i];
    }
    free(table);
    table = t;
    capacity = new_cap;
    return 0;
}

rc_object *rc_str_intern(const char *s)
{
    if (s == NULL) {
        errno = EINVAL;
        return NULL;
    }
    size_t len = strlen(s);
    size_t hash = hash_text(s, len);
    rc_object *found = NULL;

    rc__lock();
    if ((used + 1) * 2 > capacity && grow_table() < 0) {
        errno = ENOMEM;
        goto out;
    }
    size_t i = hash & (capacity - 1);
    for (; table[i] != NULL; i = (i + 1) & (capacity - 1)) {
        rc_str *t = as_str(table[i]);
        if (t->hash == hash && t->len == len && memcmp(t->text, s, len) == 0) {
            found = &t->ob;
            goto out;
        }
    }
    found = make_str(s, len, 1);
    if (found != NULL) {
        table[i] = rc__head_of(found);
        used++;
    }
out:
    rc__unlock();
    return found;
}
