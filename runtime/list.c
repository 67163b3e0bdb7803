/* list.c - the built-in "list" type: a growable array of owned references.
 * Owns each list's item array (a separate malloc'd block) and the shared
 * table of field names "[0]", "[1]", ... that traverse reports: names are
 * made when a list first grows to an index, never freed, and never move, so
 * a tool that reads them after the list died still reads valid text. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "rc_internal.h"

typedef struct rc_list {
    rc_object ob;
    size_t len;
    size_t cap;
    rc_object **items;  /* separate block; owned references */
} rc_list;

/* ---- field names ---------------------------------------------------------- */

#define NAME_SIZE 16            /* "[" 13 digits "]" NUL */
#define NAMES_PER_CHUNK 4096
#define MAX_CHUNKS 16384        /* names for the first 64M items; later ones: NULL */

static char *name_chunks[MAX_CHUNKS];
static size_t names_ready;      /* names exist for every index below this */

int rc__list_names_reserve(size_t n)
{
    int err = 0;
    rc__lock();
    while (names_ready < n && names_ready < (size_t)MAX_CHUNKS * NAMES_PER_CHUNK) {
        size_t c = names_ready / NAMES_PER_CHUNK;
        char *chunk = malloc((size_t)NAMES_PER_CHUNK * NAME_SIZE);
        if (chunk == NULL) {
            err = -ENOMEM;
            break;
        }
        for (size_t i = 0; i < NAMES_PER_CHUNK; i++)
            snprintf(chunk + i * NAME_SIZE, NAME_SIZE, "[%zu]", c * NAMES_PER_CHUNK + i);
        name_chunks[c] = chunk;
        __atomic_store_n(&names_ready, names_ready + NAMES_PER_CHUNK, __ATOMIC_RELEASE);
    }
    rc__unlock();
    return err;
}

static const char *item_name(size_t i)
{
    if (i >= __atomic_load_n(&names_ready, __ATOMIC_ACQUIRE))
        return NULL;
    return name_chunks[i / NAMES_PER_CHUNK] + (i % NAMES_PER_CHUNK) * NAME_SIZE;
}

/* ---- the type ------------------------------------------------------------- */

static int list_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    rc_list *l = (rc_list *)self;
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i] == NULL)
            continue;
        int r = visit(l->items[i], item_name(i), arg);
        if (r != 0)
            return r;
    }
    return 0;
}

/* Empty the list before releasing anything: a decref may run code (clear,
 * finalize, weak reference callbacks) that looks at this list. */
static void list_clear(rc_object *self)
{
    rc_list *l = (rc_list *)self;
    rc_object **items = l->items;
    size_t len = l->len;
    l->items = NULL;
    l->len = 0;
    l->cap = 0;
    for (size_t i = 0; i < len; i++)
        rc__decref(items[i]);
    free(items);
}

static const rc_type list_type = {
    .name = "list",
    .size = sizeof(rc_list),
    .traverse = list_traverse,
    .clear = list_clear,
};

rc_object *rc_list_new(void)
{
    return rc_new(&list_type);
}

int rc_list_append(rc_object *list, rc_object *item)
{
    assert(list != NULL && list->type == &list_type && "rc_list_append needs a list");
    rc_list *l = (rc_list *)list;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        rc_object **items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL)
            return -ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    if (l->len >= __atomic_load_n(&names_ready, __ATOMIC_ACQUIRE))
        (void)rc__list_names_reserve(l->len + 1);   /* no name: the field is NULL */
    rc__incref(item);
    l->items[l->len++] = item;
    return 0;
}

size_t rc_list_len(const rc_object *list)
{
    assert(list != NULL && list->type == &list_type && "rc_list_len needs a list");
    return ((const rc_list *)list)->len;
}

rc_object *rc_list_get(const rc_object *list, size_t i)
{
    assert(list != NULL && list->type == &list_type && "rc_list_get needs a list");
    const rc_list *l = (const rc_list *)list;
    if (i >= l->len) {
        errno = ERANGE;
        return NULL;
    }
    return l->items[i];
}
