/**
 * @file sync.h
 * @brief Python's multiprocessing.synchronize: Lock, RLock, Semaphore,
 * BoundedSemaphore, Condition, Event and Barrier, shared between processes.
 *
 * Each object lives in anonymous shared memory: it has no name, so nothing
 * is left behind when the processes using it end, even by SIGKILL. A handle
 * (`mproc_lock_t *` etc.) is this process's view of the object; any thread
 * may use it, and several threads may use one view at once. Free a view
 * with its `_free` function: the object lives while any process holds a view
 * (or an argument list holds it).
 *
 * To hand an object to a child, add it to the child's argument list
 * (mproc_args_add_lock() etc.; the list's ownership rule is in args.h); the
 * child calls the matching mproc_args_get_*() to get its own view, under fork,
 * spawn and Windows alike.
 *
 * Timeouts are seconds as a double (timeout.h): MPROC_FOREVER waits forever,
 * zero or less looks once. Every wait returns by its deadline.
 *
 * Beyond Python: a process that dies holding a Lock or RLock does not block
 * the others: within about 0.1 s the next acquirer gets the lock with
 * MPROC_EOWNERDEAD (it holds the lock then, and should repair what the lock
 * guards). A Barrier whose waiter dies breaks (MPROC_EBROKEN) instead of
 * hanging.
 *
 * What a process killed at any step (SIGKILL, TerminateProcess) leaves to the
 * others, for each object (tests/test_sync_faults.c kills one at each step):
 * - Lock, RLock: killed holding it (also halfway through taking or giving it
 *   back), the next acquirer gets MPROC_EOWNERDEAD; killed once it was free,
 *   the next gets MPROC_OK. Killed while waiting for it: nothing is held.
 * - Semaphore: the counter counts every acquire and release that completed,
 *   exactly once. A unit that the dead process had acquired stays taken: no
 *   process can know whether it was meant to be given back (neither can
 *   Python nor a POSIX semaphore), so a program that must survive such deaths
 *   releases on the dead process's behalf, or uses a Lock.
 * - Condition: a waiter or notifier that dies holding the lock makes the next
 *   acquirer (a waiter taking the lock back included) get MPROC_EOWNERDEAD;
 *   a waiter notified by a notifier that died before waking it returns by its
 *   deadline (plus about a second), with the lock. A wake-up meant for a
 *   waiter that died may end one later wait early (a spurious wake-up, which
 *   mproc_condition_wait_for() absorbs).
 * - Event: a setter killed after setting the flag still releases every
 *   waiter; a waiter killed while waiting changes nothing for the others.
 * - Barrier: a party that dies after arriving breaks the generation for the
 *   others (those waiting, and the last to arrive); the last party dying in
 *   the action breaks it too; reset makes it usable again.
 */
#ifndef MPROC_SYNC_H
#define MPROC_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "export.h"
#include "process.h"
#include "status.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Lock and RLock --------------------------------------------------- */

/** A Lock or an RLock (one type, so a Condition can use either). */
typedef struct mproc_lock mproc_lock_t;

/**
 * Create a Lock (Python's multiprocessing.Lock): not recursive; any thread
 * of any process may release it while it is held.
 * Errors: MPROC_EINVAL (out NULL), MPROC_ENOTINIT, MPROC_ENOMEM, OS errors;
 * `*out` is NULL on failure.
 */
MPROC_API mproc_status_t mproc_lock_create(mproc_lock_t **out);

/**
 * Create an RLock (Python's multiprocessing.RLock): the thread that holds it
 * may acquire it again; it is free once released as many times. Only the
 * holding thread may release it. Errors as mproc_lock_create().
 */
MPROC_API mproc_status_t mproc_rlock_create(mproc_lock_t **out);

/**
 * Acquire the lock. With block 0 take it only if free now (timeout is
 * ignored); else wait up to `timeout` seconds (MPROC_FOREVER: no limit).
 * Returns MPROC_OK (acquired), MPROC_ETIMEDOUT (not acquired: busy or the
 * timeout passed), MPROC_EOWNERDEAD (acquired from a holder that died: the
 * caller holds it, with a recursion count of 1 for an RLock).
 * A thread that acquires a Lock it holds waits until its timeout (as Python).
 * Errors: MPROC_EINVAL (lock NULL, timeout NaN).
 */
