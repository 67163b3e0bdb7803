/* world_librefcount.c - librefcount (runtime/) as a refcount world. Hooks the
 * runtime's tracer (rc_set_tracer), which reports every object creation and
 * every incref/decref, the library's internal ones too. Installed from the
 * shim's constructor when librefcount is loaded, and lazily from thin
 * interposers of rc_new / rc_incref / rc_decref, which also covers a
 * librefcount loaded later. A tracer the program sets itself is kept and
 * called after ours (rc_set_tracer / rc_get_tracer / rc_set_tracer_events
 * are interposed). Without history the runtime is asked for creations and
 * deallocations only (rc_set_tracer_events), so increfs and decrefs cost
 * it one load. Once installed, the interposers jump straight to the
 * runtime's functions. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>

#include "lg_shim.h"
#include "rcworld.h"
#include "refcount.h"

static struct {
    void (*set_tracer)(rc_tracer_fn, void *);
    void (*set_events)(unsigned);           /* NULL: a runtime without the mask */
    rc_object *(*new_)(const rc_type *);
    void (*incref)(rc_object *);
    void (*decref)(rc_object *);
    intptr_t (*refcount)(const rc_object *);
} rt;
static atomic_int installed;            /* 0 no, 1 being installed, 2 yes */
static rc_tracer_fn user_fn;            /* the program's own tracer, chained */
static void *user_arg;
static unsigned user_events = RC_TRACE_ALL; /* what the program asked its tracer to see */
static uintptr_t text_start, text_end;  /* librefcount's executable segment */

static inline void record(rc_object *o, rc_trace_event ev, void *block)
{
    switch (ev) {
    case RC_TRACE_NEW:
        lg_obj_new(&lg_world_librefcount, o, block, (int64_t)o->refcnt);
        break;
    case RC_TRACE_INCREF:
        lg_obj_ref(o, block, LG_OBJ_INCREF, (int64_t)o->refcnt);
        break;
    case RC_TRACE_DECREF:
        lg_obj_ref(o, block, LG_OBJ_DECREF, (int64_t)o->refcnt);
        break;
    case RC_TRACE_DEALLOC:
        lg_obj_dealloc(o, block);
        break;
    }
}

/* Ours first, then the program's tracer, if it wants the event. */
static __attribute__((noinline)) void record_and_chain(rc_object *o, rc_trace_event ev,
                                                       void *block, rc_tracer_fn fn)
{
    record(o, ev, block);
    if (__atomic_load_n(&user_events, __ATOMIC_RELAXED) & RC_TRACE_BIT(ev))
        fn(o, ev, block, user_arg);
}

/* With no tracer of the program's, an event is a tail call into objects.c
 * (whose lg_obj_* are out of line for it): the tracer keeps no frame. */
static void tracer(rc_object *o, rc_trace_event ev, void *block, void *arg)
{
    rc_tracer_fn fn = __atomic_load_n(&user_fn, __ATOMIC_ACQUIRE);
    if (LG_UNLIKELY(fn != NULL))
        record_and_chain(o, ev, block, fn);
    else
        record(o, ev, block);
}

/* The events the runtime reports: creations and deallocations always;
 * increfs and decrefs while the history is recorded; and whatever the
 * program's own tracer asked for. Without history, the runtime's increfs
 * and decrefs then cost one load, as with no tracer. */
