/*
 * Event: a flag and a count of the times it was set, in shared memory. A
 * waiter returns once the flag is set or the count moved since it began, so
 * a set() followed at once by clear() still releases everyone who waited.
 */
#include <stdlib.h>

#include "atomic.h"
#include "mproc/sync.h"
#include "sync_obj.h"

typedef struct event_block {
    mproc__sync_head_t head;
    volatile int64_t flag;
    volatile int64_t sets; /* how many times set() was called */
    volatile int64_t sleepers;
} event_block_t;

struct mproc_event {
    mproc__sync_t obj;
    event_block_t *b;
};

static mproc_status_t wrap(mproc__sync_t *obj, mproc_event_t **out)
{
    mproc_event_t *e = calloc(1, sizeof *e);
    if (!e) {
        mproc__sync_release(obj);
        return MPROC_ENOMEM;
    }
    e->obj = *obj;
    e->b = (event_block_t *)e->obj.shm.addr;
    *out = e;
    return MPROC_OK;
}

mproc_status_t mproc_event_create(mproc_event_t **out)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc__sync_t obj;
    mproc_status_t st = mproc__sync_create(&obj, MPROC__OBJ_EVENT, sizeof(event_block_t));
    return st ? st : wrap(&obj, out);
}

mproc_status_t mproc_event_set(mproc_event_t *e)
{
    if (!e)
        return MPROC_EINVAL;
    mproc__store(&e->b->flag, 1);
    mproc__add(&e->b->sets, 1);
    mproc__sync_wake(&e->obj, 0, &e->b->sleepers, INT64_MAX);
    return MPROC_OK;
}

mproc_status_t mproc_event_clear(mproc_event_t *e)
{
    if (!e)
        return MPROC_EINVAL;
    mproc__store(&e->b->flag, 0);
    return MPROC_OK;
}

int mproc_event_is_set(const mproc_event_t *e)
{
    return e && mproc__load(&e->b->flag) != 0;
}

typedef struct waiting {
    event_block_t *b;
    int64_t sets;
} waiting_t;

static int done(void *ctx)
{
    waiting_t *w = ctx;
    return mproc__load(&w->b->flag) || mproc__load(&w->b->sets) != w->sets;
}

mproc_status_t mproc_event_wait(mproc_event_t *e, double timeout)
{
    double deadline;
    if (!e)
        return MPROC_EINVAL;
    mproc_status_t st = mproc__sync_deadline(1, timeout, &deadline);
    if (st)
        return st;
    waiting_t w = {e->b, mproc__load(&e->b->sets)};
    return mproc__sync_sleep(&e->obj, 0, &e->b->sleepers, done, &w, deadline);
}

void mproc_event_free(mproc_event_t *e)
{
    if (!e)
        return;
    mproc__sync_release(&e->obj);
    free(e);
}

mproc_status_t mproc_args_add_event(mproc_args_t *args, const mproc_event_t *e)
{
    if (!e)
        return MPROC_EINVAL;
    const mproc__sync_t *objs[1] = {&e->obj};
    return mproc__sync_add_arg(args, MPROC__OBJ_EVENT, 0, objs, 1);
}

mproc_status_t mproc_args_get_event(const mproc_args_t *args, size_t index, mproc_event_t **out)
{
    static const int kinds[1] = {MPROC__OBJ_EVENT};
    mproc__sync_t obj;
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc_status_t st = mproc__sync_get_arg(args, index, MPROC__OBJ_EVENT, kinds, &obj, 1, NULL);
    return st ? st : wrap(&obj, out);
}
