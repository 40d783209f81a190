/*
 * The shared lock under the queues (src/lock.h), white-box: a process or
 * thread that takes it many times in a row keeps it between uses (where the
 * heavy fence exists), and whoever holds it, by bias or not, excludes every
 * other thread and process until it releases it.
 */
#include <apr_thread_proc.h>
#include <string.h>

#include "support/test_support.h"
#include "lock.h"

typedef struct fixture {
    mproc__lock_t lock;
    volatile int64_t light_users;
    mproc__os_sem_t *sem;
    int light;
} fixture_t;

static void fixture_init(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(mproc__os_sem_create(0, &f->sem), MPROC_OK);
    f->light = mproc__light_enroll(&f->light_users);
}

/* Each thread uses the lock through a view of its own, as each process does. */
static void view_of(fixture_t *f, mproc__lock_view_t *v)
{
    memset(v, 0, sizeof *v);
    mproc__lock_bind(v, &f->lock, f->sem, &f->light_users, f->light);
}

typedef struct attempt {
    fixture_t *f;
    double timeout;
    mproc_status_t st;
} attempt_t;

/* In another thread: take the lock within `timeout`, release it if taken. */
static void *APR_THREAD_FUNC try_from_thread(apr_thread_t *t, void *arg)
{
    attempt_t *a = arg;
    mproc__lock_view_t v;
    view_of(a->f, &v);
    a->st = mproc__lock_acquire(&v, mproc__os_now() + a->timeout);
    if (a->st == MPROC_OK)
        mproc__lock_release(&v);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static mproc_status_t attempt_in_thread(fixture_t *f, double timeout, apr_pool_t *mem)
{
    attempt_t a = {f, timeout, MPROC_EOS};
    apr_thread_t *t;
    apr_status_t rv;
    assert_int_equal(apr_thread_create(&t, NULL, try_from_thread, &a, mem), APR_SUCCESS);
    assert_int_equal(apr_thread_join(&rv, t), APR_SUCCESS);
    return a.st;
}

static void a_lock_taken_many_times_in_a_row_still_excludes_others(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f);
    apr_pool_t *mem;
    assert_int_equal(apr_pool_create(&mem, NULL), APR_SUCCESS);
    mproc__lock_view_t mine;
    view_of(&f, &mine);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(mproc__lock_acquire(&mine, -1.0), MPROC_OK);
        mproc__lock_release(&mine);
    }
    /* Kept between uses where the heavy fence exists, released elsewhere. */
    int64_t kept = mproc__load(&f.lock.owner) & MPROC__LOCK_BIASED;
    assert_int_equal(kept != 0, f.light != 0);

    /* Held: another thread waits and times out, biased or not. */
    assert_int_equal(mproc__lock_acquire(&mine, -1.0), MPROC_OK);
    double t0 = mproc__os_now();
    assert_int_equal(attempt_in_thread(&f, 0.3, mem), MPROC_ETIMEDOUT);
    assert_true(mproc__os_now() - t0 >= 0.25);
    mproc__lock_release(&mine);

    /* Released: the other thread takes it (revoking the bias) at once... */
    t0 = mproc__os_now();
    assert_int_equal(attempt_in_thread(&f, 10, mem), MPROC_OK);
    assert_true(mproc__os_now() - t0 < 5);
    assert_int_equal(mproc__load(&f.lock.owner), 0);
    /* ...and this thread takes it back, and excludes the others again. */
    assert_int_equal(mproc__lock_acquire(&mine, -1.0), MPROC_OK);
    assert_int_equal(attempt_in_thread(&f, 0.2, mem), MPROC_ETIMEDOUT);
    mproc__lock_release(&mine);
    assert_int_equal(attempt_in_thread(&f, 10, mem), MPROC_OK);

    apr_pool_destroy(mem);
    mproc__os_sem_close(f.sem);
}

/* A bias survives only while nobody else asks: after each revocation the run
 * that earns one is four times as long, so threads that take turns end up
 * taking the lock the plain way. */
