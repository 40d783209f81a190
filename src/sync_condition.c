/*
 * Condition over a Lock or RLock. Its counts change only under that lock:
 * `waiting` counts the waiters not yet notified, `to_wake` the notified ones
 * that have not taken their wake-up; a notify moves waiters from the first to
 * the second and posts one wake-up each. Wake-ups are interchangeable: any
 * waiter may take any. A waiter whose timeout passed takes the lock back and
 * then either leaves as one of the un-notified (if any are left) or, all
 * having been notified, takes the wake-up that is then certainly posted for
 * it, so no wake-up is left over for a later waiter.
 */
#include <stdlib.h>

#include "core.h"
#include "fault.h"
#include "sync_lock.h"

#define LEFTOVER_WAIT 1.0 /* a notifier posts under the lock: only its death delays this */

typedef struct cond_block {
    mproc__sync_head_t head;
    int64_t waiting;
    int64_t to_wake;
} cond_block_t;

struct mproc_condition {
    mproc__sync_t obj;
    mproc_lock_t *lock;
};

#define BLOCK(c) ((cond_block_t *)(c)->obj.shm.addr)

static mproc_status_t wrap(mproc__sync_t *obj, mproc_lock_t *lock, mproc_condition_t **out)
{
    mproc_condition_t *c = calloc(1, sizeof *c);
    if (!c) {
        mproc__sync_release(obj);
        mproc_lock_free(lock);
        return MPROC_ENOMEM;
    }
    c->obj = *obj;
    c->lock = lock;
    *out = c;
    return MPROC_OK;
}

mproc_status_t mproc_condition_create(mproc_condition_t **out, mproc_lock_t *lock)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc_lock_t *mine = NULL;
    mproc_status_t st = lock ? mproc__lock_open(&lock->obj, &mine) : mproc_rlock_create(&mine);
    if (st)
        return st;
    mproc__sync_t obj;
    st = mproc__sync_create(&obj, MPROC__OBJ_CONDITION, sizeof(cond_block_t));
    if (st) {
        mproc_lock_free(mine);
        return st;
    }
    return wrap(&obj, mine, out);
}

mproc_status_t mproc_condition_acquire(mproc_condition_t *c, int block, double timeout)
{
    return c ? mproc_lock_acquire(c->lock, block, timeout) : MPROC_EINVAL;
}

mproc_status_t mproc_condition_release(mproc_condition_t *c)
{
    return c ? mproc_lock_release(c->lock) : MPROC_EINVAL;
}

mproc_lock_t *mproc_condition_get_lock(mproc_condition_t *c)
{
    return c ? c->lock : NULL;
}

/* The caller holds the lock again: settle its place in the counts. */
static mproc_status_t settle(mproc_condition_t *c, mproc_status_t woken)
{
    cond_block_t *b = BLOCK(c);
    if (woken == MPROC_OK) {
        b->to_wake--;
        return MPROC_OK;
    }
    if (b->waiting > 0) {
        b->waiting--;
        return woken;
    }
    (void)mproc__os_sem_wait(c->obj.sems[0], mproc__os_now() + LEFTOVER_WAIT);
    b->to_wake--;
    return MPROC_OK;
}

static mproc_status_t wait_until(mproc_condition_t *c, double deadline)
{
    int64_t levels;
    if (!mproc_lock_is_mine(c->lock))
        return MPROC_ENOTOWNER;
    BLOCK(c)->waiting++;
    MPROC_KILL_POINT("condition.wait.after_count");
    mproc_status_t st = mproc__lock_release_all(c->lock, &levels);
    if (st) {
        BLOCK(c)->waiting--;
        return st;
    }
    MPROC_KILL_POINT("condition.wait.after_release");
    mproc_status_t woken = mproc__os_sem_wait(c->obj.sems[0], deadline);
    MPROC_KILL_POINT("condition.wait.after_wake");
    mproc_status_t held = mproc__lock_restore(c->lock, levels);
    st = settle(c, woken == MPROC_OK ? MPROC_OK : MPROC_ETIMEDOUT);
    return held == MPROC_EOWNERDEAD ? held : st;
}

mproc_status_t mproc_condition_wait(mproc_condition_t *c, double timeout)
{
    double deadline;
    if (!c)
        return MPROC_EINVAL;
    mproc_status_t st = mproc__sync_deadline(1, timeout, &deadline);
    return st ? st : wait_until(c, deadline);
}

mproc_status_t mproc_condition_wait_for(mproc_condition_t *c, mproc_predicate_fn predicate,
                                        void *ctx, double timeout)
{
    double deadline;
    if (!c || !predicate)
        return MPROC_EINVAL;
    mproc_status_t st = mproc__sync_deadline(1, timeout, &deadline);
    if (st)
        return st;
    if (!mproc_lock_is_mine(c->lock))
        return MPROC_ENOTOWNER;
    while (!predicate(ctx)) {
        if (deadline >= 0 && mproc__os_now() >= deadline)
            return MPROC_ETIMEDOUT;
        st = wait_until(c, deadline);
        if (st && st != MPROC_ETIMEDOUT)
            return st;
    }
    return MPROC_OK;
}

mproc_status_t mproc_condition_notify(mproc_condition_t *c, int64_t n)
{
    if (!c)
        return MPROC_EINVAL;
    if (!mproc_lock_is_mine(c->lock))
        return MPROC_ENOTOWNER;
    cond_block_t *b = BLOCK(c);
    int64_t k = n < b->waiting ? n : b->waiting;
    if (k <= 0)
        return MPROC_OK;
    b->waiting -= k;
    b->to_wake += k;
    MPROC_KILL_POINT("condition.notify.after_count");
    for (int64_t i = 0; i < k; i++) {
        (void)mproc__os_sem_post(c->obj.sems[0]);
        MPROC_KILL_POINT("condition.notify.after_post");
    }
    return MPROC_OK;
}

mproc_status_t mproc_condition_notify_all(mproc_condition_t *c)
{
    return mproc_condition_notify(c, INT64_MAX);
}

void mproc_condition_free(mproc_condition_t *c)
{
    if (!c)
        return;
    mproc_lock_free(c->lock);
    mproc__sync_release(&c->obj);
    free(c);
}

mproc_status_t mproc_args_add_condition(mproc_args_t *args, const mproc_condition_t *c)
{
    if (!c)
        return MPROC_EINVAL;
    const mproc__sync_t *objs[2] = {&c->obj, &c->lock->obj};
    return mproc__sync_add_arg(args, MPROC__OBJ_CONDITION, 0, objs, 2);
}

mproc_status_t mproc_args_get_condition(const mproc_args_t *args, size_t index,
                                        mproc_condition_t **out)
{
    static const int kinds[2] = {MPROC__OBJ_CONDITION, MPROC__OBJ_LOCK};
    mproc__sync_t objs[2];
    mproc_lock_t *lock = NULL;
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc_status_t st =
        mproc__sync_get_arg(args, index, MPROC__OBJ_CONDITION, kinds, objs, 2, NULL);
    if (!st && !objs[1].shm.addr) {
        mproc__sync_release(&objs[0]);
        st = MPROC_ETYPE;
    }
    if (st)
        return st;
    st = mproc__lock_wrap(&objs[1], &lock);
    if (st) {
        mproc__sync_release(&objs[0]);
        return st;
    }
    return wrap(&objs[0], lock, out);
}
