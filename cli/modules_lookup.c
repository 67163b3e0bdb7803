/* modules_lookup.c - lg_module_of() and the module identity canonical
 * stacks compare (modules_lookup.h). A linear scan of the module map, as
 * the symbolizer always did: maps hold tens of modules and every caller
 * caches per address. Owns nothing. */
#include "modules_lookup.h"

#include <string.h>

uint32_t lg_module_of(const struct lg_snap *s, uint32_t stack, uint64_t pc)
{
    bool by_epoch = s->module_unload != NULL && s->stack_epoch != NULL && stack != LG_NONE &&
                    stack < s->nstacks;
    uint32_t epoch = by_epoch ? s->stack_epoch[stack] : 0;
    uint32_t first = LG_NONE, loaded = LG_NONE, retired = LG_NONE;

    for (uint32_t i = 0; i < s->nmodules; i++) {
        const struct lg_module *m = &s->modules[i].m;
        uint32_t unload = s->module_unload != NULL ? s->module_unload[i] : LG_NONE;

        if (pc < m->start || pc >= m->end)
            continue;
        if (first == LG_NONE)
            first = i;
        if (unload == LG_NONE) {
            if (loaded == LG_NONE)
                loaded = i;
            if (!by_epoch)
                break;               /* the first loaded one wins */
        } else if (by_epoch && unload > epoch &&
                   (retired == LG_NONE || unload < s->module_unload[retired])) {
            retired = i;             /* unloaded first after the stack was recorded */
        }
    }
    if (retired != LG_NONE)
        return retired;
    return loaded != LG_NONE ? loaded : by_epoch ? LG_NONE : first;
}

bool lg_snap_has_unloaded(const struct lg_snap *s)
{
    for (uint32_t i = 0; s->module_unload != NULL && i < s->nmodules; i++)
        if (s->module_unload[i] != LG_NONE)
            return true;
    return false;
}

bool lg_same_module_file(const struct lg_snap *s, uint32_t a, uint32_t b)
{
    if (a == b)
        return true;
    if (a == LG_NONE || b == LG_NONE)
        return false;
    const struct lg_mod *x = &s->modules[a], *y = &s->modules[b];
    uint32_t xl = x->build_id != NULL ? x->m.build_id_len : 0;
    uint32_t yl = y->build_id != NULL ? y->m.build_id_len : 0;
    return x->m.base == y->m.base && strcmp(x->path, y->path) == 0 && xl == yl &&
           (xl == 0 || memcmp(x->build_id, y->build_id, xl) == 0);
}

uint64_t lg_module_file_hash(const struct lg_snap *s, uint32_t m)
{
    if (m == LG_NONE)
        return 0;
    const struct lg_mod *x = &s->modules[m];
    uint64_t h = 0xcbf29ce484222325ull ^ x->m.base;
    for (const unsigned char *p = (const unsigned char *)x->path; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    if (x->build_id != NULL)
        for (uint32_t i = 0; i < x->m.build_id_len; i++)
            h = (h ^ x->build_id[i]) * 0x100000001b3ull;
    return h | 1;
}
