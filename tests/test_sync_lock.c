/*
 * Lock and RLock (sync.h): Python's semantics between threads and processes
 * under each start method, and a holder's death reported as MPROC_EOWNERDEAD.
 */
#include <apr_thread_proc.h>
#include <string.h>

#include "support/test_support.h"

#define ROUNDS 2000

/* args: lock, event "ready", shared counter (handle). Adds ROUNDS to the
 * counter with a read-modify-write that only the lock makes exact. */
static int t_count(const mproc_args_t *args)
{
    mproc_lock_t *l;
    if (mproc_args_get_lock(args, 0, &l))
        return 100;
    volatile int64_t *n = test_shared_attach(args, 1, sizeof(int64_t));
    if (!n)
        return 101;
    for (int i = 0; i < ROUNDS; i++) {
        if (mproc_lock_acquire(l, 1, 30))
            return 102;
        int64_t v = *n;
        if (i % 97 == 0)
            test_sleep(0.0001);
        *n = v + 1;
        if (mproc_lock_release(l))
            return 103;
    }
    mproc_lock_free(l);
    return 0;
}
MPROC_TARGET(t_count)

/* args: lock, event. Takes the lock (twice if recursive is arg 2), sets the
 * event, then waits to be killed. */
static int t_hold(const mproc_args_t *args)
{
    mproc_lock_t *l;
    mproc_event_t *ev;
    int64_t levels = 1;
    if (mproc_args_get_lock(args, 0, &l) || mproc_args_get_event(args, 1, &ev) ||
        mproc_args_get_int(args, 2, &levels))
        return 100;
    for (int64_t i = 0; i < levels; i++)
        if (mproc_lock_acquire(l, 1, 30))
            return 101;
    mproc_event_set(ev);
    test_sleep(600);
    return 0;
}
MPROC_TARGET(t_hold)

/* args: lock. The lock is held by the parent: a child cannot take it nor
 * release an RLock; it may release a plain Lock (exit 7 then). */
static int t_try(const mproc_args_t *args)
{
    mproc_lock_t *l;
    if (mproc_args_get_lock(args, 0, &l))
        return 100;
    if (mproc_lock_acquire(l, 0, 0) != MPROC_ETIMEDOUT)
        return 101;
    if (mproc_lock_acquire(l, 1, 0.2) != MPROC_ETIMEDOUT)
        return 102;
    if (mproc_lock_is_mine(l))
        return 103;
    mproc_status_t st = mproc_lock_release(l);
    mproc_lock_free(l);
    return st == MPROC_ENOTOWNER ? 0 : st == MPROC_OK ? 7 : 104;
}
MPROC_TARGET(t_try)

static mproc_args_t *lock_args(mproc_lock_t *l)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_lock(a, l), MPROC_OK);
    return a;
}

