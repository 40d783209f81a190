/*
 * Synchronization objects under faults: a holder, waiter, notifier, setter or
 * barrier party killed at each named step (src/fault.h) of Lock and RLock
 * acquire and release, Semaphore acquire and release, Condition wait and
 * notify, Event set and wait, Barrier wait (arrival, action, release).
 *
 * What the survivors are promised: the next acquirer of a Lock or RLock whose
 * holder died gets it with MPROC_EOWNERDEAD (and the lock works afterwards);
 * a lock released before the death is taken with MPROC_OK; a Semaphore's
 * count is exactly what the completed acquires and releases made it (a unit
 * the dead process held stays taken); a Barrier breaks (MPROC_EBROKEN) for
 * the others and works again after reset; Condition and Event waiters return
 * by their deadline. Each victim must die (a point it does not reach fails
 * the row: it would exit 50).
 */
#include <stdio.h>
#include <string.h>

#include "atomic.h"
#include "support/test_faults.h"
#include "sync_lock.h"

#if defined(_WIN32)
#define KILLED_CODE 9
#else
#include <signal.h>
#define KILLED_CODE (-SIGKILL)
#endif


#define NOT_KILLED 50 /* a victim's exit code when its point was not reached */


/* Start `target` on (object args..., point) and return it. */
static mproc_process_t *start_victim(mproc_target_fn target, mproc_args_t *a, const char *point)
{
    assert_int_equal(mproc_args_add_str(a, point), MPROC_OK);
    mproc_process_t *p = test_start(target, a);
    mproc_args_free(a);
    return p;
}

static int64_t pid_of(const mproc_process_t *p)
{
    int64_t pid = 0;
    assert_int_equal(mproc_process_pid(p, &pid), MPROC_OK);
    return pid;
}

static void expect_killed(mproc_process_t *p, const char *point)
{
    int64_t code = test_join(p);
    mproc_process_free(p);
    if (code != KILLED_CODE)
        fail_msg("%s: the victim exited with %lld, not killed", point, (long long)code);
}

/* ---- Lock and RLock ---- */

static mproc_args_t *lock_args(const mproc_lock_t *l)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_lock(a, l), MPROC_OK);
    return a;
}

/* args: lock, point. Takes the lock twice (an RLock recursively) and gives it back. */
static int t_lock_holder(const mproc_args_t *args)
{
    mproc_lock_t *l;
    const char *point;
    if (mproc_args_get_lock(args, 0, &l) || mproc_args_get_str(args, 1, &point))
        return 100;
    test_arm(point, 1);
    for (int i = 0; i < 2; i++) {
        if (mproc_lock_acquire(l, 1, 30))
            return 101;
        if (mproc_lock_acquire(l, 0, 0) == MPROC_OK) /* an RLock: a second level */
            (void)mproc_lock_release(l);
        (void)mproc_lock_release(l);
    }
    mproc_lock_free(l);
    return NOT_KILLED;
}
MPROC_TARGET(t_lock_holder)

/* args: lock, point. Takes and gives back the lock until killed, while the
 * test holds it in turns: it sleeps on the lock's semaphore meanwhile. */
static int t_lock_waiter(const mproc_args_t *args)
{
    mproc_lock_t *l;
    const char *point;
    if (mproc_args_get_lock(args, 0, &l) || mproc_args_get_str(args, 1, &point))
        return 100;
    test_arm(point, 1);
    for (int i = 0; i < 1000; i++) {
        if (mproc_lock_acquire(l, 1, 30))
            return 101;
        (void)mproc_lock_release(l);
    }
    mproc_lock_free(l);
    return NOT_KILLED;
}
MPROC_TARGET(t_lock_waiter)

/* args: lock. Exit 0 once it took and gave back the lock in time. */
static int t_lock_user(const mproc_args_t *args)
{
    mproc_lock_t *l;
    if (mproc_args_get_lock(args, 0, &l))
        return 100;
    mproc_status_t st = mproc_lock_acquire(l, 1, 30);
    if (st == MPROC_OK)
        st = mproc_lock_release(l);
    mproc_lock_free(l);
    return st == MPROC_OK ? 0 : 1;
}
MPROC_TARGET(t_lock_user)

