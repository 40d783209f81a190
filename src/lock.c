/*
 * The shared lock of lock.h, and the sleep rule it shares with the queues.
 *
 * A waiter spins briefly, then counts itself in `waiters` and sleeps on the
 * semaphore: the holder posts when it releases and sees a waiter, unless a
 * post is already pending (`posted`), so posts never pile up into a storm of
 * wake-ups for nothing; the waiter that takes the post clears the flag. A
 * post may find nobody (a waiter left at its deadline); a later waiter then
 * wakes once for nothing and tries again. A waiter that dies after taking a
 * post but before clearing the flag would leave it set for good: a waiter
 * whose sleep times out with the flag set clears it. Between sleeps a waiter
 * checks that the holder still runs.
 *
 * Naps (queue locks). Where processes outnumber CPUs, a holder that puts or
 * gets in a loop takes the lock again at once, so a counted waiter woken by
 * its post usually finds it taken, sleeps, and is posted again: each cycle
 * cost the holder, the one process making progress, a post (a system call and
 * a wake-up of another CPU) every few messages (up to 15,000 posts and sleeps
 * in a 4x4 run of a million messages, docs/performance.md, queue_4x4). So a
 * waiter of a view with `naps` first sleeps a few short slices uncounted
 * (NAPS: 50 us doubling, 0.75 ms in all), which no release has to end, and
 * looks at the lock after each; only a wait that outlasts them is counted
 * and posted for. A nap that takes a post (meant for a counted waiter) clears
 * the flag as a counted waiter would and tries in its place: the holder it
 * finds, or its own release, posts again.
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
 *
 * Bias. A process that took the lock BIAS_AFTER times in a row, with no
 * waiter counted at the release, keeps it: the owner word becomes its token
 * with BIASED and the number of its thread's slot. It then enters with a
 * release store of its slot's `busy` = 1 and a look at the owner word, and
 * leaves with `busy` = 0. Another process revokes the bias: it marks the owner
 * word REVOKED (the holder's next look fails), runs the heavy fence, which
 * makes the holder's `busy` = 1 visible if its look came before the mark, and
 * then takes the lock once that `busy` reads 0. Every waiter can do this and
 * each step is safe to repeat, so a revoker that dies halfway leaves nothing
 * stuck; a holder that finds its own bias marked was not inside (it is taking
 * the lock) and takes it back like a free one. Each revocation multiplies the
 * run needed for the next bias by 4, so processes that take turns stop paying
 * for fences soon.
 *
 * Why slots: a thread's first look and its announcement are two steps, and a
 * thread preempted between them may announce (and then, its second look
 * failing, withdraw) long after its bias was revoked and the lock kept for
 * another. With one `busy` word for all, that late `busy` = 0 erased the new
 * holder's `busy` = 1, a revoker then took the lock with the holder inside,
 * and a queue lost messages (docs/performance.md, "A hang found by the
 * sweep"). So each thread kept for announces in its own slot (a token and a
 * thread, kept until it unbiases at the queue's release or dies), whose word
 * nobody else writes, and the owner word names the slot, so that threads of
 * one process (one token) also tell their biases apart. A thread for which no
 * slot is free is not kept for: it takes the lock the plain way.
 */
#include "lock.h"

#include "atomic.h"
#include "fault.h"

#define SPINS 20                /* about the time a put or get holds a lock */
#define NAPS 4                  /* uncounted sleeps of a view with naps (50 us doubling) */
#define FIRST_SLICE 50e-6
#define LONGEST_SLICE 10e-3
#define UNFENCED_WAIT 0.1        /* how long a wait goes on before it fences */
#define UNFENCED_SLICE 1e-3      /* no heavy fence: look again this often */
#define HOLDER_CHECK 0.1         /* a dead holder is noticed within this */
#define BIAS_AFTER 64            /* takes in a row before a process keeps the lock */
#define BIAS_MAX_SHIFT 14        /* at most 64 << 14 (about a million) after revocations */

#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
__thread char mproc__thread_mark;
#endif

#define FLAGS MPROC__LOCK_FLAGS
#define BIASED MPROC__LOCK_BIASED
#define REVOKED MPROC__LOCK_REVOKED
#define SLOTS MPROC__LOCK_BIAS_SLOTS

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
    v->held_biased = 0;
    v->bias_slot = 0;
    v->bias_thread = 0;
    v->naps = 0;
}

/* Somebody else asked for a lock kept by a bias: the next run starts afresh
 * and must be longer (the caller holds the lock). */
static void revoked(mproc__lock_t *l)
{
    l->revoked++;
    l->streak = 0;
}

