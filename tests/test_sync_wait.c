/*
 * Semaphore, BoundedSemaphore, Event and Condition (sync.h): values,
 * timeouts, misuse, and waits released by other processes.
 */
#include <string.h>

#include "support/test_support.h"

static double elapsed_since(double t0)
{
    return test_now() - t0;
}

/* ---- semaphores ---------------------------------------------------------- */

/* args: semaphore "work", semaphore "done". Takes one unit of work within
 * 30 s, then gives one unit of done. */
static int t_take_then_signal(const mproc_args_t *args)
{
    mproc_semaphore_t *work, *done;
    if (mproc_args_get_semaphore(args, 0, &work) || mproc_args_get_semaphore(args, 1, &done))
        return 100;
    if (mproc_semaphore_acquire(work, 1, 30))
        return 101;
    if (mproc_semaphore_release(done))
        return 102;
    mproc_semaphore_free(work);
    mproc_semaphore_free(done);
    return 0;
}
MPROC_TARGET(t_take_then_signal)

static void semaphore_counts_and_times_out(void **state)
{
    (void)state;
    mproc_semaphore_t *s;
    int64_t v = 9;
    assert_int_equal(mproc_semaphore_create(&s, -1), MPROC_EINVAL);
    assert_null(s);
    assert_int_equal(mproc_semaphore_create(NULL, 1), MPROC_EINVAL);
    assert_int_equal(mproc_semaphore_create(&s, 2), MPROC_OK);
    assert_int_equal(mproc_semaphore_get_value(s, &v), MPROC_OK);
    assert_int_equal(v, 2);
    assert_int_equal(mproc_semaphore_acquire(s, 0, 0), MPROC_OK);
    assert_int_equal(mproc_semaphore_acquire(s, 1, 1), MPROC_OK);
    assert_int_equal(mproc_semaphore_acquire(s, 0, 10), MPROC_ETIMEDOUT);
    double t0 = test_now();
    assert_int_equal(mproc_semaphore_acquire(s, 1, 0.3), MPROC_ETIMEDOUT);
    assert_true(elapsed_since(t0) >= 0.25 && elapsed_since(t0) < 10);
    assert_int_equal(mproc_semaphore_get_value(s, &v), MPROC_OK);
    assert_int_equal(v, 0);
    /* Unbounded: releases past the initial value are fine. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(mproc_semaphore_release(s), MPROC_OK);
    assert_int_equal(mproc_semaphore_get_value(s, &v), MPROC_OK);
    assert_int_equal(v, 3);
    assert_int_equal(mproc_semaphore_get_value(NULL, &v), MPROC_EINVAL);
    assert_int_equal(v, 0);
    assert_int_equal(mproc_semaphore_acquire(NULL, 1, 1), MPROC_EINVAL);
    assert_int_equal(mproc_semaphore_release(NULL), MPROC_EINVAL);
    mproc_semaphore_free(s);
}

static void bounded_semaphore_refuses_release_past_its_bound(void **state)
{
    (void)state;
    mproc_semaphore_t *s;
    int64_t v;
    assert_int_equal(mproc_bounded_semaphore_create(&s, 1), MPROC_OK);
    assert_int_equal(mproc_semaphore_release(s), MPROC_EOVERRELEASE);
    assert_int_equal(mproc_semaphore_acquire(s, 0, 0), MPROC_OK);
    assert_int_equal(mproc_semaphore_release(s), MPROC_OK);
    assert_int_equal(mproc_semaphore_release(s), MPROC_EOVERRELEASE);
    assert_int_equal(mproc_semaphore_get_value(s, &v), MPROC_OK);
    assert_int_equal(v, 1);
    mproc_semaphore_free(s);
}

static void semaphore_wakes_waiting_processes(void **state)
{
    (void)state;
    enum { N = 3 };
    mproc_semaphore_t *work, *done;
    assert_int_equal(mproc_semaphore_create(&work, 0), MPROC_OK);
    assert_int_equal(mproc_semaphore_create(&done, 0), MPROC_OK);
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_semaphore(a, work), MPROC_OK);
    assert_int_equal(mproc_args_add_semaphore(a, done), MPROC_OK);
    assert_int_equal(mproc_args_type(a, 0), MPROC_ARG_SEMAPHORE);
    mproc_process_t *p[N];
    for (int i = 0; i < N; i++)
        p[i] = test_start(t_take_then_signal, a);
    mproc_args_free(a);
    /* Nobody passes before a release. */
    assert_int_equal(mproc_semaphore_acquire(done, 1, 0.3), MPROC_ETIMEDOUT);
    for (int i = 0; i < N; i++) {
        assert_int_equal(mproc_semaphore_release(work), MPROC_OK);
        assert_int_equal(mproc_semaphore_acquire(done, 1, 30), MPROC_OK);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(test_join(p[i]), 0);
        mproc_process_free(p[i]);
    }
    int64_t v = -1;
    assert_int_equal(mproc_semaphore_get_value(work, &v), MPROC_OK);
    assert_int_equal(v, 0);
    mproc_semaphore_free(work);
    mproc_semaphore_free(done);
}