/* Another process, asleep on the lock the test holds, gets it once released. */
static void lock_still_hands_over(mproc_lock_t *l)
{
    assert_int_equal(mproc_lock_acquire(l, 1, 30), MPROC_OK);
    mproc_args_t *a = lock_args(l);
    mproc_process_t *p = test_start(t_lock_user, a);
    mproc_args_free(a);
    assert_true(test_wait_asleep(pid_of(p), 30));
    assert_int_equal(mproc_lock_release(l), MPROC_OK);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
}

typedef struct {
    const char *point;
    mproc_status_t next; /* what the next acquirer gets */
} lock_point_t;

static const lock_point_t holder_points[] = {
    {"lock.take.after_cas", MPROC_EOWNERDEAD},
    {"sync_lock.acquire.after_holder", MPROC_EOWNERDEAD},
    {"sync_lock.release.after_holder", MPROC_EOWNERDEAD},
    {"sync_lock.release.after_owner", MPROC_OK},
};
static const lock_point_t rlock_points[] = {
    {"sync_lock.acquire.after_count", MPROC_EOWNERDEAD}, /* two levels held */
    {"sync_lock.release.after_count", MPROC_EOWNERDEAD}, /* one level left */
};

static void kill_holder(int recursive, const lock_point_t *pt)
{
    mproc_lock_t *l;
    assert_int_equal(recursive ? mproc_rlock_create(&l) : mproc_lock_create(&l), MPROC_OK);
    expect_killed(start_victim(t_lock_holder, lock_args(l), pt->point), pt->point);
    mproc_status_t st = mproc_lock_acquire(l, 1, 30);
    if (st != pt->next)
        fail_msg("%s: next acquire gave %s", pt->point, mproc_err_name(st));
    assert_true(mproc_lock_is_mine(l));
    assert_int_equal(mproc_lock_release(l), MPROC_OK); /* one level, also for an RLock */
    assert_int_equal(mproc_lock_release(l), MPROC_ENOTHELD);
    lock_still_hands_over(l);
    mproc_lock_free(l);
}

static void lock_holder_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    for (size_t i = 0; i < ARRAY_LEN(holder_points); i++) {
        kill_holder(0, &holder_points[i]);
        kill_holder(1, &holder_points[i]);
    }
    for (size_t i = 0; i < ARRAY_LEN(rlock_points); i++)
        kill_holder(1, &rlock_points[i]);
}

/* A waiter killed asleep on the lock (counted, or holding a wake-up): the
 * lock is free for the others with MPROC_OK, and hands over as before. */
static void lock_waiter_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    static const char *const points[] = {"lock.wait.after_count", "lock.wait.after_post"};
    for (size_t i = 0; i < ARRAY_LEN(points); i++) {
        mproc_lock_t *l;
        assert_int_equal(mproc_lock_create(&l), MPROC_OK);
        assert_int_equal(mproc_lock_acquire(l, 1, 30), MPROC_OK);
        mproc_process_t *p = start_victim(t_lock_waiter, lock_args(l), points[i]);
        int64_t pid = pid_of(p);
        /* Hold the lock while the victim sleeps on it, then let go: it dies
         * counted as a waiter, or woken by the release. */
        for (int round = 0; round < 100 && !test_pid_gone(pid, 0); round++) {
            (void)test_wait_asleep(pid, 2);
            assert_int_equal(mproc_lock_release(l), MPROC_OK);
            assert_int_equal(mproc_lock_acquire(l, 1, 30), MPROC_OK);
        }
        expect_killed(p, points[i]);
        assert_int_equal(mproc_lock_release(l), MPROC_OK);
        lock_still_hands_over(l);
        /* A wake-up recorded as pending (posted) whose taker died would
         * stop every later release from waking a sleeper: each would find
         * the lock only at its next look, a tenth of a second later. The
         * first waiter that looks again repairs it. (After the after_count
         * row a real wake-up may be pending: the dead waiter still counts.) */
        if (i == 1 && mproc__load(&l->b->lock.posted))
            fail_msg("%s: a wake-up is still recorded as pending", points[i]);
        mproc_lock_free(l);
    }
}

