/* world_animals.c - the seeds' World and Animal. A World keeps its animals
 * in a list; each Animal refers back to its World. By default the back
 * reference is strong: after del world the World lives on through a1.world,
 * and once a1 goes too, World.animals -> list, list[0] -> Animal,
 * Animal.world -> World is a garbage cycle that leaks (collector disabled).
 * With --weak the back reference is a weak reference: del world frees the
 * World, the weak reference is dead, and nothing leaks. */
#include <stdlib.h>

#include "rc_seed.h"

typedef struct World {
    rc_object ob;
    rc_object *animals;         /* list */
} World;

typedef struct Animal {
    rc_object ob;
    rc_object *world;           /* strong back reference, or NULL */
    rc_weakref *world_ref;      /* weak back reference (--weak), or NULL */
} Animal;

static int World_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    World *w = (World *)self;
    return w->animals ? visit(w->animals, "animals", arg) : 0;
}

static void World_clear(rc_object *self)
{
    rc_set(&((World *)self)->animals, NULL);
}

static int Animal_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    Animal *a = (Animal *)self;
    return a->world ? visit(a->world, "world", arg) : 0;   /* a weak one is not owned */
}

static void Animal_clear(rc_object *self)
{
    rc_set(&((Animal *)self)->world, NULL);
}

static void Animal_finalize(rc_object *self)
{
    rc_weakref_free(((Animal *)self)->world_ref);
}

static const rc_type World_type = {"World", sizeof(World), World_traverse, World_clear, NULL};
static const rc_type Animal_type = {
    "Animal", sizeof(Animal), Animal_traverse, Animal_clear, Animal_finalize};

static rc_object *World_new(void)
{
    World *self = (World *)rc_new(&World_type);
    if (self == NULL || (self->animals = rc_list_new()) == NULL)
        exit(1);
    return &self->ob;
}

static rc_object *Animal_new(rc_object *world, int weak)
{
    Animal *self = (Animal *)rc_new(&Animal_type);
    if (self == NULL)
        exit(1);
    if (weak)
        self->world_ref = rc_weakref_new(world, NULL, NULL);
    else
        rc_set(&self->world, world);
    return &self->ob;
}

static void print_object(const rc_object *o)
{
    if (o == NULL)
        printf("None\n");
    else
        printf("<__main__.%s object at %p>\n", o->type->name, (void *)o);
}

static void print_weakref(rc_weakref *w)
{
    rc_object *o = rc_weakref_get(w);
    if (o == NULL)
        printf("<weakref at %p; dead>\n", (void *)w);
    else
        printf("<weakref at %p; to '%s' at %p>\n", (void *)w, o->type->name, (void *)o);
    rc_decref(o);
}

static void call_weakref(rc_weakref *w)   /* print(a1.world()) */
{
    rc_object *o = rc_weakref_get(w);
    print_object(o);
    rc_decref(o);
}

static int demo(int argc, char **argv)
{
    int weak = has_arg(argc, argv, "--weak");

    rc_gc_disable();
    rc_object *world = World_new();
    rc_object *a1 = Animal_new(world, weak);
    rc_list_append(((World *)world)->animals, a1);
    const rc_object *world_id = world;
    Animal *animal = (Animal *)a1;

    if (weak) {
        print_weakref(animal->world_ref);
        call_weakref(animal->world_ref);
    } else {
        print_object(animal->world);
    }
    printf("del world\n");
    rc_decref(world);
    if (weak) {
        print_weakref(animal->world_ref);
        call_weakref(animal->world_ref);
    } else {
        print_object(animal->world);
    }
    printf("world: %s\n", object_by_id(world_id));

    printf("del a1\n");
    rc_decref(a1);
    printf("world: %s\n", object_by_id(world_id));
    if (!weak)
        printf("collector disabled: the cycle is never freed\n");
    return 0;
}

int main(int argc, char **argv)
{
    int status = demo(argc, argv);
    return status;
}