/* ---- events -------------------------------------------------------------- */

/* args: event "go", semaphore "ready". Says it is about to wait, then waits
 * for the event: exit 0 when it came within 30 s. */
static int t_wait_event(const mproc_args_t *args)
{
    mproc_event_t *go;
    mproc_semaphore_t *ready;
    if (mproc_args_get_event(args, 0, &go) || mproc_args_get_semaphore(args, 1, &ready))
        return 100;
    mproc_semaphore_release(ready);
    mproc_status_t st = mproc_event_wait(go, 30);
    mproc_event_free(go);
    mproc_semaphore_free(ready);
    return st == MPROC_OK ? 0 : 101;
}
MPROC_TARGET(t_wait_event)

static void event_set_clear_and_timeouts(void **state)
{
    (void)state;
    mproc_event_t *e;
    assert_int_equal(mproc_event_create(&e), MPROC_OK);
    assert_false(mproc_event_is_set(e));
    double t0 = test_now();
    assert_int_equal(mproc_event_wait(e, 0.3), MPROC_ETIMEDOUT);
    assert_true(elapsed_since(t0) >= 0.25 && elapsed_since(t0) < 10);
    assert_int_equal(mproc_event_wait(e, 0), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_event_set(e), MPROC_OK);
    assert_true(mproc_event_is_set(e));
    assert_int_equal(mproc_event_wait(e, 0), MPROC_OK);
    assert_int_equal(mproc_event_wait(e, MPROC_FOREVER), MPROC_OK);
    assert_int_equal(mproc_event_clear(e), MPROC_OK);
    assert_false(mproc_event_is_set(e));
    assert_int_equal(mproc_event_wait(e, 0.05), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_event_wait(NULL, 1), MPROC_EINVAL);
    assert_int_equal(mproc_event_set(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_event_clear(NULL), MPROC_EINVAL);
    assert_false(mproc_event_is_set(NULL));
    mproc_event_free(e);
}

static void event_set_releases_every_waiting_process(void **state)
{
    (void)state;
    enum { N = 3 };
    mproc_event_t *go;
    mproc_semaphore_t *ready;
    assert_int_equal(mproc_event_create(&go), MPROC_OK);
    assert_int_equal(mproc_semaphore_create(&ready, 0), MPROC_OK);
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, go), MPROC_OK);
    assert_int_equal(mproc_args_add_semaphore(a, ready), MPROC_OK);
    mproc_process_t *p[N];
    for (int i = 0; i < N; i++)
        p[i] = test_start(t_wait_event, a);
    mproc_args_free(a);
    for (int i = 0; i < N; i++)
        assert_int_equal(mproc_semaphore_acquire(ready, 1, 60), MPROC_OK);
    assert_int_equal(mproc_event_set(go), MPROC_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(test_join(p[i]), 0);
        mproc_process_free(p[i]);
    }
    mproc_event_free(go);
    mproc_semaphore_free(ready);
}

#define PINGS 20000