/* ---- Semaphore ---- */

/* args: semaphore, op (0 acquire, 1 release), point. */
static int t_sem_victim(const mproc_args_t *args)
{
    mproc_semaphore_t *s;
    int64_t op;
    const char *point;
    if (mproc_args_get_semaphore(args, 0, &s) || mproc_args_get_int(args, 1, &op) ||
        mproc_args_get_str(args, 2, &point))
        return 100;
    test_arm(point, 1);
    if (op == 0)
        (void)mproc_semaphore_acquire(s, 1, 30);
    else
        (void)mproc_semaphore_release(s);
    mproc_semaphore_free(s);
    return NOT_KILLED;
}
MPROC_TARGET(t_sem_victim)

/* args: semaphore. Exit 0 once it acquired in time. */
static int t_sem_user(const mproc_args_t *args)
{
    mproc_semaphore_t *s;
    if (mproc_args_get_semaphore(args, 0, &s))
        return 100;
    mproc_status_t st = mproc_semaphore_acquire(s, 1, 30);
    mproc_semaphore_free(s);
    return st == MPROC_OK ? 0 : 1;
}
MPROC_TARGET(t_sem_user)

static mproc_args_t *sem_args(const mproc_semaphore_t *s, int64_t op)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_semaphore(a, s), MPROC_OK);
    if (op >= 0)
        assert_int_equal(mproc_args_add_int(a, op), MPROC_OK);
    return a;
}

static int64_t sem_value(const mproc_semaphore_t *s)
{
    int64_t v = -1;
    assert_int_equal(mproc_semaphore_get_value(s, &v), MPROC_OK);
    return v;
}

typedef struct {
    const char *point;
    int64_t initial, op, after; /* the value before, the victim's op, the value after */
} sem_point_t;

/* The value counts every completed acquire and release: a unit the dead
 * process acquired stays taken (no process can know it was not handed on). */
static const sem_point_t sem_points[] = {
    {"semaphore.acquire.after_take", 2, 0, 1},
    {"semaphore.release.after_count", 0, 1, 1},
    {"sync.sleep.after_count", 0, 0, 0}, /* asleep waiting: nothing taken */
};

static void semaphore_party_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    for (size_t i = 0; i < ARRAY_LEN(sem_points); i++) {
        const sem_point_t *pt = &sem_points[i];
        mproc_semaphore_t *s;
        assert_int_equal(mproc_semaphore_create(&s, pt->initial), MPROC_OK);
        expect_killed(start_victim(t_sem_victim, sem_args(s, pt->op), pt->point), pt->point);
        assert_int_equal(sem_value(s), pt->after);
        /* It still works: drain it, then a sleeper is woken by a release. */
        while (sem_value(s) > 0)
            assert_int_equal(mproc_semaphore_acquire(s, 0, 0), MPROC_OK);
        assert_int_equal(mproc_semaphore_acquire(s, 1, 0.05), MPROC_ETIMEDOUT);
        mproc_args_t *a = sem_args(s, -1);
        mproc_process_t *p = test_start(t_sem_user, a);
        mproc_args_free(a);
        assert_true(test_wait_asleep(pid_of(p), 30));
        assert_int_equal(mproc_semaphore_release(s), MPROC_OK);
        assert_int_equal(test_join(p), 0);
        mproc_process_free(p);
        assert_int_equal(sem_value(s), 0);
        mproc_semaphore_free(s);
    }
}

/* ---- Event ---- */

