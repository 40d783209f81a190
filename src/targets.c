/* Registered targets: a list of static entries filled before main(). */
#include <string.h>

#include "core.h"

static mproc_target_entry_t *targets;

mproc_status_t mproc_register_target(mproc_target_entry_t *entry)
{
    if (!entry || !entry->fn || !entry->name)
        return MPROC_EINVAL;
    for (mproc_target_entry_t *e = targets; e; e = e->next) {
        if (e == entry)
            return MPROC_OK;
        if (strcmp(e->name, entry->name) == 0)
            return e->fn == entry->fn ? MPROC_OK : MPROC_EEXIST;
    }
    entry->next = targets;
    targets = entry;
    return MPROC_OK;
}

mproc_target_fn mproc__target_by_name(const char *name)
{
    for (mproc_target_entry_t *e = targets; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e->fn;
    return NULL;
}

const char *mproc__target_name(mproc_target_fn fn)
{
    for (mproc_target_entry_t *e = targets; e; e = e->next)
        if (e->fn == fn)
            return e->name;
    return NULL;
}

/* Tasks (pool.h): the same scheme, a list of static entries filled before main(). */
static mproc_task_entry_t *tasks;

mproc_status_t mproc_register_task(mproc_task_entry_t *entry)
{
    if (!entry || !entry->fn || !entry->name)
        return MPROC_EINVAL;
    for (mproc_task_entry_t *e = tasks; e; e = e->next) {
        if (e == entry)
            return MPROC_OK;
        if (strcmp(e->name, entry->name) == 0)
            return e->fn == entry->fn ? MPROC_OK : MPROC_EEXIST;
    }
    entry->next = tasks;
    tasks = entry;
    return MPROC_OK;
}

mproc_task_fn mproc__task_by_name(const char *name)
{
    for (mproc_task_entry_t *e = tasks; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e->fn;
    return NULL;
}

const char *mproc__task_name(mproc_task_fn fn)
{
    for (mproc_task_entry_t *e = tasks; e; e = e->next)
        if (e->fn == fn)
            return e->name;
    return NULL;
}