static void a_revoked_bias_needs_a_longer_run(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f);
    if (!f.light) {
        mproc__os_sem_close(f.sem);
        skip(); /* no heavy fence here: no bias to revoke */
    }
    apr_pool_t *mem;
    assert_int_equal(apr_pool_create(&mem, NULL), APR_SUCCESS);
    mproc__lock_view_t mine;
    view_of(&f, &mine);
    int runs[3];
    for (int r = 0; r < 3; r++) {
        int n = 0;
        while (!(mproc__load(&f.lock.owner) & MPROC__LOCK_BIASED) && n < 1000000) {
            assert_int_equal(mproc__lock_acquire(&mine, -1.0), MPROC_OK);
            mproc__lock_release(&mine);
            n++;
        }
        runs[r] = n;
        assert_int_equal(attempt_in_thread(&f, 10, mem), MPROC_OK); /* revokes */
    }
    assert_true(runs[0] >= 2 && runs[0] < runs[1] && runs[1] < runs[2] && runs[2] < 1000000);
    apr_pool_destroy(mem);
    mproc__os_sem_close(f.sem);
}

/* Threads taking turns, each through a view of its own as processes do, and
 * more of them than CPUs, so that some are preempted inside a take while the
 * lock moves from bias to bias; each holder checks that it is alone. A round
 * is short and starts with a fresh lock: revocations make the runs that earn
 * a bias longer, so a lock used long ends up taken the plain way. */
enum { TURN_THREADS = 6, TURN_ROUNDS = 10 };
#define TURN_SECONDS 0.2

typedef struct turns {
    fixture_t f;
    volatile int64_t inside; /* the holder's number; 0: nobody */
    volatile int64_t overlaps;
    double until;
} turns_t;

typedef struct turner {
    turns_t *t;
    int64_t id;
} turner_t;

static void *APR_THREAD_FUNC take_turns(apr_thread_t *th, void *arg)
{
    turner_t *me = arg;
    turns_t *t = me->t;
    mproc__lock_view_t v;
    view_of(&t->f, &v);
    while (mproc__os_now() < t->until) {
        for (int i = 0; i < 300; i++) {
            if (!mproc__lock_try(&v) && mproc__lock_acquire(&v, -1.0) != MPROC_OK)
                break;
            if (t->inside != 0)
                mproc__add(&t->overlaps, 1);
            t->inside = me->id;
            for (int spin = 0; spin < 20; spin++)
                mproc__cpu_relax();
            if (t->inside != me->id)
                mproc__add(&t->overlaps, 1);
            t->inside = 0;
            mproc__lock_release(&v);
        }
    }
    mproc__lock_unbias(&v);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static void a_lock_kept_and_revoked_in_turns_excludes_every_other_holder(void **state)
{
    (void)state;
    apr_pool_t *mem;
    assert_int_equal(apr_pool_create(&mem, NULL), APR_SUCCESS);
    static turns_t t;
    for (int r = 0; r < TURN_ROUNDS; r++) {
        fixture_init(&t.f);
        t.inside = t.overlaps = 0;
        t.until = mproc__os_now() + TURN_SECONDS;
        turner_t who[TURN_THREADS];
        apr_thread_t *th[TURN_THREADS];
        for (int i = 0; i < TURN_THREADS; i++) {
            who[i].t = &t;
            who[i].id = i + 1;
            assert_int_equal(apr_thread_create(&th[i], NULL, take_turns, &who[i], mem), APR_SUCCESS);
        }
        for (int i = 0; i < TURN_THREADS; i++) {
            apr_status_t rv;
            assert_int_equal(apr_thread_join(&rv, th[i]), APR_SUCCESS);
        }
        assert_int_equal(mproc__load(&t.overlaps), 0);
        assert_int_equal(mproc__load(&t.f.lock.owner), 0);
        mproc__os_sem_close(t.f.sem);
    }
    apr_pool_destroy(mem);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_lock_taken_many_times_in_a_row_still_excludes_others),
        cmocka_unit_test(a_revoked_bias_needs_a_longer_run),
        cmocka_unit_test(a_lock_kept_and_revoked_in_turns_excludes_every_other_holder),
    };
    return test_main(argc, argv, "lock", tests, ARRAY_LEN(tests));
}
