/* cycle_ab.c - the seeds' class A / class B: A's constructor makes a B that
 * holds the A back, so dropping my_var leaves a cycle refcounting cannot
 * free. With the collector disabled the cycle leaks (leakgraph reports it:
 * A.b -> B, B.a -> A); with --collect one full collection frees both and
 * returns 2. */
#include <stdlib.h>

#include "rc_seed.h"

typedef struct A {
    rc_object ob;
    rc_object *b;
} A;

typedef struct B {
    rc_object ob;
    rc_object *a;
} B;

static int A_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    A *a = (A *)self;
    return a->b != NULL ? visit(a->b, "b", arg) : 0;
}

static void A_clear(rc_object *self)
{
    rc_set(&((A *)self)->b, NULL);
}

static int B_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    B *b = (B *)self;
    return b->a != NULL ? visit(b->a, "a", arg) : 0;
}

static void B_clear(rc_object *self)
{
    rc_set(&((B *)self)->a, NULL);
}

static const rc_type A_type = {"A", sizeof(A), A_traverse, A_clear, NULL};
static const rc_type B_type = {"B", sizeof(B), B_traverse, B_clear, NULL};

/* class B: def __init__(self, a): self.a = a */
static rc_object *B_new(rc_object *a)
{
    B *self = (B *)rc_new(&B_type);
    if (self == NULL)
        exit(1);
    rc_set(&self->a, a);
    printf("B: self: %p, a: %p\n", (void *)self, (void *)self->a);
    return &self->ob;
}

/* class A: def __init__(self): self.b = B(self) */
static rc_object *A_new(void)
{
    A *self = (A *)rc_new(&A_type);
    if (self == NULL)
        exit(1);
    self->b = B_new(&self->ob);         /* steals B's new reference */
    printf("A: self: %p, b: %p\n", (void *)self, (void *)self->b);
    return &self->ob;
}

static void show(const void *a_id, const void *b_id)
{
    printf("refcount(a) = %ld\n", (long)ref_count(a_id));
    printf("refcount(b) = %ld\n", (long)ref_count(b_id));
    printf("a: %s\n", object_by_id(a_id));
    printf("b: %s\n", object_by_id(b_id));
}

static int demo(int argc, char **argv)
{
    int collect = has_arg(argc, argv, "--collect");

    rc_gc_disable();
    rc_object *my_var = A_new();
    rc_object *a_b = ((A *)my_var)->b;
    printf("a: \t%p\n", (void *)my_var);
    printf("a.b: \t%p\n", (void *)a_b);
    printf("b.a: \t%p\n", (void *)((B *)a_b)->a);
    printf("a is b.a: %s\n", py_bool(((B *)a_b)->a == my_var));

    const rc_object *a_id = my_var, *b_id = a_b;
    show(a_id, b_id);

    printf("my_var = None\n");
    rc_decref(my_var);
    show(a_id, b_id);

    if (collect) {
        /* refcounts of freed objects are not read: that memory is gone */
        printf("gc.collect() = %zu\n", rc_gc_collect(-1));
        printf("a: %s\n", object_by_id(a_id));
        printf("b: %s\n", object_by_id(b_id));
        rc_gc_enable();
    } else {
        printf("collector disabled: the cycle is never freed\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    int status = demo(argc, argv);
    return status;
}
