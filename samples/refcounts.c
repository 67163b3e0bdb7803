/* refcounts.c - the seeds' reference counting examples: a count read with
 * sys.getrefcount (which holds one more reference, for its argument) and
 * without it (ctypes: the count itself), as variables come and go. Every
 * object is released before exit, so nothing leaks. */
#include "rc_seed.h"

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

int main(void)
{
    /* my_var = 'Hello'; other_var = my_var */
    rc_object *my_var = rc_str_new("Hello");
    rc_object *other_var = my_var;
    rc_incref(other_var);
    printf("my_var = 'Hello'; other_var = my_var\n");
    printf("sys.getrefcount(my_var) = %ld\n", (long)sys_getrefcount(my_var));
    printf("ref_count(id(my_var)) = %ld\n", (long)ref_count(my_var));
    rc_object *bye = rc_str_new("Bye");
    rc_decref(other_var);
    other_var = bye;
    printf("other_var = 'Bye'\n");
    printf("sys.getrefcount(my_var) = %ld\n", (long)sys_getrefcount(my_var));
    printf("ref_count(id(my_var)) = %ld\n", (long)ref_count(my_var));
    rc_decref(other_var);
    rc_decref(my_var);

    /* a = [1, 2, 3] */
    static const long one_two_three[] = {1, 2, 3};
    rc_object *a = int_list(3, one_two_three);
    printf("a = [1, 2, 3]\n");
    printf("sys.getrefcount(a) = %ld\n", (long)sys_getrefcount(a));
    printf("ref_count(id(a)) = %ld\n", (long)ref_count(a));
    rc_object *other = a;
    rc_incref(other);
    printf("other_var = a\n");
    printf("id(a) == id(other_var): %s\n", py_bool(a == other));
    printf("ref_count(id(a)) = %ld\n", (long)ref_count(a));
    rc_object *other_other = a;
    rc_incref(other_other);
    printf("other_other = a\n");
    printf("ref_count(id(a)) = %ld\n", (long)ref_count(a));
    rc_decref(other_other);
    other_other = rc_int_new(100);
    printf("other_other = 100\n");
    printf("ref_count(id(a)) = %ld\n", (long)ref_count(a));
    rc_decref(other);
    printf("other_var = None\n");
    printf("ref_count(id(a)) = %ld\n", (long)ref_count(a));
    rc_decref(other_other);
    rc_decref(a);

    /* a = 1000; b = [1, 2, a] */
    rc_object *big = rc_int_new(1000);
    printf("a = 1000\n");
    printf("sys.getrefcount(a) = %ld\n", (long)sys_getrefcount(big));
    rc_object *b = int_list(2, one_two_three);
    rc_list_append(b, big);
    printf("b = [1, 2, a]\n");
    printf("sys.getrefcount(a) = %ld\n", (long)sys_getrefcount(big));
    rc_object *c = rc_int_new(3);
    printf("c = 3\n");
    printf("sys.getrefcount(c) = %ld (cached small int: immortal)\n", (long)sys_getrefcount(c));
    rc_decref(c);
    rc_decref(b);
    rc_decref(big);
    return 0;
}