/* args: event, op (0 wait, 1 set), point. */
static int t_event_victim(const mproc_args_t *args)
{
    mproc_event_t *e;
    int64_t op;
    const char *point;
    if (mproc_args_get_event(args, 0, &e) || mproc_args_get_int(args, 1, &op) ||
        mproc_args_get_str(args, 2, &point))
        return 100;
    test_arm(point, 1);
    if (op == 0)
        (void)mproc_event_wait(e, 30);
    else
        (void)mproc_event_set(e);
    mproc_event_free(e);
    return NOT_KILLED;
}
MPROC_TARGET(t_event_victim)

/* args: event. Exit 0 once the event was set in time. */
static int t_event_user(const mproc_args_t *args)
{
    mproc_event_t *e;
    if (mproc_args_get_event(args, 0, &e))
        return 100;
    mproc_status_t st = mproc_event_wait(e, 30);
    mproc_event_free(e);
    return st == MPROC_OK ? 0 : 1;
}
MPROC_TARGET(t_event_user)

static mproc_args_t *event_args(const mproc_event_t *e, int64_t op)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, e), MPROC_OK);
    if (op >= 0)
        assert_int_equal(mproc_args_add_int(a, op), MPROC_OK);
    return a;
}

static void event_party_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    /* A setter dies between the flag and the wake-up: a waiter asleep
     * meanwhile still returns, long before its deadline. */
    mproc_event_t *e;
    assert_int_equal(mproc_event_create(&e), MPROC_OK);
    mproc_args_t *a = event_args(e, -1);
    mproc_process_t *waiter = test_start(t_event_user, a);
    mproc_args_free(a);
    assert_true(test_wait_asleep(pid_of(waiter), 30));
    expect_killed(start_victim(t_event_victim, event_args(e, 1), "event.set.after_flag"),
                  "event.set.after_flag");
    assert_int_equal(test_join(waiter), 0);
    mproc_process_free(waiter);
    assert_true(mproc_event_is_set(e));
    mproc_event_free(e);

    /* A waiter dies counted as a sleeper: the event still wakes the others. */
    assert_int_equal(mproc_event_create(&e), MPROC_OK);
    expect_killed(start_victim(t_event_victim, event_args(e, 0), "sync.sleep.after_count"),
                  "sync.sleep.after_count");
    a = event_args(e, -1);
    waiter = test_start(t_event_user, a);
    mproc_args_free(a);
    assert_true(test_wait_asleep(pid_of(waiter), 30));
    double t0 = test_now();
    assert_int_equal(mproc_event_wait(e, 0.2), MPROC_ETIMEDOUT);
    assert_true(test_now() - t0 < 10);
    assert_int_equal(mproc_event_set(e), MPROC_OK);
    assert_int_equal(test_join(waiter), 0);
    mproc_process_free(waiter);
    mproc_event_free(e);
}

/* ---- Condition ---- */

/* args: condition, event, op (0 wait, 1 notify), point. A waiter sets the
 * event once it holds the lock (so the test's acquire follows its wait); a
 * notifier notifies once it holds the lock (the test waits meanwhile). */
static int t_cond_victim(const mproc_args_t *args)
{
    mproc_condition_t *c;
    mproc_event_t *e;
    int64_t op;
    const char *point;
    if (mproc_args_get_condition(args, 0, &c) || mproc_args_get_event(args, 1, &e) ||
        mproc_args_get_int(args, 2, &op) || mproc_args_get_str(args, 3, &point))
        return 100;
    test_arm(point, 1);
    if (mproc_condition_acquire(c, 1, 30))
        return 101;
    if (op == 0) {
        (void)mproc_event_set(e);
        (void)mproc_condition_wait(c, 30);
    } else {
        (void)mproc_condition_notify(c, 1);
    }
    (void)mproc_condition_release(c);
    return NOT_KILLED;
}
MPROC_TARGET(t_cond_victim)

static mproc_process_t *start_cond_victim(mproc_condition_t *c, mproc_event_t *e, int64_t op,
                                          const char *point)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_condition(a, c), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, e), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, op), MPROC_OK);
    return start_victim(t_cond_victim, a, point);
}

