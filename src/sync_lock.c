/*
 * Lock and RLock on the shared lock of lock.h, without its bias (a public
 * lock may be released by any process, and is not taken in long runs by one).
 * The owner word names the holding process; `holder` names its thread, so
 * that an RLock knows its owner and a Condition knows the caller holds its
 * lock. `holder` is cleared before the owner word is, so a thread never sees
 * itself as the holder of a lock another thread of its process just took.
 */
#include "atomic.h"
#include "fault.h"
#include "sync_lock.h"

static mproc_lock_t *bind(mproc_lock_t *l)
{
    if (l) {
        l->b = (mproc__lock_block_t *)l->obj.shm.addr;
        mproc__lock_bind(&l->view, &l->b->lock, l->obj.sems[0], &l->b->head.light_users, 0);
    }
    return l;
}

mproc_status_t mproc__lock_wrap(mproc__sync_t *obj, mproc_lock_t **out)
{
    *out = bind(mproc__sync_view_new(obj, sizeof **out));
    return *out ? MPROC_OK : MPROC_ENOMEM;
}

static mproc_status_t create(mproc_lock_t **out, int recursive)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc__sync_t obj;
    mproc_status_t st = mproc__sync_create(&obj, MPROC__OBJ_LOCK, sizeof(mproc__lock_block_t));
    if (st)
        return st;
    ((mproc__lock_block_t *)obj.shm.addr)->recursive = recursive;
    return mproc__lock_wrap(&obj, out);
}

mproc_status_t mproc_lock_create(mproc_lock_t **out)
{
    return create(out, 0);
}

mproc_status_t mproc_rlock_create(mproc_lock_t **out)
{
    return create(out, 1);
}

mproc_status_t mproc__lock_open(mproc__sync_t *obj, mproc_lock_t **out)
{
    mproc__sync_t mine;
    *out = NULL;
    mproc_status_t st = mproc__sync_dup(obj, &mine);
    return st ? st : mproc__lock_wrap(&mine, out);
}

static int64_t owner_of(const mproc_lock_t *l)
{
    return mproc__load(&l->b->lock.owner) & ~MPROC__LOCK_FLAGS;
}

int mproc_lock_is_mine(const mproc_lock_t *l)
{
    return l && owner_of(l) == mproc__os_self_token() &&
           mproc__load(&l->b->holder) == (int64_t)mproc__self_thread();
}

/* A wait that gave up finds the holder dead: the lock.c wait checks only
 * every tenth of a second, and a look that may not wait not at all. */
static mproc_status_t take_from_dead(mproc_lock_t *l)
{
    int64_t o = mproc__load(&l->b->lock.owner), me = mproc__os_self_token();
    int64_t holder = o & ~MPROC__LOCK_FLAGS;
    if (o == 0 || holder == me || mproc__os_token_alive(holder) ||
        !mproc__cas(&l->b->lock.owner, o, me))
        return MPROC_ETIMEDOUT;
    return MPROC_EOWNERDEAD;
}

/* Only the holder writes `holder` and `count`; the owner word's
 * compare-and-swap orders them for the next holder. */
static void held(mproc_lock_t *l, int64_t levels)
{
    mproc__store_release(&l->b->holder, (int64_t)mproc__self_thread());
    l->b->count = levels;
    MPROC_KILL_POINT("sync_lock.acquire.after_holder");
}

static mproc_status_t take(mproc_lock_t *l, double deadline, int64_t levels)
{
    mproc_status_t st = mproc__lock_acquire(&l->view, deadline);
    if (st == MPROC_ETIMEDOUT)
        st = take_from_dead(l);
    if (st == MPROC_OK || st == MPROC_EOWNERDEAD)
        held(l, levels);
    return st;
}

mproc_status_t mproc_lock_acquire(mproc_lock_t *l, int block, double timeout)
{
    double deadline;
    if (!l || timeout != timeout)
        return MPROC_EINVAL;
    if (l->b->recursive && mproc_lock_is_mine(l)) {
        l->b->count++;
        MPROC_KILL_POINT("sync_lock.acquire.after_count");
        return MPROC_OK;
    }
    /* A free lock is taken before any clock is read. */
    if (mproc__lock_try_unbiased(&l->view, mproc__os_self_token())) {
        held(l, 1);
        return MPROC_OK;
    }
    mproc_status_t st = mproc__sync_deadline(block, timeout, &deadline);
    return st ? st : take(l, deadline, 1);
}

static mproc_status_t unlock(mproc_lock_t *l)
{
    mproc__lock_t *k = &l->b->lock;
    for (;;) {
        int64_t o = mproc__load(&k->owner);
        if (o == 0)
            return MPROC_ENOTHELD;
        mproc__store_release(&l->b->holder, 0); /* before the owner word's release */
        MPROC_KILL_POINT("sync_lock.release.after_holder");
        if (mproc__cas(&k->owner, o, 0))
            break;
    }
    MPROC_KILL_POINT("sync_lock.release.after_owner");
    if (mproc__load(&k->waiters) > 0)
        mproc__lock_wake(&l->view);
    return MPROC_OK;
}

mproc_status_t mproc_lock_release(mproc_lock_t *l)
{
    if (!l)
        return MPROC_EINVAL;
    if (l->b->recursive) {
        if (!mproc_lock_is_mine(l))
            return owner_of(l) ? MPROC_ENOTOWNER : MPROC_ENOTHELD;
        if (--l->b->count > 0) {
            MPROC_KILL_POINT("sync_lock.release.after_count");
            return MPROC_OK;
        }
    }
    return unlock(l);
}

mproc_status_t mproc__lock_release_all(mproc_lock_t *l, int64_t *levels)
{
    *levels = 0;
    if (!mproc_lock_is_mine(l))
        return MPROC_ENOTOWNER;
    *levels = l->b->count;
    return unlock(l);
}

mproc_status_t mproc__lock_restore(mproc_lock_t *l, int64_t levels)
{
    return take(l, -1.0, levels);
}

void mproc_lock_free(mproc_lock_t *l)
{
    mproc__sync_view_free(l);
}

mproc_status_t mproc_args_add_lock(mproc_args_t *args, const mproc_lock_t *l)
{
    return mproc__sync_view_add_arg(args, MPROC__OBJ_LOCK, l);
}

mproc_status_t mproc_args_get_lock(const mproc_args_t *args, size_t index,
                                   mproc_lock_t **out)
{
    void *view = NULL;
    if (!out)
        return MPROC_EINVAL;
    mproc_status_t st =
        mproc__sync_view_get_arg(args, index, MPROC__OBJ_LOCK, sizeof **out, &view);
    *out = bind(view);
    return st;
}