/* args: event ping, event pong, shared pong count. Answers PINGS pings. */
static int t_pong(const mproc_args_t *args)
{
    mproc_event_t *ping, *pong;
    if (mproc_args_get_event(args, 0, &ping) || mproc_args_get_event(args, 1, &pong))
        return 100;
    volatile int64_t *pongs = test_shared_attach(args, 2, sizeof(int64_t));
    if (!pongs)
        return 101;
    for (int i = 0; i < PINGS; i++) {
        if (mproc_event_wait(ping, 30))
            return 102;
        mproc_event_clear(ping);
        ++*pongs;
        mproc_event_set(pong);
    }
    mproc_event_free(ping);
    mproc_event_free(pong);
    return 0;
}
MPROC_TARGET(t_pong)

/* A wait that begins just after a set() must not be released by it: the
 * answering process stays exactly one step behind. */
static void event_ping_pong_stays_in_step(void **state)
{
    (void)state;
    mproc_event_t *ping, *pong;
    test_shared_t shm;
    test_shared_create(&shm, sizeof(int64_t));
    volatile int64_t *pongs = shm.addr;
    assert_int_equal(mproc_event_create(&ping), MPROC_OK);
    assert_int_equal(mproc_event_create(&pong), MPROC_OK);
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, ping), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, pong), MPROC_OK);
    test_shared_add_arg(&shm, a);
    mproc_process_t *p = test_start(t_pong, a);
    mproc_args_free(a);
    for (int i = 0; i < PINGS; i++) {
        assert_int_equal(mproc_event_set(ping), MPROC_OK);
        assert_int_equal(mproc_event_wait(pong, 30), MPROC_OK);
        assert_int_equal(mproc_event_clear(pong), MPROC_OK);
        if (*pongs != i + 1)
            fail_msg("round %d: %lld pongs", i, (long long)*pongs);
    }
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_event_free(ping);
    mproc_event_free(pong);
    test_shared_release(&shm);
}

/* ---- conditions ---------------------------------------------------------- */

/* Counts in shared memory, changed under the conditions' lock. */
typedef struct counts {
    volatile int64_t waiting, woken;
} counts_t;

static int three_waiting(void *ctx)
{
    return ((counts_t *)ctx)->waiting == 3;
}

static int two_woken(void *ctx)
{
    return ((counts_t *)ctx)->woken == 2;
}

static int three_woken(void *ctx)
{
    return ((counts_t *)ctx)->woken == 3;
}

/* args: condition "to parent", condition "to children" (one lock), counts.
 * Counts itself waiting, waits to be notified, counts itself woken. */
static int t_cond_waiter(const mproc_args_t *args)
{
    mproc_condition_t *up, *down;
    if (mproc_args_get_condition(args, 0, &up) || mproc_args_get_condition(args, 1, &down))
        return 100;
    counts_t *c = test_shared_attach(args, 2, sizeof *c);
    if (!c || mproc_condition_acquire(down, 1, 30))
        return 101;
    c->waiting++;
    mproc_condition_notify_all(up);
    if (mproc_condition_wait(down, 30) != MPROC_OK)
        return 102;
    if (!mproc_lock_is_mine(mproc_condition_get_lock(down)))
        return 103;
    c->woken++;
    mproc_condition_notify_all(up);
    if (mproc_condition_release(down))
        return 104;
    mproc_condition_free(up);
    mproc_condition_free(down);
    return 0;
}
MPROC_TARGET(t_cond_waiter)