/* Taken by `me` (the caller holds the lock): count the run. */
static void taken(mproc__lock_t *l, int64_t me)
{
    if (l->last == me) {
        l->streak++;
    } else {
        l->last = me;
        l->streak = 1;
    }
}

static void free_slot(mproc__lock_t *l, int k)
{
    mproc__store(&l->busy[k], 0);
    mproc__store(&l->slot_thread[k], 0);
    mproc__store(&l->slot_token[k], 0);
}

static int slot_of(int64_t o)
{
    return (o & MPROC__LOCK_SLOT(1)) != 0;
}

/* The owner word `o` says the lock is kept for the calling thread of `me`
 * (through this view). Threads share a token; only one has the slot named. */
static int kept_for_me(const mproc__lock_view_t *v, int64_t o, int64_t me)
{
    int k = slot_of(o);
    return (o & ~FLAGS) == me && v->bias_thread == mproc__self_thread() && v->bias_slot == k &&
           mproc__load(&v->lock->slot_token[k]) == me &&
           mproc__load(&v->lock->slot_thread[k]) == (int64_t)mproc__self_thread();
}

/* With the lock held: the slot of this thread, or a free one made its own
 * (one of a process that ended, when `reclaim`); -1: none. */
static int own_slot(mproc__lock_t *l, int64_t me, int reclaim)
{
    int64_t self = (int64_t)mproc__self_thread();
    int free = -1;
    for (int k = 0; k < SLOTS; k++) {
        int64_t t = mproc__load(&l->slot_token[k]);
        if (t == me && mproc__load(&l->slot_thread[k]) == self)
            return k;
        if (free < 0 && (t == 0 || (reclaim && t != me && !mproc__os_token_alive(t))))
            free = k;
    }
    if (free >= 0) {
        free_slot(l, free);
        mproc__store(&l->slot_thread[free], self);
        mproc__store(&l->slot_token[free], me);
    }
    return free;
}

int mproc__lock_try_unbiased(mproc__lock_view_t *v, int64_t me)
{
    if (!mproc__cas(&v->lock->owner, 0, me))
        return 0;
    MPROC_KILL_POINT("lock.take.after_cas");
    taken(v->lock, me);
    return 1;
}

/* One look in the wait: the lock is free, or it is kept for this thread
 * (which is not inside, since it is here), or for another whose bias can be
 * revoked now. */
static int try_take(mproc__lock_view_t *v, int64_t me)
{
    mproc__lock_t *l = v->lock;
    int64_t o = mproc__load(&l->owner);
    if (o == 0)
        return mproc__lock_try_unbiased(v, me);
    if (!(o & FLAGS))
        return 0;
    if (kept_for_me(v, o, me)) {
        if (!mproc__cas(&l->owner, o, me))
            return 0;
        if (o & REVOKED)
            revoked(l);
        taken(l, me);
        return 1;
    }
    if (o & BIASED) {
        int64_t marked = (o & ~BIASED) | REVOKED;
        if (!mproc__cas(&l->owner, o, marked))
            return 0; /* changed meanwhile: look again */
        MPROC_KILL_POINT("lock.revoke.after_mark");
        o = marked;
    }
    /* Inside: its release wakes the waiters. Else fence, then trust `busy`. */
    volatile int64_t *busy = &l->busy[slot_of(o)];
    if (mproc__load(busy) || mproc__os_fence_heavy() != MPROC_OK || mproc__load(busy) ||
        !mproc__cas(&l->owner, o, me))
        return 0;
    revoked(l);
    taken(l, me);
    return 1;
}

/* Take the lock over from a holder that ended. */
static int take_from_dead(mproc__lock_view_t *v, int64_t me)
{
    mproc__lock_t *l = v->lock;
    int64_t o = mproc__load(&l->owner), holder = o & ~FLAGS;
    if (o == 0 || holder == me || mproc__os_token_alive(holder) || !mproc__cas(&l->owner, o, me))
        return 0;
    MPROC_KILL_POINT("lock.takeover.after_cas");
    for (int k = 0; k < SLOTS; k++) /* a biased holder may have died inside */
        if (mproc__load(&l->slot_token[k]) == holder)
            free_slot(l, k);
    taken(l, me);
    return 1;
}

mproc_status_t mproc__lock_take_now(mproc__lock_view_t *v)
{
    int64_t me = mproc__os_self_token();
    if (mproc__lock_try(v) || try_take(v, me))
        return MPROC_OK;
    return take_from_dead(v, me) ? MPROC_EOWNERDEAD : MPROC_EBUSY;
}

/* Spin briefly for the lock (not at all when the deadline is now). */
static int spin_take(mproc__lock_view_t *v, int64_t me, double deadline)
{
    for (int i = 0; i < SPINS && deadline != 0.0; i++) {
        mproc__cpu_relax();
        if (try_take(v, me))
            return 1;
    }
    return 0;
}