/* After the death, a wait keeps its deadline (a wake-up left for the dead
 * waiter may end it early: a spurious wake-up, which wait_for absorbs). */
static void cond_wait_keeps_deadline(mproc_condition_t *c)
{
    assert_int_equal(mproc_condition_acquire(c, 1, 30), MPROC_OK);
    double t0 = test_now();
    mproc_status_t st = mproc_condition_wait(c, 0.2);
    assert_true(st == MPROC_OK || st == MPROC_ETIMEDOUT);
    assert_true(test_now() - t0 < 10);
    assert_int_equal(mproc_condition_release(c), MPROC_OK);
}

typedef struct {
    const char *point;
    mproc_status_t next; /* the test's acquire after the death */
} cond_point_t;

static void condition_waiter_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    static const cond_point_t points[] = {
        {"condition.wait.after_count", MPROC_EOWNERDEAD}, /* still holding the lock */
        {"condition.wait.after_release", MPROC_OK},
        {"condition.wait.after_wake", MPROC_OK},
    };
    for (size_t i = 0; i < ARRAY_LEN(points); i++) {
        mproc_condition_t *c;
        mproc_event_t *e;
        assert_int_equal(mproc_condition_create(&c, NULL), MPROC_OK);
        assert_int_equal(mproc_event_create(&e), MPROC_OK);
        mproc_process_t *p = start_cond_victim(c, e, 0, points[i].point);
        assert_int_equal(mproc_event_wait(e, 30), MPROC_OK);
        mproc_status_t st = mproc_condition_acquire(c, 1, 30);
        if (st == MPROC_OK) { /* the victim waits: wake it */
            assert_int_equal(mproc_condition_notify(c, 1), MPROC_OK);
            assert_int_equal(mproc_condition_release(c), MPROC_OK);
        }
        expect_killed(p, points[i].point);
        if (st == MPROC_OK)
            st = mproc_condition_acquire(c, 1, 30);
        if (st != points[i].next)
            fail_msg("%s: acquire gave %s", points[i].point, mproc_err_name(st));
        assert_int_equal(mproc_condition_release(c), MPROC_OK);
        cond_wait_keeps_deadline(c);
        mproc_event_free(e);
        mproc_condition_free(c);
    }
}

/* A notifier dies holding the lock: the waiter it notified (or meant to)
 * returns by its deadline, holding the lock again with MPROC_EOWNERDEAD. */
static void condition_notifier_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    static const char *const points[] = {"condition.notify.after_count",
                                         "condition.notify.after_post"};
    for (size_t i = 0; i < ARRAY_LEN(points); i++) {
        mproc_condition_t *c;
        mproc_event_t *e;
        assert_int_equal(mproc_condition_create(&c, NULL), MPROC_OK);
        assert_int_equal(mproc_event_create(&e), MPROC_OK);
        assert_int_equal(mproc_condition_acquire(c, 1, 30), MPROC_OK);
        /* The victim takes the lock only once this wait gave it up. */
        mproc_process_t *p = start_cond_victim(c, e, 1, points[i]);
        double t0 = test_now();
        assert_int_equal(mproc_condition_wait(c, 3), MPROC_EOWNERDEAD);
        assert_true(test_now() - t0 < 3 + 10);
        assert_true(mproc_lock_is_mine(mproc_condition_get_lock(c)));
        expect_killed(p, points[i]);
        assert_int_equal(mproc_condition_release(c), MPROC_OK);
        cond_wait_keeps_deadline(c);
        mproc_event_free(e);
        mproc_condition_free(c);
    }
}

/* ---- Barrier ---- */

static int barrier_action(const mproc_args_t *args)
{
    (void)args;
    return 0;
}
MPROC_TARGET(barrier_action)