MPROC_API mproc_status_t mproc_lock_acquire(mproc_lock_t *lock, int block, double timeout);

/**
 * Release the lock (an RLock: one level of it).
 * Errors: MPROC_EINVAL (NULL), MPROC_ENOTHELD (the lock is not held),
 * MPROC_ENOTOWNER (an RLock held by another thread or process).
 */
MPROC_API mproc_status_t mproc_lock_release(mproc_lock_t *lock);

/** 1 when the calling thread holds the lock, else 0 (also for NULL). */
MPROC_API int mproc_lock_is_mine(const mproc_lock_t *lock);

/** Free this process's view of the lock (does not release it). NULL is ignored. */
MPROC_API void mproc_lock_free(mproc_lock_t *lock);

/**
 * Append a Lock or RLock to an argument list (type MPROC_ARG_LOCK).
 * Errors: MPROC_EINVAL (NULL), MPROC_ENOMEM, MPROC_ETOOBIG.
 */
MPROC_API mproc_status_t mproc_args_add_lock(mproc_args_t *args, const mproc_lock_t *lock);

/**
 * A view of Lock or RLock argument `index` in `*out`, the caller's to free
 * with mproc_lock_free(). Errors: MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE
 * (another type), OS errors; `*out` is NULL on failure.
 */
MPROC_API mproc_status_t mproc_args_get_lock(const mproc_args_t *args, size_t index,
                                             mproc_lock_t **out);

/* ---- Semaphore and BoundedSemaphore ---------------------------------- */

/** A Semaphore or a BoundedSemaphore. */
typedef struct mproc_semaphore mproc_semaphore_t;

/**
 * Create a Semaphore with counter `value` (Python's multiprocessing.Semaphore).
 * Errors: MPROC_EINVAL (out NULL, value < 0 or above INT32_MAX),
 * MPROC_ENOTINIT, MPROC_ENOMEM, OS errors; `*out` is NULL on failure.
 */
MPROC_API mproc_status_t mproc_semaphore_create(mproc_semaphore_t **out, int64_t value);

/**
 * Create a BoundedSemaphore: a release that would raise the counter above
 * `value` fails with MPROC_EOVERRELEASE. Errors as mproc_semaphore_create().
 */
MPROC_API mproc_status_t mproc_bounded_semaphore_create(mproc_semaphore_t **out, int64_t value);

/**
 * Decrement the counter, waiting while it is 0: with block 0 only if it is
 * positive now, else up to `timeout` seconds. MPROC_OK, or MPROC_ETIMEDOUT
 * (not decremented). Errors: MPROC_EINVAL (NULL, NaN).
 * A process that dies after acquiring keeps its unit taken (see the file's
 * comment): nothing gives it back.
 */
MPROC_API mproc_status_t mproc_semaphore_acquire(mproc_semaphore_t *sem, int block, double timeout);

/**
 * Increment the counter, waking a waiter. Errors: MPROC_EINVAL (NULL),
 * MPROC_EOVERRELEASE (bounded, already at its initial value; or the counter
 * would pass INT32_MAX).
 */
MPROC_API mproc_status_t mproc_semaphore_release(mproc_semaphore_t *sem);

/** The counter now, in `*value` (0 on error). Errors: MPROC_EINVAL (NULL). */
MPROC_API mproc_status_t mproc_semaphore_get_value(const mproc_semaphore_t *sem, int64_t *value);

/** Free this process's view. NULL is ignored. */
MPROC_API void mproc_semaphore_free(mproc_semaphore_t *sem);

/** Append a semaphore (MPROC_ARG_SEMAPHORE). Errors as mproc_args_add_lock(). */
MPROC_API mproc_status_t mproc_args_add_semaphore(mproc_args_t *args, const mproc_semaphore_t *sem);

/** A view of semaphore argument `index`. Errors as mproc_args_get_lock(). */
MPROC_API mproc_status_t mproc_args_get_semaphore(const mproc_args_t *args, size_t index,
                                                  mproc_semaphore_t **out);

/* ---- Condition ---------------------------------------------------------- */

/** A condition variable over a Lock or RLock. */
typedef struct mproc_condition mproc_condition_t;

