/*
 * The shared lock of lock.h, and the sleep rule it shares with the queues.
 *
 * A waiter spins briefly, then counts itself in `waiters` and sleeps on the
 * semaphore: the holder posts when it releases and sees a waiter, unless a
 * post is already pending (`posted`), so posts never pile up into a storm of
 * wake-ups for nothing; the waiter that takes the post clears the flag. A
 * post may find nobody (a waiter left at its deadline); a later waiter then
 * wakes once for nothing and tries again. Between sleeps a waiter checks that
 * the holder still runs.
 *
 * Light publication (a release store where a full fence would be needed to
 * order it before the publisher's look at the sleeper's announcement) can hide
 * from a sleeper for the few nanoseconds a store waits in the publisher's
 * store buffer. The heavy fence closes that window, but it interrupts other
 * CPUs and takes a kernel-wide mutex (costly, more so in a VM), and waits
 * under contention are many and short. So for its first ~100 ms a sleeper
 * sleeps in unfenced slices (50 us doubling up to 10 ms): a publication missed
 * in the window is seen at the next look. A wait that goes on longer runs the
 * fence before each sleep and may then sleep until woken.
 */
#include "lock.h"

#include "atomic.h"

#define SPINS 20                /* about the time a put or get holds a lock */
#define FIRST_SLICE 50e-6
#define LONGEST_SLICE 10e-3
#define UNFENCED_WAIT 0.1        /* how long a wait goes on before it fences */
#define UNFENCED_SLICE 1e-3      /* no heavy fence: look again this often */
#define HOLDER_CHECK 0.1         /* a dead holder is noticed within this */

double mproc__sleep_slice(const volatile int64_t *light_users, int nth, double waited)
{
    if (!mproc__load(light_users))
        return -1; /* every publisher uses full fences */
    if (waited < UNFENCED_WAIT)
        return nth < 8 ? FIRST_SLICE * (double)(1 << nth) : LONGEST_SLICE;
    return mproc__os_fence_heavy() == MPROC_OK ? -1 : UNFENCED_SLICE;
}

double mproc__slice_end(double slice, double deadline)
{
    if (slice < 0)
        return deadline;
    double until = mproc__os_now() + slice;
    return deadline >= 0 && until > deadline ? deadline : until;
}

int mproc__light_enroll(volatile int64_t *light_users)
{
    int light = mproc__os_fence_enroll();
    if (light && !mproc__load(light_users))
        mproc__store(light_users, 1);
    return light;
}

void mproc__lock_bind(mproc__lock_view_t *v, mproc__lock_t *lock, mproc__os_sem_t *sem,
                      const volatile int64_t *light_users, int light)
{
    v->lock = lock;
    v->sem = sem;
    v->light_users = light_users;
    v->light = light;
}

static int try_take(mproc__lock_t *l, int64_t me)
{
    return mproc__load(&l->owner) == 0 && mproc__cas(&l->owner, 0, me);
}

mproc_status_t mproc__lock_acquire(mproc__lock_view_t *v, double deadline)
{
    mproc__lock_t *l = v->lock;
    if (mproc__lock_try(v))
        return MPROC_OK;
    int64_t me = mproc__os_self_token();
    for (int i = 0; i < SPINS && deadline != 0.0; i++) {
        mproc__cpu_relax();
        if (try_take(l, me))
            return MPROC_OK;
    }
    double start = mproc__os_now(), next_check = start + HOLDER_CHECK;
    for (int nth = 0;; nth++) {
        mproc__add(&l->waiters, 1);
        double slice = mproc__sleep_slice(v->light_users, nth, mproc__os_now() - start);
        if (try_take(l, me)) {
            mproc__add(&l->waiters, -1);
            return MPROC_OK;
        }
        double until = mproc__slice_end(slice, deadline);
        if (until < 0 || until > next_check)
            until = next_check;
        mproc_status_t st = mproc__os_sem_wait(v->sem, until);
        mproc__add(&l->waiters, -1);
        if (st == MPROC_OK) {
            mproc__store(&l->posted, 0);
            continue; /* released (or a stale post): try again */
        }
        if (st != MPROC_ETIMEDOUT)
            return st;
        if (try_take(l, me))
            return MPROC_OK;
        double now = mproc__os_now();
        if (now >= next_check) {
            int64_t holder = mproc__load(&l->owner);
            if (holder != 0 && holder != me && !mproc__os_token_alive(holder) &&
                mproc__cas(&l->owner, holder, me))
                return MPROC_EOWNERDEAD;
            next_check = now + HOLDER_CHECK;
        }
        if (deadline >= 0 && now >= deadline)
            return MPROC_ETIMEDOUT;
    }
}

void mproc__lock_wake(mproc__lock_view_t *v)
{
    mproc__lock_t *l = v->lock;
    if (!mproc__load(&l->posted) && !mproc__exchange(&l->posted, 1))
        (void)mproc__os_sem_post(v->sem);
}
