/* user_purchase_history.c - the seeds' User / Purchase_History: a User's
 * constructor makes a Purchase_History that holds the User back. With the
 * collector disabled, dropping user_1 leaks the cycle (User.purchase_history
 * -> Purchase_History, Purchase_History.user -> User); with --collect one
 * full collection frees both and returns 2. */
#include <stdlib.h>

#include "rc_seed.h"

typedef struct User {
    rc_object ob;
    rc_object *purchase_history;
} User;

typedef struct Purchase_History {
    rc_object ob;
    rc_object *user;
} Purchase_History;

static int User_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    User *u = (User *)self;
    return u->purchase_history ? visit(u->purchase_history, "purchase_history", arg) : 0;
}

static void User_clear(rc_object *self)
{
    rc_set(&((User *)self)->purchase_history, NULL);
}

static int PH_traverse(rc_object *self, rc_visit_fn visit, void *arg)
{
    Purchase_History *p = (Purchase_History *)self;
    return p->user ? visit(p->user, "user", arg) : 0;
}

static void PH_clear(rc_object *self)
{
    rc_set(&((Purchase_History *)self)->user, NULL);
}

static const rc_type User_type = {"User", sizeof(User), User_traverse, User_clear, NULL};
static const rc_type PH_type = {
    "Purchase_History", sizeof(Purchase_History), PH_traverse, PH_clear, NULL};

static rc_object *Purchase_History_new(rc_object *user)
{
    Purchase_History *self = (Purchase_History *)rc_new(&PH_type);
    if (self == NULL)
        exit(1);
    rc_set(&self->user, user);
    printf("Purchase_History: self: %p, User: %p\n", (void *)self, (void *)self->user);
    return &self->ob;
}

static rc_object *User_new(void)
{
    User *self = (User *)rc_new(&User_type);
    if (self == NULL)
        exit(1);
    self->purchase_history = Purchase_History_new(&self->ob);   /* steals */
    printf("User: self: %p, Purchase_History:%p\n", (void *)self,
           (void *)self->purchase_history);
    return &self->ob;
}

static const char *obj_availabilty(const void *id)
{
    return object_by_id(id)[0] == 'O' ? "Object exists!" : "Not Found!";
}

static void show(const void *user_id, const void *ph_id)
{
    printf("reference_count(User) = %ld\n", (long)ref_count(user_id));
    printf("reference_count(Purchase_History) = %ld\n", (long)ref_count(ph_id));
    printf("User: %s\n", obj_availabilty(user_id));
    printf("Purchase_History: %s\n", obj_availabilty(ph_id));
}

static int demo(int argc, char **argv)
{
    int collect = has_arg(argc, argv, "--collect");

    rc_gc_disable();
    rc_object *user_1 = User_new();
    const rc_object *user_id = user_1;
    const rc_object *purchase_history_id = ((User *)user_1)->purchase_history;
    show(user_id, purchase_history_id);

    printf("user_1 = None\n");
    rc_decref(user_1);
    show(user_id, purchase_history_id);

    if (collect) {
        printf("gc.collect() = %zu\n", rc_gc_collect(-1));
        printf("User: %s\n", obj_availabilty(user_id));
        printf("Purchase_History: %s\n", obj_availabilty(purchase_history_id));
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