/**
 * Create a Condition using `lock` (NULL: a new RLock of its own, as Python).
 * The condition takes its own view of the lock: the caller may free its view.
 * Errors: MPROC_EINVAL (out NULL), MPROC_ENOTINIT, MPROC_ENOMEM, OS errors.
 */
MPROC_API mproc_status_t mproc_condition_create(mproc_condition_t **out, mproc_lock_t *lock);

/** Acquire the condition's lock (as mproc_lock_acquire()). */
MPROC_API mproc_status_t mproc_condition_acquire(mproc_condition_t *cond, int block,
                                                 double timeout);

/** Release the condition's lock (as mproc_lock_release()). */
MPROC_API mproc_status_t mproc_condition_release(mproc_condition_t *cond);

/**
 * The condition's lock, owned by the condition (valid until it is freed).
 * NULL for NULL.
 */
MPROC_API mproc_lock_t *mproc_condition_get_lock(mproc_condition_t *cond);

/**
 * Release the lock (all levels of an RLock), wait until notified or `timeout`
 * seconds pass, then acquire it again as it was (waiting without limit).
 * Returns MPROC_OK (notified), MPROC_ETIMEDOUT, or MPROC_EOWNERDEAD (the lock
 * was taken back from a process that died holding it; held again).
 * Errors: MPROC_EINVAL (NULL, NaN), MPROC_ENOTOWNER (the caller does not hold
 * the lock; nothing waited).
 */
MPROC_API mproc_status_t mproc_condition_wait(mproc_condition_t *cond, double timeout);

/** A predicate for mproc_condition_wait_for(): non-zero when satisfied. */
typedef int (*mproc_predicate_fn)(void *ctx);

/**
 * Wait until `predicate(ctx)` is true, evaluated with the lock held: first at
 * once, then after each notification, for at most `timeout` seconds in all.
 * MPROC_OK (true), MPROC_ETIMEDOUT (still false), or errors as
 * mproc_condition_wait(); MPROC_EINVAL for a NULL predicate.
 */
MPROC_API mproc_status_t mproc_condition_wait_for(mproc_condition_t *cond,
                                                  mproc_predicate_fn predicate, void *ctx,
                                                  double timeout);

/**
 * Wake up to `n` waiting processes or threads; the caller holds the lock.
 * Errors: MPROC_EINVAL (NULL), MPROC_ENOTOWNER (lock not held by the caller).
 */
MPROC_API mproc_status_t mproc_condition_notify(mproc_condition_t *cond, int64_t n);

/** Wake every waiter. Errors as mproc_condition_notify(). */
MPROC_API mproc_status_t mproc_condition_notify_all(mproc_condition_t *cond);

/** Free this process's view of the condition and of its lock. NULL is ignored. */
MPROC_API void mproc_condition_free(mproc_condition_t *cond);

/** Append a condition with its lock (MPROC_ARG_CONDITION). Errors as mproc_args_add_lock(). */
MPROC_API mproc_status_t mproc_args_add_condition(mproc_args_t *args,
                                                  const mproc_condition_t *cond);

/** A view of condition argument `index`. Errors as mproc_args_get_lock(). */
MPROC_API mproc_status_t mproc_args_get_condition(const mproc_args_t *args, size_t index,
                                                  mproc_condition_t **out);

/* ---- Event -------------------------------------------------------------- */

/** An event flag. */
typedef struct mproc_event mproc_event_t;

/** Create an event, clear. Errors as mproc_lock_create(). */
MPROC_API mproc_status_t mproc_event_create(mproc_event_t **out);

/** Set the flag and wake every waiter. Errors: MPROC_EINVAL (NULL). */
MPROC_API mproc_status_t mproc_event_set(mproc_event_t *ev);

/** Clear the flag. Errors: MPROC_EINVAL (NULL). */
MPROC_API mproc_status_t mproc_event_clear(mproc_event_t *ev);

/** 1 when the flag is set, 0 when clear or NULL. */
MPROC_API int mproc_event_is_set(const mproc_event_t *ev);

/**
 * Wait until the flag is set or `timeout` seconds pass. MPROC_OK when it is
 * set or was set during the wait (even if cleared since), else
 * MPROC_ETIMEDOUT. Errors: MPROC_EINVAL (NULL, NaN).
 */
