/*
 * Event: a flag and a count of the times it was set, in one shared word
 * (count * 2 + flag) that set and clear change atomically. A waiter returns
 * once the flag is set or the count moved since it began, so a set()
 * followed at once by clear() still releases everyone who waited, and a
 * waiter that begins after a set() ended is never released by it.
 */
#include <stdlib.h>

#include "atomic.h"
#include "fault.h"
#include "mproc/sync.h"
#include "sync_obj.h"

typedef struct event_block {
    mproc__sync_head_t head;
    volatile int64_t state; /* 2 * (times set() was called) + the flag */
    volatile int64_t sleepers;
} event_block_t;

struct mproc_event {
    mproc__sync_t obj;
};

#define BLOCK(e) ((event_block_t *)(e)->obj.shm.addr)

mproc_status_t mproc_event_create(mproc_event_t **out)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc__sync_t obj;
    mproc_status_t st = mproc__sync_create(&obj, MPROC__OBJ_EVENT, sizeof(event_block_t));
    if (st)
        return st;
    *out = mproc__sync_view_new(&obj, sizeof **out);
    return *out ? MPROC_OK : MPROC_ENOMEM;
}

mproc_status_t mproc_event_set(mproc_event_t *e)
{
    if (!e)
        return MPROC_EINVAL;
    volatile int64_t *state = &BLOCK(e)->state;
    int64_t v = mproc__load(state);
    while (!mproc__cas(state, v, ((v | 1) + 2)))
        v = mproc__load(state);
    MPROC_KILL_POINT("event.set.after_flag");
    mproc__sync_wake(&e->obj, 0, &BLOCK(e)->sleepers, INT64_MAX);
    return MPROC_OK;
}

mproc_status_t mproc_event_clear(mproc_event_t *e)
{
    if (!e)
        return MPROC_EINVAL;
    volatile int64_t *state = &BLOCK(e)->state;
    int64_t v = mproc__load(state);
    while ((v & 1) && !mproc__cas(state, v, v & ~(int64_t)1))
        v = mproc__load(state);
    return MPROC_OK;
}

int mproc_event_is_set(const mproc_event_t *e)
{
    return e && (mproc__load(&BLOCK(e)->state) & 1);
}

typedef struct waiting {
    event_block_t *b;
    int64_t began; /* the state when the wait began */
} waiting_t;

static int done(void *ctx)
{
    waiting_t *w = ctx;
    int64_t v = mproc__load(&w->b->state);
    return (v & 1) || (v >> 1) != (w->began >> 1);
}

mproc_status_t mproc_event_wait(mproc_event_t *e, double timeout)
{
    double deadline;
    if (!e)
        return MPROC_EINVAL;
    mproc_status_t st = mproc__sync_deadline(1, timeout, &deadline);
    if (st)
        return st;
    waiting_t w = {BLOCK(e), mproc__load(&BLOCK(e)->state)};
    return mproc__sync_sleep(&e->obj, 0, &BLOCK(e)->sleepers, done, &w, deadline);
}

void mproc_event_free(mproc_event_t *e)
{
    mproc__sync_view_free(e);
}

mproc_status_t mproc_args_add_event(mproc_args_t *args, const mproc_event_t *e)
{
    return mproc__sync_view_add_arg(args, MPROC__OBJ_EVENT, e);
}

mproc_status_t mproc_args_get_event(const mproc_args_t *args, size_t index,
                                    mproc_event_t **out)
{
    void *view = NULL;
    if (!out)
        return MPROC_EINVAL;
    mproc_status_t st =
        mproc__sync_view_get_arg(args, index, MPROC__OBJ_EVENT, sizeof **out, &view);
    *out = view;
    return st;
}