/* args: barrier, point. Arrives once `before` parties wait. */
static int t_barrier_victim(const mproc_args_t *args)
{
    mproc_barrier_t *b;
    int64_t before;
    const char *point;
    if (mproc_args_get_barrier(args, 0, &b) || mproc_args_get_int(args, 1, &before) ||
        mproc_args_get_str(args, 2, &point))
        return 100;
    double end = test_now() + 30;
    while (mproc_barrier_n_waiting(b) < before && test_now() < end)
        test_sleep(0.001);
    test_arm(point, 1);
    (void)mproc_barrier_wait(b, 30, NULL);
    mproc_barrier_free(b);
    return NOT_KILLED;
}
MPROC_TARGET(t_barrier_victim)

/* args: barrier. Exit 0 once the barrier let it through in time. */
static int t_barrier_user(const mproc_args_t *args)
{
    mproc_barrier_t *b;
    if (mproc_args_get_barrier(args, 0, &b))
        return 100;
    mproc_status_t st = mproc_barrier_wait(b, 30, NULL);
    mproc_barrier_free(b);
    return st == MPROC_OK ? 0 : 1;
}
MPROC_TARGET(t_barrier_user)

static mproc_args_t *barrier_args(const mproc_barrier_t *b, int64_t before)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_barrier(a, b), MPROC_OK);
    if (before >= 0)
        assert_int_equal(mproc_args_add_int(a, before), MPROC_OK);
    return a;
}

typedef struct {
    const char *point;
    int victim_last;          /* the victim arrives last (else first) */
    mproc_status_t survivor; /* what the test's wait gives */
} barrier_point_t;

static void barrier_party_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    static const barrier_point_t points[] = {
        /* Arrived, then died: the party that comes last does not pass. */
        {"barrier.wait.after_arrival", 0, MPROC_EBROKEN},
        {"sync.sleep.after_count", 0, MPROC_EBROKEN},
        /* The last party died inside the barrier's lock, before or after the
         * action: the generation cannot complete. */
        {"barrier.wait.before_action", 1, MPROC_EBROKEN},
        {"barrier.wait.after_action", 1, MPROC_EBROKEN},
        /* It had released everyone: they pass. */
        {"barrier.wait.after_release", 1, MPROC_OK},
    };
    for (size_t i = 0; i < ARRAY_LEN(points); i++) {
        const barrier_point_t *pt = &points[i];
        mproc_barrier_t *b;
        assert_int_equal(mproc_barrier_create(&b, 2, barrier_action, 30), MPROC_OK);
        mproc_process_t *p =
            start_victim(t_barrier_victim, barrier_args(b, pt->victim_last), pt->point);
        if (!pt->victim_last)
            expect_killed(p, pt->point);
        double t0 = test_now();
        mproc_status_t st = mproc_barrier_wait(b, 30, NULL);
        if (st != pt->survivor)
            fail_msg("%s: the survivor's wait gave %s", pt->point, mproc_err_name(st));
        assert_true(test_now() - t0 < 30);
        if (pt->victim_last)
            expect_killed(p, pt->point);
        /* Reset repairs it: two live parties pass. */
        assert_int_equal(mproc_barrier_reset(b), MPROC_OK);
        mproc_args_t *a = barrier_args(b, -1);
        mproc_process_t *other = test_start(t_barrier_user, a);
        mproc_args_free(a);
        assert_int_equal(mproc_barrier_wait(b, 30, NULL), MPROC_OK);
        assert_int_equal(test_join(other), 0);
        mproc_process_free(other);
        mproc_barrier_free(b);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lock_holder_killed_at_each_point),
        cmocka_unit_test(lock_waiter_killed_at_each_point),
        cmocka_unit_test(semaphore_party_killed_at_each_point),
        cmocka_unit_test(event_party_killed_at_each_point),
        cmocka_unit_test(condition_waiter_killed_at_each_point),
        cmocka_unit_test(condition_notifier_killed_at_each_point),
        cmocka_unit_test(barrier_party_killed_at_each_point),
    };
    if (argc > 2)
        cmocka_set_test_filter(argv[2]);
    return test_main(argc, argv, "sync_faults", tests, ARRAY_LEN(tests));
}
