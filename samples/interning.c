/* interning.c - the seeds' interning examples. Small ints in [-5, 256] are
 * singletons; string literals that look like identifiers are interned (as
 * CPython's compiler does; here literal() decides), others are not unless
 * interned on purpose (sys.intern, rc_str_intern). Interned strings and
 * cached ints are immortal and stay reachable from the runtime until exit;
 * everything else is released, so nothing leaks. */
#include <ctype.h>

#include "rc_seed.h"

/* A string literal in CPython source: interned when it looks like an identifier. */
static rc_object *literal(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return rc_str_new(s);
    return rc_str_intern(s);
}

static void same_literal(const char *text)
{
    rc_object *greet_1 = literal(text), *greet_2 = literal(text);
    printf("greet_1 = '%s'; greet_2 = '%s'; greet_1 is greet_2: %s\n", text, text,
           py_bool(greet_1 == greet_2));
    rc_decref(greet_1);
    rc_decref(greet_2);
}

static void same_int(long v)
{
    rc_object *a = rc_int_new(v), *b = rc_int_new(v);
    printf("a = %ld; b = %ld; a is b: %s\n", v, v, py_bool(a == b));
    rc_decref(a);
    rc_decref(b);
}

int main(void)
{
    rc_object *x = rc_int_new(10), *y = rc_int_new(10);
    printf("x = 10; y = 10; x is y: %s\n", py_bool(x == y));

    rc_object *high = rc_int_new(257), *low = rc_int_new(256), *current = rc_int_new(256);
    printf("high = 257; low = 256; current = 256\n");
    printf("low is current: %s\n", py_bool(low == current));
    rc_object *high_2 = rc_int_new(257);
    printf("high is 257: %s\n", py_bool(high == high_2));
    same_int(-5);
    same_int(-6);
    printf("refcount(10) = %ld (immortal)\n", (long)ref_count(x));
    rc_decref(high);
    rc_decref(high_2);
    rc_decref(low);
    rc_decref(current);
    rc_decref(x);
    rc_decref(y);

    same_literal("hello");
    same_literal("hello, world!");
    same_literal("hello_world");
    same_literal("_this_is_a_long_string_that_could_be_used_as_an_Identifier");
    same_literal("HELLO_ALL_HOW_ARE_DOING");
    same_literal("hello world");

    rc_object *g1 = literal("hello world"), *g2 = literal("hello world");
    printf("greet_1 == greet_2: %s\n", py_bool(strcmp(rc_str_value(g1), rc_str_value(g2)) == 0));
    rc_decref(g1);
    rc_decref(g2);

    rc_object *greet_1 = rc_str_intern("hello world");    /* sys.intern */
    rc_object *greet_2 = rc_str_intern("hello world");
    rc_object *greet_3 = literal("hello world");
    printf("greet_1 = sys.intern('hello world'); greet_2 = sys.intern('hello world')\n");
    printf("greet_3 = 'hello world'\n");
    printf("greet_1 is greet_2: %s\n", py_bool(greet_1 == greet_2));
    printf("greet_1 is greet_3: %s\n", py_bool(greet_1 == greet_3));
    printf("refcount(greet_1) = %ld (immortal)\n", (long)ref_count(greet_1));
    printf("refcount(greet_3) = %ld\n", (long)ref_count(greet_3));
    rc_decref(greet_1);
    rc_decref(greet_2);
    rc_decref(greet_3);
    return 0;
}