MPROC_API mproc_status_t mproc_event_wait(mproc_event_t *ev, double timeout);

/** Free this process's view. NULL is ignored. */
MPROC_API void mproc_event_free(mproc_event_t *ev);

/** Append an event (MPROC_ARG_EVENT). Errors as mproc_args_add_lock(). */
MPROC_API mproc_status_t mproc_args_add_event(mproc_args_t *args, const mproc_event_t *ev);

/** A view of event argument `index`. Errors as mproc_args_get_lock(). */
MPROC_API mproc_status_t mproc_args_get_event(const mproc_args_t *args, size_t index,
                                              mproc_event_t **out);

/* ---- Barrier ------------------------------------------------------------ */

/** A barrier for a fixed number of parties. */
typedef struct mproc_barrier mproc_barrier_t;

/** Largest number of parties of a barrier. */
#define MPROC_BARRIER_MAX_PARTIES 4096

/**
 * Create a barrier for `parties` processes or threads. `action`, when not
 * NULL, must be registered (MPROC_TARGET): when all have arrived, it runs
 * once, in the process of the last to arrive, with a NULL argument list,
 * before any waiter is released; a non-zero return breaks the barrier.
 * `timeout` is the default for mproc_barrier_wait() (MPROC_FOREVER: none).
 * Errors: MPROC_EINVAL (out NULL, parties < 1 or above
 * MPROC_BARRIER_MAX_PARTIES, timeout NaN), MPROC_ENOTREGISTERED (action not
 * registered), MPROC_ENOTINIT, MPROC_ENOMEM, OS errors.
 */
MPROC_API mproc_status_t mproc_barrier_create(mproc_barrier_t **out, int64_t parties,
                                              mproc_target_fn action, double timeout);

/** Use the barrier's default timeout in mproc_barrier_wait(). */
#define MPROC_BARRIER_DEFAULT_TIMEOUT (-HUGE_VAL)

/**
 * Wait until `parties` callers have arrived; `*index` (may be NULL) gets
 * this caller's arrival index, 0 to parties - 1. `timeout` in seconds, or
 * MPROC_BARRIER_DEFAULT_TIMEOUT for the barrier's own.
 * Returns MPROC_OK; MPROC_EBROKEN when the barrier is or becomes broken
 * (aborted, reset while waiting, a waiter timed out or died, the action
 * failed); MPROC_ETIMEDOUT for the caller whose timeout passed (it breaks the
 * barrier for the others, as Python). `*index` is -1 on failure.
 * Errors: MPROC_EINVAL (NULL barrier, NaN).
 */
MPROC_API mproc_status_t mproc_barrier_wait(mproc_barrier_t *b, double timeout, int64_t *index);

/** Put the barrier in the broken state: current and future waits fail with MPROC_EBROKEN. */
MPROC_API mproc_status_t mproc_barrier_abort(mproc_barrier_t *b);

/**
 * Return the barrier to its empty, unbroken state; processes waiting now get
 * MPROC_EBROKEN. Errors: MPROC_EINVAL (NULL).
 */
MPROC_API mproc_status_t mproc_barrier_reset(mproc_barrier_t *b);

/** The number of parties (0 for NULL). */
MPROC_API int64_t mproc_barrier_parties(const mproc_barrier_t *b);

/** How many wait now (0 for NULL). */
MPROC_API int64_t mproc_barrier_n_waiting(const mproc_barrier_t *b);

/** 1 when the barrier is broken, else 0 (also for NULL). */
MPROC_API int mproc_barrier_broken(const mproc_barrier_t *b);

/** Free this process's view. NULL is ignored. */
MPROC_API void mproc_barrier_free(mproc_barrier_t *b);

/** Append a barrier (MPROC_ARG_BARRIER). Errors as mproc_args_add_lock(). */
MPROC_API mproc_status_t mproc_args_add_barrier(mproc_args_t *args, const mproc_barrier_t *b);

/** A view of barrier argument `index`. Errors as mproc_args_get_lock(). */
MPROC_API mproc_status_t mproc_args_get_barrier(const mproc_args_t *args, size_t index,
                                                mproc_barrier_t **out);

#ifdef __cplusplus
}
#endif

#endif