static void update_events(void)
{
    unsigned want = RC_TRACE_BIT(RC_TRACE_NEW) | RC_TRACE_BIT(RC_TRACE_DEALLOC);
    if (lg_cfg.history > 0)
        want = RC_TRACE_ALL;
    if (__atomic_load_n(&user_fn, __ATOMIC_ACQUIRE) != NULL)
        want |= __atomic_load_n(&user_events, __ATOMIC_RELAXED);
    if (rt.set_events != NULL)
        rt.set_events(want);
}

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t a = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && a >= s && a < s + ph->p_memsz) {
            text_start = s;
            text_end = s + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

static bool install(void)
{
    int expect = 0;
    if (atomic_load(&installed) == 2)
        return true;
    if (!atomic_compare_exchange_strong(&installed, &expect, 1))
        return false;                   /* another thread is installing */
    int was = lg_in_hook;
    lg_in_hook = 1;                     /* dlsym may allocate */
    rt.set_tracer = dlsym(RTLD_NEXT, "rc_set_tracer");
    rt.set_events = dlsym(RTLD_NEXT, "rc_set_tracer_events");
    rt.new_ = dlsym(RTLD_NEXT, "rc_new");
    rt.incref = dlsym(RTLD_NEXT, "rc_incref");
    rt.decref = dlsym(RTLD_NEXT, "rc_decref");
    rt.refcount = dlsym(RTLD_NEXT, "rc_refcount");
    bool ok = rt.set_tracer != NULL && rt.refcount != NULL;
    if (ok) {
        dl_iterate_phdr(find_text, (void *)(uintptr_t)rt.refcount);
        rt.set_tracer(tracer, NULL);
        update_events();
    }
    lg_in_hook = was;
    atomic_store(&installed, ok ? 2 : 0);
    return ok;
}

static inline void ensure_installed(void)
{
    if (LG_UNLIKELY(atomic_load_explicit(&installed, memory_order_relaxed) != 2) &&
        atomic_load(&lg_state) == LG_READY)
        install();
}

/* ---- thin interposers: install lazily, then forward --------------------- */

static void resolve_forwarders(void)
{
    int was = lg_in_hook;
    lg_in_hook = 1;
    if (rt.new_ == NULL)
        rt.new_ = dlsym(RTLD_NEXT, "rc_new");
    if (rt.incref == NULL)
        rt.incref = dlsym(RTLD_NEXT, "rc_incref");
    if (rt.decref == NULL)
        rt.decref = dlsym(RTLD_NEXT, "rc_decref");
    if (rt.set_tracer == NULL)
        rt.set_tracer = dlsym(RTLD_NEXT, "rc_set_tracer");
    if (rt.set_events == NULL)
        rt.set_events = dlsym(RTLD_NEXT, "rc_set_tracer_events");
    lg_in_hook = was;
}

/* Until the hook is installed, rc_new / rc_incref / rc_decref go through
 * *_first, which install it (once the shim is ready) and forward; from then
 * on each jumps straight to the runtime's function (one instruction, where
 * checking the state cost about ten on each of the program's calls). */
static rc_object *new_first(const rc_type *type);
static void incref_first(rc_object *o);
static void decref_first(rc_object *o);
static struct {
    rc_object *(*new_)(const rc_type *);
    void (*incref)(rc_object *);
    void (*decref)(rc_object *);
} fwd = {new_first, incref_first, decref_first};

static void settle_forwarders(void)
{
    if (atomic_load(&installed) != 2)
        return;
    if (rt.new_ != NULL)
        __atomic_store_n(&fwd.new_, rt.new_, __ATOMIC_RELAXED);
    if (rt.incref != NULL)
        __atomic_store_n(&fwd.incref, rt.incref, __ATOMIC_RELAXED);
    if (rt.decref != NULL)
        __atomic_store_n(&fwd.decref, rt.decref, __ATOMIC_RELAXED);
}

static rc_object *new_first(const rc_type *type)
{
    ensure_installed();
    if (LG_UNLIKELY(rt.new_ == NULL))
        resolve_forwarders();
    if (rt.new_ == NULL) {
        errno = ENOSYS;
        return NULL;
    }
    settle_forwarders();
    return rt.new_(type);
}

static void incref_first(rc_object *o)
{
    ensure_installed();
    if (LG_UNLIKELY(rt.incref == NULL))
        resolve_forwarders();
    settle_forwarders();
    if (rt.incref != NULL)
        rt.incref(o);
}

static void decref_first(rc_object *o)
{
    ensure_installed();
    if (LG_UNLIKELY(rt.decref == NULL))
        resolve_forwarders();
    settle_forwarders();
    if (rt.decref != NULL)
        rt.decref(o);
}

LG_EXPORT rc_object *rc_new(const rc_type *type)
{
    return __atomic_load_n(&fwd.new_, __ATOMIC_RELAXED)(type);
}

LG_EXPORT void rc_incref(rc_object *o)
{
    __atomic_load_n(&fwd.incref, __ATOMIC_RELAXED)(o);
}

LG_EXPORT void rc_decref(rc_object *o)
{
    __atomic_load_n(&fwd.decref, __ATOMIC_RELAXED)(o);
}

LG_EXPORT void rc_set_tracer(rc_tracer_fn fn, void *arg)
{
    ensure_installed();
    if (atomic_load(&installed) == 2) { /* keep ours, chain the program's */
        __atomic_store_n(&user_fn, NULL, __ATOMIC_RELEASE);
        user_arg = arg;
        __atomic_store_n(&user_fn, fn, __ATOMIC_RELEASE);
        update_events();
        return;
    }
    if (LG_UNLIKELY(rt.set_tracer == NULL))
        resolve_forwarders();
    if (rt.set_tracer != NULL)
        rt.set_tracer(fn, arg);
}

LG_EXPORT void rc_set_tracer_events(unsigned events)
{
    ensure_installed();
    if (atomic_load(&installed) == 2) { /* the program's mask is its tracer's */
        __atomic_store_n(&user_events, events, __ATOMIC_RELAXED);
        update_events();
        return;
    }
    if (LG_UNLIKELY(rt.set_events == NULL))
        resolve_forwarders();
    if (rt.set_events != NULL)
        rt.set_events(events);
}

LG_EXPORT rc_tracer_fn rc_get_tracer(void **arg)
{
    if (atomic_load(&installed) == 2) {
        rc_tracer_fn fn = __atomic_load_n(&user_fn, __ATOMIC_ACQUIRE);
        if (arg != NULL)
            *arg = fn != NULL ? user_arg : NULL;
        return fn;
    }
    int was = lg_in_hook;
    lg_in_hook = 1;
    rc_tracer_fn (*get)(void **) = dlsym(RTLD_NEXT, "rc_get_tracer");
    lg_in_hook = was;
    if (get == NULL) {
        if (arg != NULL)
            *arg = NULL;
        return NULL;
    }
    return get(arg);
}

/* ---- the world interface ------------------------------------------------- */

static const char *type_name(const void *obj)
{
    const rc_object *o = obj;
    return o->type != NULL && o->type->name != NULL ? o->type->name : "?";
}

static int64_t refcount(const void *obj)
{
    return rt.refcount ? (int64_t)rt.refcount(obj) : (int64_t)((const rc_object *)obj)->refcnt;
}

static uint32_t flags(const void *obj)
{
    const rc_object *o = obj;
    uint32_t f = 0;
    if (o->type != NULL && o->type->traverse != NULL)
        f |= LG_OBJF_GC_TRACKED;
    if (refcount(obj) == RC_IMMORTAL_REFCNT)
        f |= LG_OBJF_IMMORTAL;
    return f;
}

struct visit_ctx {
    lg_edge_fn fn;
    void *arg;
};

static int visit(rc_object *child, const char *field, void *arg)
{
    struct visit_ctx *c = arg;
    return child != NULL ? c->fn(child, field, c->arg) : 0;
}

static int visit_edges(void *obj, lg_edge_fn fn, void *arg)
{
    rc_object *o = obj;
    if (o->type == NULL || o->type->traverse == NULL)
        return 0;
    struct visit_ctx c = {fn, arg};
    int r = o->type->traverse(o, visit, &c);
    return r;
}

static bool is_runtime_ip(uintptr_t ip)
{
    return ip >= text_start && ip < text_end;
}

const struct lg_rc_world lg_world_librefcount = {
    .name = "librefcount",
    .id = LG_WORLD_LIBREFCOUNT,
    .install = install,
    .type_name = type_name,
    .refcount = refcount,
    .flags = flags,
    .visit_edges = visit_edges,
    .is_runtime_ip = is_runtime_ip,
};
