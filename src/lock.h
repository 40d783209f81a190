/*
 * A lock in shared memory between processes that survives its holder's
 * death: one word and a semaphore. Taking a free lock is one compare-and-swap
 * and releasing it one store (a plain release store in a process enrolled for
 * the heavy fence), so an uncontended lock never enters the kernel. The word
 * holds the holder's process token: a waiter that finds the holder gone takes
 * the lock over and is told so (MPROC_EOWNERDEAD), to repair what it guarded.
 *
 * A process that takes a lock many times in a row with nobody else asking
 * (one producer, one consumer) keeps it between uses: the lock is biased to
 * it, and it enters and leaves with plain stores to its `busy` word, no atomic
 * read-modify-write, whose wait for the CPU's store buffer is most of what a
 * small put or get costs. Another process takes a biased lock away (revokes
 * the bias) with the heavy fence, so only enrolled processes are biased to;
 * lock.c says how.
 */
#ifndef MPROC_LOCK_H
#define MPROC_LOCK_H

#include <stdint.h>

#include "atomic.h"
#include "platform.h"

/* Flags in the owner word beside a token (tokens leave the top bits clear). */
#define MPROC__LOCK_BIASED ((int64_t)1 << 62) /* kept by the token between uses */
#define MPROC__LOCK_REVOKED ((int64_t)1 << 61) /* kept, and being taken away */
/* A kept lock's owner word also names the bias slot of the thread it is kept for. */
#define MPROC__LOCK_SLOT(k) ((int64_t)(k) << 60)
#define MPROC__LOCK_FLAGS (MPROC__LOCK_BIASED | MPROC__LOCK_REVOKED | MPROC__LOCK_SLOT(1))

/* How many threads (of any processes) a lock can be biased to in turn. */
#define MPROC__LOCK_BIAS_SLOTS 2

/* Lives in shared memory; all zeros is a free lock. */
typedef struct mproc__lock {
    volatile int64_t owner;   /* 0, or the holder's process token, and flags */
    volatile int64_t waiters; /* processes asleep on the semaphore, or about to be */
    volatile int64_t posted;  /* a post is pending: no other is needed until it is taken */
    /* A thread the lock is biased to announces itself inside in the `busy`
     * word of its own slot (a token and a thread, kept until it lets go of
     * the queue or dies): a late store of a former bias holder then lands in
     * its own word, never in the current holder's (lock.c says why). */
    volatile int64_t busy[MPROC__LOCK_BIAS_SLOTS];
    volatile int64_t slot_token[MPROC__LOCK_BIAS_SLOTS];
    volatile int64_t slot_thread[MPROC__LOCK_BIAS_SLOTS];
    /* The holders' own: who took the lock last, how many times in a row, and
     * how many times a bias was revoked (each makes the next one wait longer). */
    int64_t last, streak, revoked;
} mproc__lock_t;

/* This process's way of using a lock: its semaphore, the shared word that
 * says whether any process publishes lightly, whether this one does, and how
 * it holds the lock now. */
typedef struct mproc__lock_view {
    mproc__lock_t *lock;
    mproc__os_sem_t *sem;
    const volatile int64_t *light_users;
    int light;
    int held_biased; /* taken through the bias: released through `busy` */
    int bias_slot;   /* the slot of the bias last kept through this view */
    /* Waiters first sleep a few short slices uncounted, so that a holder
     * taking the lock in a loop is not made to post for each (lock.c): for
     * the queues' locks, which a process takes for each put or get. */
    int naps;
    /* The thread of this process the lock is biased to: another thread of the
     * same process (same token) revokes the bias like another process. */
    volatile uintptr_t bias_thread;
} mproc__lock_view_t;

/* The calling thread, as a number: where the compiler has native
 * thread-locals, a thread-local's address (a load, where a call to the
 * platform cost a tenth of a small put), else the platform's answer. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
extern __thread char mproc__thread_mark __attribute__((tls_model("initial-exec")));
#define mproc__self_thread() ((uintptr_t)&mproc__thread_mark)
#else
#define mproc__self_thread() mproc__os_self_thread()
#endif

/* Enroll this process for light publication to the objects that share the
 * word `light_users` (set there before this process's first light store).
 * Returns the `light` flag for mproc__publish() and mproc__lock_bind(). */