static void lock_acquire_release_and_misuse(void **state)
{
    (void)state;
    mproc_lock_t *l;
    assert_int_equal(mproc_lock_create(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_lock_create(&l), MPROC_OK);
    assert_int_equal(mproc_lock_release(l), MPROC_ENOTHELD);
    assert_false(mproc_lock_is_mine(l));
    assert_int_equal(mproc_lock_acquire(l, 1, MPROC_FOREVER), MPROC_OK);
    assert_true(mproc_lock_is_mine(l));
    /* Not recursive: a second acquire by the holder waits like anyone's. */
    assert_int_equal(mproc_lock_acquire(l, 0, 0), MPROC_ETIMEDOUT);
    double t0 = test_now();
    assert_int_equal(mproc_lock_acquire(l, 1, 0.3), MPROC_ETIMEDOUT);
    double waited = test_now() - t0;
    assert_true(waited >= 0.25 && waited < 10);
    assert_int_equal(mproc_lock_acquire(l, 1, 0.0 / 0.0), MPROC_EINVAL);
    assert_int_equal(mproc_lock_release(l), MPROC_OK);
    assert_int_equal(mproc_lock_release(l), MPROC_ENOTHELD);
    assert_int_equal(mproc_lock_acquire(l, 0, 0), MPROC_OK);
    assert_int_equal(mproc_lock_release(l), MPROC_OK);
    assert_int_equal(mproc_lock_acquire(NULL, 1, 1), MPROC_EINVAL);
    assert_int_equal(mproc_lock_release(NULL), MPROC_EINVAL);
    mproc_lock_free(l);
    mproc_lock_free(NULL);
}

static void rlock_counts_levels_and_knows_its_owner(void **state)
{
    (void)state;
    mproc_lock_t *l;
    assert_int_equal(mproc_rlock_create(&l), MPROC_OK);
    assert_int_equal(mproc_lock_release(l), MPROC_ENOTHELD);
    for (int i = 0; i < 3; i++)
        assert_int_equal(mproc_lock_acquire(l, 0, 0), MPROC_OK);
    /* Another process can neither take it nor release it. */
    mproc_args_t *a = lock_args(l);
    mproc_process_t *p = test_start(t_try, a);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_args_free(a);
    for (int i = 0; i < 3; i++) {
        assert_true(mproc_lock_is_mine(l));
        assert_int_equal(mproc_lock_release(l), MPROC_OK);
    }
    assert_false(mproc_lock_is_mine(l));
    assert_int_equal(mproc_lock_release(l), MPROC_ENOTHELD);
    mproc_lock_free(l);
}

static void a_plain_lock_may_be_released_by_another_process(void **state)
{
    (void)state;
    mproc_lock_t *l;
    assert_int_equal(mproc_lock_create(&l), MPROC_OK);
    assert_int_equal(mproc_lock_acquire(l, 1, 1), MPROC_OK);
    mproc_args_t *a = lock_args(l);
    mproc_process_t *p = test_start(t_try, a);
    assert_int_equal(test_join(p), 7);
    mproc_process_free(p);
    mproc_args_free(a);
    assert_int_equal(mproc_lock_release(l), MPROC_ENOTHELD);
    mproc_lock_free(l);
}

typedef struct thread_try {
    mproc_lock_t *l;
    mproc_status_t acquire, release;
} thread_try_t;

static void *APR_THREAD_FUNC try_in_thread(apr_thread_t *t, void *arg)
{
    thread_try_t *tt = arg;
    tt->acquire = mproc_lock_acquire(tt->l, 1, 0.2);
    tt->release = mproc_lock_release(tt->l);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void rlock_belongs_to_a_thread(void **state)
{
    (void)state;
    apr_pool_t *mem;
    apr_thread_t *t;
    apr_status_t rv;
    assert_int_equal(apr_pool_create(&mem, NULL), APR_SUCCESS);
    mproc_lock_t *l;
    assert_int_equal(mproc_rlock_create(&l), MPROC_OK);
    assert_int_equal(mproc_lock_acquire(l, 1, 1), MPROC_OK);
    thread_try_t tt = {l, MPROC_OK, MPROC_OK};
    assert_int_equal(apr_thread_create(&t, NULL, try_in_thread, &tt, mem), APR_SUCCESS);
    assert_int_equal(apr_thread_join(&rv, t), APR_SUCCESS);
    assert_int_equal(tt.acquire, MPROC_ETIMEDOUT);
    assert_int_equal(tt.release, MPROC_ENOTOWNER);
    assert_int_equal(mproc_lock_release(l), MPROC_OK);
    mproc_lock_free(l);
    apr_pool_destroy(mem);
}

typedef struct counting {
    mproc_lock_t *l;
    volatile int64_t *n;
    int failures;
} counting_t;

/* In a thread of this process: what t_count does in a child. */
static void *APR_THREAD_FUNC count_in_thread(apr_thread_t *t, void *arg)
{
    counting_t *c = arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (mproc_lock_acquire(c->l, 1, 30)) {
            c->failures++;
            continue;
        }
        int64_t v = *c->n;
        if (i % 97 == 0)
            test_sleep(0.0001);
        *c->n = v + 1;
        if (mproc_lock_release(c->l))
            c->failures++;
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Three processes and two threads of this one, all through the same lock. */
static void lock_excludes_processes_and_threads(void **state)
{
    (void)state;
    mproc_lock_t *l;
    test_shared_t n;
    apr_pool_t *mem;
    apr_thread_t *t[2];
    apr_status_t rv;
    assert_int_equal(apr_pool_create(&mem, NULL), APR_SUCCESS);
    test_shared_create(&n, sizeof(int64_t));
    assert_int_equal(mproc_lock_create(&l), MPROC_OK);
    mproc_args_t *a = lock_args(l);
    test_shared_add_arg(&n, a);
    mproc_process_t *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = test_start(t_count, a);
    mproc_args_free(a);
    counting_t c[2] = {{l, n.addr, 0}, {l, n.addr, 0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(apr_thread_create(&t[i], NULL, count_in_thread, &c[i], mem), APR_SUCCESS);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(apr_thread_join(&rv, t[i]), APR_SUCCESS);
        assert_int_equal(c[i].failures, 0);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(test_join(p[i]), 0);
        mproc_process_free(p[i]);
    }
    assert_int_equal(*(volatile int64_t *)n.addr, 5 * ROUNDS);
    mproc_lock_free(l);
    test_shared_release(&n);
    apr_pool_destroy(mem);
}

/* A holder killed: the next acquirer gets the lock and MPROC_EOWNERDEAD. */
static void killed_holder(int recursive, int levels, int block)
{
    mproc_lock_t *l;
    mproc_event_t *ev;
    assert_int_equal(recursive ? mproc_rlock_create(&l) : mproc_lock_create(&l), MPROC_OK);
    assert_int_equal(mproc_event_create(&ev), MPROC_OK);
    mproc_args_t *a = lock_args(l);
    assert_int_equal(mproc_args_add_event(a, ev), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, levels), MPROC_OK);
    mproc_process_t *p = test_start(t_hold, a);
    mproc_args_free(a);
    assert_int_equal(mproc_event_wait(ev, 60), MPROC_OK);
    assert_int_equal(mproc_lock_acquire(l, 1, 0.2), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    test_join(p);
    mproc_process_free(p);
    assert_int_equal(mproc_lock_acquire(l, block, 30), MPROC_EOWNERDEAD);
    assert_true(mproc_lock_is_mine(l));
    assert_int_equal(mproc_lock_release(l), MPROC_OK);
    assert_int_equal(mproc_lock_release(l), MPROC_ENOTHELD);
    assert_int_equal(mproc_lock_acquire(l, 0, 0), MPROC_OK);
    assert_int_equal(mproc_lock_release(l), MPROC_OK);
    mproc_event_free(ev);
    mproc_lock_free(l);
}

static void lock_holder_killed_is_reported(void **state)
{
    (void)state;
    killed_holder(0, 1, 1);
    killed_holder(0, 1, 0);
}

static void rlock_holder_killed_is_reported(void **state)
{
    (void)state;
    killed_holder(1, 3, 1);
}

/* args: one of each object, event. Opens them all, sets the event, waits to
 * be killed. */
static int t_open_all(const mproc_args_t *args)
{
    mproc_lock_t *l;
    mproc_semaphore_t *s;
    mproc_condition_t *c;
    mproc_barrier_t *b;
    mproc_value_t *v;
    mproc_array_t *a;
    mproc_event_t *e;
    if (mproc_args_get_lock(args, 0, &l) || mproc_args_get_semaphore(args, 1, &s) ||
        mproc_args_get_condition(args, 2, &c) || mproc_args_get_barrier(args, 3, &b) ||
        mproc_args_get_value(args, 4, &v) || mproc_args_get_array(args, 5, &a) ||
        mproc_args_get_event(args, 6, &e))
        return 100;
    if (mproc_lock_acquire(l, 1, 30) || mproc_condition_acquire(c, 1, 30))
        return 101;
    mproc_event_set(e);
    test_sleep(600);
    return 0;
}
MPROC_TARGET(t_open_all)

/* Every object, created, handed to a child that is killed holding two
 * locks, and freed: no descriptor is left open here, and the locks are
 * usable again. */
static void nothing_left_behind_even_after_sigkill(void **state)
{
    (void)state;
    int before[256], after[256];
    size_t nbefore = test_open_fds(before, 256);
    mproc_lock_t *l;
    mproc_semaphore_t *s;
    mproc_condition_t *c;
    mproc_barrier_t *b;
    mproc_value_t *v;
    mproc_array_t *arr;
    mproc_event_t *e;
    assert_int_equal(mproc_lock_create(&l), MPROC_OK);
    assert_int_equal(mproc_semaphore_create(&s, 1), MPROC_OK);
    assert_int_equal(mproc_condition_create(&c, NULL), MPROC_OK);
    assert_int_equal(mproc_barrier_create(&b, 2, NULL, 1), MPROC_OK);
    assert_int_equal(mproc_value_create(&v, 'd', 1), MPROC_OK);
    assert_int_equal(mproc_array_create(&arr, 'i', 100, 0), MPROC_OK);
    assert_int_equal(mproc_event_create(&e), MPROC_OK);
    mproc_args_t *a = lock_args(l);
    assert_int_equal(mproc_args_add_semaphore(a, s), MPROC_OK);
    assert_int_equal(mproc_args_add_condition(a, c), MPROC_OK);
    assert_int_equal(mproc_args_add_barrier(a, b), MPROC_OK);
    assert_int_equal(mproc_args_add_value(a, v), MPROC_OK);
    assert_int_equal(mproc_args_add_array(a, arr), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, e), MPROC_OK);
    mproc_process_t *p = test_start(t_open_all, a);
    mproc_args_free(a);
    assert_int_equal(mproc_event_wait(e, 60), MPROC_OK);
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    test_join(p);
    mproc_process_free(p);
    assert_int_equal(mproc_lock_acquire(l, 1, 30), MPROC_EOWNERDEAD);
    assert_int_equal(mproc_condition_acquire(c, 1, 30), MPROC_EOWNERDEAD);
    assert_int_equal(mproc_condition_release(c), MPROC_OK);
    assert_int_equal(mproc_lock_release(l), MPROC_OK);
    mproc_lock_free(l);
    mproc_semaphore_free(s);
    mproc_condition_free(c);
    mproc_barrier_free(b);
    mproc_value_free(v);
    mproc_array_free(arr);
    mproc_event_free(e);
    size_t nafter = test_open_fds(after, 256);
    assert_int_equal(nafter, nbefore);
    for (size_t i = 0; i < nafter; i++)
        assert_int_equal(after[i], before[i]);
}

static void wrong_arguments_are_refused(void **state)
{
    (void)state;
    mproc_lock_t *l = (mproc_lock_t *)&l;
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, 1), MPROC_OK);
    assert_int_equal(mproc_args_get_lock(a, 0, &l), MPROC_ETYPE);
    assert_null(l);
    assert_int_equal(mproc_args_get_lock(a, 5, &l), MPROC_ERANGE);
    assert_int_equal(mproc_args_add_lock(a, NULL), MPROC_EINVAL);
    mproc_event_t *ev;
    assert_int_equal(mproc_event_create(&ev), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, ev), MPROC_OK);
    assert_int_equal(mproc_args_type(a, 1), MPROC_ARG_EVENT);
    assert_int_equal(mproc_args_get_lock(a, 1, &l), MPROC_ETYPE);
    mproc_event_free(ev);
    mproc_args_free(a);
    /* The codes these objects add have names and messages. */
    assert_string_equal(mproc_err_name(MPROC_ENOTHELD), "MPROC_ENOTHELD");
    assert_string_equal(mproc_err_name(MPROC_ENOTOWNER), "MPROC_ENOTOWNER");
    assert_string_equal(mproc_err_name(MPROC_EOVERRELEASE), "MPROC_EOVERRELEASE");
    assert_string_equal(mproc_err_name(MPROC_EBROKEN), "MPROC_EBROKEN");
    assert_string_equal(mproc_err_name(MPROC_ENAMETAKEN), "MPROC_ENAMETAKEN");
    assert_string_equal(mproc_strerror(MPROC_EBROKEN), "the barrier is broken");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lock_acquire_release_and_misuse),
        cmocka_unit_test(rlock_counts_levels_and_knows_its_owner),
        cmocka_unit_test(a_plain_lock_may_be_released_by_another_process),
        cmocka_unit_test(rlock_belongs_to_a_thread),
        cmocka_unit_test(lock_excludes_processes_and_threads),
        cmocka_unit_test(lock_holder_killed_is_reported),
        cmocka_unit_test(rlock_holder_killed_is_reported),
        cmocka_unit_test(nothing_left_behind_even_after_sigkill),
        cmocka_unit_test(wrong_arguments_are_refused),
    };
    return test_main(argc, argv, "sync_lock", tests, ARRAY_LEN(tests));
}
