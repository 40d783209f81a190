/*
 * The children this process started and has not yet seen end: what
 * active_children() lists and what a normal exit terminates or joins.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

void mproc__registry_add(mproc_process_t *p)
{
    if (p->active)
        return;
    p->next_active = mproc__g.active;
    mproc__g.active = p;
    p->active = 1;
}

void mproc__registry_remove(mproc_process_t *p)
{
    if (!p->active)
        return;
    for (mproc_process_t **link = &mproc__g.active; *link; link = &(*link)->next_active) {
        if (*link == p) {
            *link = p->next_active;
            break;
        }
    }
    p->next_active = NULL;
    p->active = 0;
}

/* The end of an adopted object, once its child is reaped. */
static void destroy_adopted(mproc_process_t *p)
{
    mproc__os_child_release(&p->os);
    mproc_args_free(p->args);
    free(p->name);
    free(p->identity);
    free(p);
}

static void forget(mproc_process_t *p)
{
    mproc__registry_remove(p);
    if (p->detached)
        destroy_adopted(p);
}

int mproc__registry_adopt(mproc_process_t *p)
{
    if (!p->active || p->os.reaped)
        return 0;
    p->detached = 1;
    return 1;
}

void mproc__registry_reap(void)
{
    mproc_process_t *p = mproc__g.active;
    while (p) {
        mproc_process_t *next = p->next_active;
        if (!p->os.reaped)
            (void)mproc__os_child_wait(&p->os, 0.0);
        if (p->os.reaped)
            forget(p);
        p = next;
    }
}

mproc_status_t mproc_active_children(mproc_process_t **out, size_t cap, size_t *count)
{
    if (count)
        *count = 0;
    if (!count || (!out && cap))
        return MPROC_EINVAL;
    size_t n = 0;
    mproc__lock();
    mproc__registry_reap();
    for (mproc_process_t *p = mproc__g.active; p; p = p->next_active) {
        if (p->detached)
            continue; /* the caller freed its object */
        if (n < cap)
            out[n] = p;
        n++;
    }
    mproc__unlock();
    *count = n;
    return MPROC_OK;
}

void (*mproc__pools_at_exit)(void);

void mproc__join_children_at_exit(void)
{
    /* A fork child inherits the atexit handler; only the owner acts on its children. */
    if (!mproc__g.initialized || mproc__g.owner_pid != mproc__os_getpid())
        return;
    if (mproc__pools_at_exit)
        mproc__pools_at_exit();
    mproc__lock();
    mproc__registry_reap();
    int waiting = mproc__g.active != NULL;
    mproc__unlock();
    /* Nobody's output to come after: a fork child leaves its streams untouched
     * (each stream's lock is a page shared with the parent until written). */
    if (!waiting)
        return;
    /* CPython flushes stdout when the main module ends, before its exit
     * handlers wait: output printed before the end precedes the children's. */
    fflush(NULL);
    mproc__lock();
    mproc__registry_reap();
    for (mproc_process_t *p = mproc__g.active; p; p = p->next_active)
        if (p->daemon)
            (void)mproc__os_child_signal(&p->os, 0);
    /* Join without the lock held: a child's end never needs it, other threads might. */
    mproc_process_t *p;
    while ((p = mproc__g.active) != NULL) {
        mproc__registry_remove(p);
        mproc__unlock();
        (void)mproc__os_child_wait(&p->os, -1.0);
        mproc__lock();
        if (p->detached)
            destroy_adopted(p);
    }
    mproc__unlock();
}
