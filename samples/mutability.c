/* mutability.c - the seeds' object mutability: a list changes in place and
 * keeps its identity, list + [4] makes a new list, a list inside a tuple
 * changes while the tuple's identity stays, and equality is not identity.
 * The tuple is a small fixed-size container type defined here. Everything
 * is released before exit, so nothing leaks. */
#include <stdlib.h>

#include "rc_seed.h"

/* ---- a tuple: an immutable sequence of owned references ----------------- */

#define TUPLE_MAX 4

typedef struct tuple {
    rc_object ob;
    size_t n;
    rc_object *items[TUPLE_MAX];
} tuple;

static const char *const tuple_fields[TUPLE_MAX] = {"[0]", "[1]", "[2]", "[3]"};

static int tuple_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    tuple *t = (tuple *)self;
    for (size_t i = 0; i < t->n; i++) {
        int r = t->items[i] ? visit(t->items[i], tuple_fields[i], arg) : 0;
        if (r != 0)
            return r;
    }
    return 0;
}

static void tuple_clear(rc_object *self)
{
    tuple *t = (tuple *)self;
    for (size_t i = 0; i < t->n; i++)
        rc_set(&t->items[i], NULL);
}

static const rc_type tuple_type = {"tuple", sizeof(tuple), tuple_traverse, tuple_clear, NULL};

static rc_object *tuple_of2(rc_object *a, rc_object *b)   /* takes both */
{
    tuple *t = (tuple *)rc_new(&tuple_type);
    if (t == NULL)
        exit(1);
    t->n = 2;
    rc_set(&t->items[0], a);
    rc_set(&t->items[1], b);
    return &t->ob;
}

/* ---- helpers -------------------------------------------------------------- */

static rc_object *int_list(int n, const long *v)
{
    rc_object *l = rc_list_new();
    for (int i = 0; i < n; i++) {
        rc_object *item = rc_int_new(v[i]);
        rc_list_append(l, item);
        rc_decref(item);
    }
    return l;
}

static void print_value(const rc_object *o)
{
    if (strcmp(o->type->name, "int") == 0) {
        printf("%ld", rc_int_value(o));
    } else if (strcmp(o->type->name, "str") == 0) {
        printf("'%s'", rc_str_value(o));
    } else if (strcmp(o->type->name, "list") == 0) {
        printf("[");
        for (size_t i = 0; i < rc_list_len(o); i++)
            printf(i ? ", " : ""), print_value(rc_list_get(o, i));
        printf("]");
    } else if (o->type == &tuple_type) {
        const tuple *t = (const tuple *)o;
        printf("(");
        for (size_t i = 0; i < t->n; i++)
            printf(i ? ", " : ""), print_value(t->items[i]);
        printf(")");
    }
}

static void println(const rc_object *o)
{
    print_value(o);
    printf("\n");
}

static int list_equal(const rc_object *a, const rc_object *b)
{
    if (rc_list_len(a) != rc_list_len(b))
        return 0;
    for (size_t i = 0; i < rc_list_len(a); i++)
        if (rc_int_value(rc_list_get(a, i)) != rc_int_value(rc_list_get(b, i)))
            return 0;
    return 1;
}

static int list_contains(const rc_object *l, long v)
{
    for (size_t i = 0; i < rc_list_len(l); i++)
        if (rc_int_value(rc_list_get(l, i)) == v)
            return 1;
    return 0;
}

/* def list_updater(container, value): append value unless present */
static void list_updater(rc_object *container, long value)
{
    const void *before = container;
    if (!list_contains(container, value)) {
        rc_object *v = rc_int_new(value);
        rc_list_append(container, v);
        rc_decref(v);
    }
    printf("list_updater(my_items, %ld): container is the same object: %s\n", value,
           py_bool(before == container));
}

/* def tuple_updater(container, value): container[0].append(100) */
static void tuple_updater(rc_object *container)
{
    const void *before = container;
    rc_object *v = rc_int_new(100);
    rc_list_append(((tuple *)container)->items[0], v);
    rc_decref(v);
    printf("tuple_updater(my_tuple): container is the same object: %s\n",
           py_bool(before == container));
}

int main(void)
{
    static const long v123[] = {1, 2, 3}, v4[] = {4}, v2391[] = {23, 91}, items[] = {21, 92, 43};

    rc_object *my_list = int_list(3, v123);
    const void *id = my_list;
    println(my_list);
    rc_object *four = rc_int_new(4);
    rc_list_append(my_list, four);
    rc_decref(four);
    printf("my_list.append(4)\n");
    println(my_list);
    printf("id(my_list) unchanged: %s\n", py_bool(id == my_list));
    rc_decref(my_list);

    /* my_list_1 = my_list_1 + [4]: a new list */
    rc_object *my_list_1 = int_list(3, v123);
    id = my_list_1;
    rc_object *sum = int_list(3, v123);
    rc_object *tail = int_list(1, v4);
    rc_list_append(sum, rc_list_get(tail, 0));
    rc_decref(tail);
    rc_decref(my_list_1);
    my_list_1 = sum;
    printf("my_list_1 = my_list_1 + [4]\n");
    println(my_list_1);
    printf("id(my_list_1) unchanged: %s\n", py_bool(id == my_list_1));
    rc_decref(my_list_1);

    rc_object *my_items = int_list(3, items);
    list_updater(my_items, 21);
    list_updater(my_items, 22);
    println(my_items);
    rc_decref(my_items);

    rc_object *my_tuple = tuple_of2(int_list(2, v2391), rc_str_new("Range"));
    rc_decref(((tuple *)my_tuple)->items[0]);   /* tuple_of2 took its own references */
    rc_decref(((tuple *)my_tuple)->items[1]);
    println(my_tuple);
    id = my_tuple;
    tuple_updater(my_tuple);
    println(my_tuple);
    printf("id(my_tuple) unchanged: %s\n", py_bool(id == my_tuple));
    rc_decref(my_tuple);

    rc_object *unit = rc_int_new(10), *customer_id = rc_int_new(10);
    printf("unit is customer_id: %s\n", py_bool(unit == customer_id));
    rc_object *user_ids = int_list(3, v123), *data_rows = int_list(3, v123);
    printf("user_ids is data_rows: %s\n", py_bool(user_ids == data_rows));
    printf("user_ids == data_rows: %s\n", py_bool(list_equal(user_ids, data_rows)));
    rc_decref(user_ids);
    rc_decref(data_rows);
    rc_decref(unit);
    rc_decref(customer_id);
    return 0;
}