int mproc__light_enroll(volatile int64_t *light_users);
void mproc__lock_bind(mproc__lock_view_t *v, mproc__lock_t *lock, mproc__os_sem_t *sem,
                      const volatile int64_t *light_users, int light);
/* Take the lock, waiting until deadline (< 0: forever). MPROC_OK,
 * MPROC_ETIMEDOUT, or MPROC_EOWNERDEAD: taken from a holder that died. */
mproc_status_t mproc__lock_acquire(mproc__lock_view_t *v, double deadline);
/* Take the lock if that needs no wait: free, kept by a bias that can be
 * revoked now, or held by a process that ended. MPROC_OK, MPROC_EOWNERDEAD
 * (taken over: repair what it guarded), or MPROC_EBUSY (a live holder). */
mproc_status_t mproc__lock_take_now(mproc__lock_view_t *v);
/* Taking a free lock, and releasing one not taken through a bias. */
int mproc__lock_try_unbiased(mproc__lock_view_t *v, int64_t me);
void mproc__lock_release_unbiased(mproc__lock_view_t *v);
/* Post the semaphore for the waiters, unless a post is pending. */
void mproc__lock_wake(mproc__lock_view_t *v);
/* Give up a bias this process holds, so that nobody has to revoke it: when
 * this process stops using the lock. */
void mproc__lock_unbias(mproc__lock_view_t *v);

/* This process's token: a load once known (a put or get asks each time). */
static inline int64_t mproc__lock_me(void)
{
    int64_t t = mproc__os_token_known;
    return t ? t : mproc__os_self_token();
}

/* Take the lock if this thread keeps it by a bias, with no call at all (the
 * queue's leaf paths): 0 when it does not, or when this process's token is
 * not known yet. */
static inline int mproc__lock_try_kept(mproc__lock_view_t *v)
{
    mproc__lock_t *l = v->lock;
    int k = v->bias_slot;
    int64_t kept = mproc__os_token_known | MPROC__LOCK_BIASED | MPROC__LOCK_SLOT(k);
    uintptr_t self = mproc__self_thread();
    /* The slot is still this thread's (another view's release may have freed
     * it); nobody takes it from this thread while it runs. A token not known
     * yet makes `kept` a word no owner has. */
    if (mproc__load(&l->owner) == kept && v->bias_thread == self &&
        l->slot_thread[k] == (int64_t)self) {
        /* Announce in this thread's own slot, then look again: a revoker
         * changes the owner word first, then fences, then reads `busy` (lock.c). */
        mproc__store_release(&l->busy[k], 1);
        mproc__compiler_fence();
        if (mproc__load(&l->owner) == kept) {
            v->held_biased = 1;
            return 1;
        }
        mproc__store_release(&l->busy[k], 0);
    }
    return 0;
}

/* Take the lock if that needs no wait. Inline, as is the release: a put or
 * get takes and releases a lock each time. */
static inline int mproc__lock_try(mproc__lock_view_t *v)
{
    return mproc__lock_try_kept(v) || mproc__lock_try_unbiased(v, mproc__lock_me());
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

/* Leave a lock taken by mproc__lock_try_kept, with no call: 1 when waiters
 * must then be woken (mproc__lock_wake), which a revoker waits for. */
static inline int mproc__lock_leave_kept(mproc__lock_view_t *v)
{
    v->held_biased = 0;
    mproc__store_release(&v->lock->busy[v->bias_slot], 0);
    return mproc__load(&v->lock->waiters) > 0;
}

static inline void mproc__lock_release(mproc__lock_view_t *v)
{
    if (!v->held_biased)
        mproc__lock_release_unbiased(v);
    else if (mproc__lock_leave_kept(v))
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