static void condition_notify_wakes_as_many_as_asked(void **state)
{
    (void)state;
    mproc_lock_t *l;
    mproc_condition_t *up, *down;
    test_shared_t shm;
    test_shared_create(&shm, sizeof(counts_t));
    counts_t *c = shm.addr;
    assert_int_equal(mproc_lock_create(&l), MPROC_OK);
    assert_int_equal(mproc_condition_create(&up, l), MPROC_OK);
    assert_int_equal(mproc_condition_create(&down, l), MPROC_OK);
    mproc_lock_free(l); /* each condition has its own view */
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_condition(a, up), MPROC_OK);
    assert_int_equal(mproc_args_add_condition(a, down), MPROC_OK);
    test_shared_add_arg(&shm, a);
    mproc_process_t *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = test_start(t_cond_waiter, a);
    mproc_args_free(a);
    assert_int_equal(mproc_condition_acquire(up, 1, 30), MPROC_OK);
    assert_int_equal(mproc_condition_wait_for(up, three_waiting, c, 60), MPROC_OK);
    assert_int_equal(mproc_condition_notify(down, 2), MPROC_OK);
    assert_int_equal(mproc_condition_wait_for(up, two_woken, c, 30), MPROC_OK);
    /* The third stays asleep until notified. */
    double t0 = test_now();
    assert_int_equal(mproc_condition_wait_for(up, three_woken, c, 0.5), MPROC_ETIMEDOUT);
    assert_true(elapsed_since(t0) >= 0.45);
    assert_int_equal(c->woken, 2);
    assert_int_equal(mproc_condition_notify_all(down), MPROC_OK);
    assert_int_equal(mproc_condition_wait_for(up, three_woken, c, 30), MPROC_OK);
    assert_int_equal(mproc_condition_release(up), MPROC_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(test_join(p[i]), 0);
        mproc_process_free(p[i]);
    }
    mproc_condition_free(up);
    mproc_condition_free(down);
    test_shared_release(&shm);
}

static int never(void *ctx)
{
    (void)ctx;
    return 0;
}

static void condition_misuse_and_timeouts(void **state)
{
    (void)state;
    mproc_condition_t *c;
    assert_int_equal(mproc_condition_create(NULL, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_condition_create(&c, NULL), MPROC_OK); /* its own RLock */
    assert_int_equal(mproc_condition_wait(c, 0.1), MPROC_ENOTOWNER);
    assert_int_equal(mproc_condition_notify(c, 1), MPROC_ENOTOWNER);
    assert_int_equal(mproc_condition_notify_all(c), MPROC_ENOTOWNER);
    assert_int_equal(mproc_condition_wait_for(c, never, NULL, 0.1), MPROC_ENOTOWNER);
    assert_int_equal(mproc_condition_release(c), MPROC_ENOTHELD);
    /* Held at two levels: a wait gives both up and takes both back. */
    assert_int_equal(mproc_condition_acquire(c, 1, 1), MPROC_OK);
    assert_int_equal(mproc_condition_acquire(c, 1, 1), MPROC_OK);
    assert_int_equal(mproc_condition_notify(c, 1), MPROC_OK); /* nobody waits: nothing */
    double t0 = test_now();
    assert_int_equal(mproc_condition_wait(c, 0.3), MPROC_ETIMEDOUT);
    assert_true(elapsed_since(t0) >= 0.25 && elapsed_since(t0) < 10);
    assert_int_equal(mproc_condition_wait_for(c, never, NULL, 0.2), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_condition_wait_for(c, NULL, NULL, 0.2), MPROC_EINVAL);
    assert_int_equal(mproc_condition_wait_for(c, three_waiting, &(counts_t){3, 0}, 0), MPROC_OK);
    assert_int_equal(mproc_condition_release(c), MPROC_OK);
    assert_true(mproc_lock_is_mine(mproc_condition_get_lock(c)));
    assert_int_equal(mproc_condition_release(c), MPROC_OK);
    assert_int_equal(mproc_condition_release(c), MPROC_ENOTHELD);
    assert_int_equal(mproc_condition_wait(NULL, 1), MPROC_EINVAL);
    assert_null(mproc_condition_get_lock(NULL));
    mproc_condition_free(c);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(semaphore_counts_and_times_out),
        cmocka_unit_test(bounded_semaphore_refuses_release_past_its_bound),
        cmocka_unit_test(semaphore_wakes_waiting_processes),
        cmocka_unit_test(event_set_clear_and_timeouts),
        cmocka_unit_test(event_set_releases_every_waiting_process),
        cmocka_unit_test(event_ping_pong_stays_in_step),
        cmocka_unit_test(condition_notify_wakes_as_many_as_asked),
        cmocka_unit_test(condition_misuse_and_timeouts),
    };
    return test_main(argc, argv, "sync_wait", tests, ARRAY_LEN(tests));
}
