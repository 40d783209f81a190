/*
 * A lock in shared memory between processes that survives its holder's
 * death: one word and a semaphore. Taking a free lock is one compare-and-swap
 * and releasing it one store (a plain release store in a process enrolled for
 * the heavy fence), so an uncontended lock never enters the kernel. The word
 * holds the holder's process token: a waiter that finds the holder gone takes
 * the lock over and is told so (MPROC_EOWNERDEAD), to repair what it guarded.
 */
#ifndef MPROC_LOCK_H
#define MPROC_LOCK_H

#include <stdint.h>

#include "atomic.h"
#include "platform.h"

/* Lives in shared memory; all zeros is a free lock. */
typedef struct mproc__lock {
    volatile int64_t owner;   /* 0, or the holder's process token */
    volatile int64_t waiters; /* processes asleep on the semaphore, or about to be */
    volatile int64_t posted;  /* a post is pending: no other is needed until it is taken */
} mproc__lock_t;

/* This process's way of using a lock: its semaphore, the shared word that
 * says whether any process publishes lightly, and whether this one does. */
typedef struct mproc__lock_view {
    mproc__lock_t *lock;
    mproc__os_sem_t *sem;
    const volatile int64_t *light_users;
    int light;
} mproc__lock_view_t;

/* Enroll this process for light publication to the objects that share the
 * word `light_users` (set there before this process's first light store).
 * Returns the `light` flag for mproc__publish() and mproc__lock_bind(). */
int mproc__light_enroll(volatile int64_t *light_users);
void mproc__lock_bind(mproc__lock_view_t *v, mproc__lock_t *lock, mproc__os_sem_t *sem,
                      const volatile int64_t *light_users, int light);
/* Take the lock, waiting until deadline (< 0: forever). MPROC_OK,
 * MPROC_ETIMEDOUT, or MPROC_EOWNERDEAD: taken from a holder that died. */
mproc_status_t mproc__lock_acquire(mproc__lock_view_t *v, double deadline);
/* Post the semaphore for the waiters, unless a post is pending. */
void mproc__lock_wake(mproc__lock_view_t *v);

/* Take the lock if it is free: one compare-and-swap, no wait. Inline, as is
 * the release: a put or get takes and releases a lock each time. */
static inline int mproc__lock_try(mproc__lock_view_t *v)
{
    return mproc__cas(&v->lock->owner, 0, mproc__os_self_token());
}

/* A store that a sleeping process must see: a release store in an enrolled
 * process (the sleeper runs the heavy fence), a full fence otherwise. Inline:
 * a put or get publishes several times. */
static inline void mproc__publish(int light, volatile int64_t *p, int64_t v)
{
    if (light)
        mproc__store_release(p, v);
    else
        mproc__store(p, v);
}

static inline void mproc__lock_release(mproc__lock_view_t *v)
{
    mproc__publish(v->light, &v->lock->owner, 0);
    if (mproc__load(&v->lock->waiters) > 0)
        mproc__lock_wake(v);
}

/* The n-th sleep (from 0) of a wait that began `waited` seconds ago, after
 * the sleeper announced itself in shared memory and before it checks the
 * condition once more: how long it may sleep before looking again (-1: until
 * woken). Runs the heavy fence when the answer is long and light publishers
 * may exist (lock.c says why). */
double mproc__sleep_slice(const volatile int64_t *light_users, int nth, double waited);
/* The end of a sleep of `slice` (-1: none) that must not pass `deadline`
 * (< 0: none); < 0 for no end at all. */
double mproc__slice_end(double slice, double deadline);

#endif