/* The uncounted sleeps of a view with naps, each followed by a spin (the top
 * of this file says why); 0: the wait goes on counted. */
static int nap_take(mproc__lock_view_t *v, int64_t me, double deadline)
{
    for (int k = 0; k < NAPS && v->naps && deadline != 0.0; k++) {
        double until = mproc__slice_end(FIRST_SLICE * (double)(1 << k), deadline);
        if (mproc__os_sem_wait(v->sem, until) == MPROC_OK)
            mproc__store(&v->lock->posted, 0); /* a counted waiter's post: try in its place */
        if (try_take(v, me) || spin_take(v, me, deadline))
            return 1;
        if (deadline >= 0 && mproc__os_now() >= deadline)
            return 0;
    }
    return 0;
}

mproc_status_t mproc__lock_acquire(mproc__lock_view_t *v, double deadline)
{
    mproc__lock_t *l = v->lock;
    if (mproc__lock_try(v))
        return MPROC_OK;
    int64_t me = mproc__os_self_token();
    if (spin_take(v, me, deadline) || nap_take(v, me, deadline))
        return MPROC_OK;
    double start = mproc__os_now(), next_check = start + HOLDER_CHECK;
    /* nth stops at 8, past which mproc__sleep_slice tells none apart: a wait
     * for ever of 1 ms slices (no heavy fence) overflowed it after 25 days. */
    for (int nth = 0;; nth += nth < 8) {
        mproc__add(&l->waiters, 1);
        MPROC_KILL_POINT("lock.wait.after_count");
        double slice = mproc__sleep_slice(v->light_users, nth, mproc__os_now() - start);
        if (try_take(v, me)) {
            mproc__add(&l->waiters, -1);
            return MPROC_OK;
        }
        double until = mproc__slice_end(slice, deadline);
        if (until < 0 || until > next_check)
            until = next_check;
        mproc_status_t st = mproc__os_sem_wait(v->sem, until);
        mproc__add(&l->waiters, -1);
        if (st == MPROC_OK) {
            MPROC_KILL_POINT("lock.wait.after_post");
            mproc__store(&l->posted, 0);
            continue; /* released (or a stale post): try again */
        }
        if (st != MPROC_ETIMEDOUT)
            return st;
        if (mproc__load(&l->posted)) {
            /* A post pending that no sleeper took: its taker died before
             * clearing the flag, which would keep every release from posting
             * again. Take it if it is there; clear the flag either way (a post
             * still on its way then wakes someone once for nothing). */
            (void)mproc__os_sem_wait(v->sem, 0.0);
            mproc__store(&l->posted, 0);
        }
        if (try_take(v, me))
            return MPROC_OK;
        double now = mproc__os_now();
        if (now >= next_check) {
            if (take_from_dead(v, me))
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

void mproc__lock_release_unbiased(mproc__lock_view_t *v)
{
    mproc__lock_t *l = v->lock;
    int shift = l->revoked < BIAS_MAX_SHIFT / 2 ? 2 * (int)l->revoked : BIAS_MAX_SHIFT;
    int slot = -1;
    if (v->light && l->streak >= (BIAS_AFTER << shift) && !mproc__load(&l->waiters))
        slot = own_slot(l, l->last, l->streak == (BIAS_AFTER << shift));
    if (slot >= 0) {
        /* Keep it. A waiter that came after the look revokes the bias. */
        v->bias_slot = slot;
        v->bias_thread = mproc__self_thread();
        mproc__publish(v->light, &l->owner, l->last | BIASED | MPROC__LOCK_SLOT(slot));
        MPROC_KILL_POINT("lock.release.after_bias");
        return;
    }
    mproc__publish(v->light, &l->owner, 0);
    if (mproc__load(&l->waiters) > 0)
        mproc__lock_wake(v);
}

void mproc__lock_unbias(mproc__lock_view_t *v)
{
    mproc__lock_t *l = v->lock;
    int64_t me = mproc__os_self_token();
    if (v->bias_thread == mproc__self_thread() &&
        mproc__cas(&l->owner, me | BIASED | MPROC__LOCK_SLOT(v->bias_slot), 0) &&
        mproc__load(&l->waiters) > 0)
        mproc__lock_wake(v);
    /* This thread's slot: no late store of its can come after this. */
    for (int k = 0; k < SLOTS; k++)
        if (mproc__load(&l->slot_token[k]) == me &&
            mproc__load(&l->slot_thread[k]) == (int64_t)mproc__self_thread())
            free_slot(l, k);
}
