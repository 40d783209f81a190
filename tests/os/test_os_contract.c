/*
 * The platform interface's contract, the same test for every backend:
 * semaphores and shared memory work within a process and reach a child
 * through handle arguments; a reserved segment commits and gives back pages;
 * process tokens tell a running process from one that ended; the heavy fence
 * is there wherever a process can enroll for it; a wait on pipes returns as
 * soon as one has data (or its writer has gone) and otherwise at its deadline,
 * and reports everything ready, pipes and other objects alike.
 */
#include <apr_thread_proc.h>
#include <string.h>

#include "../support/test_support.h"
#include "args_internal.h"
#include "platform.h"

static void sem_counts_and_times_out(void **state)
{
    (void)state;
    mproc__os_sem_t *s;
    assert_int_equal(mproc__os_sem_create(2, &s), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, 0.0), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, 0.0), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, 0.0), MPROC_ETIMEDOUT);
    double t0 = mproc__os_now();
    assert_int_equal(mproc__os_sem_wait(s, t0 + 0.2), MPROC_ETIMEDOUT);
    double waited = mproc__os_now() - t0;
    assert_true(waited >= 0.15);
    assert_true(waited < 10.0);
    assert_int_equal(mproc__os_sem_post(s), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, -1.0), MPROC_OK);
    mproc__os_sem_close(s);
}

static void shm_rejects_zero_size(void **state)
{
    (void)state;
    mproc__os_shm_t shm;
    assert_int_equal(mproc__os_shm_create(0, &shm), MPROC_EINVAL);
}

/* args: semaphore handle, shared memory handle. Writes 42, posts. */
static int t_post(const mproc_args_t *args)
{
    mproc__os_handle_t hs, hm;
    mproc__os_sem_t *s;
    mproc__os_shm_t shm;
    if (mproc__args_get_handle(args, 0, &hs) || mproc__args_get_handle(args, 1, &hm))
        return 1;
    if (mproc__os_sem_open(hs, &s) || mproc__os_shm_attach(hm, 4096, &shm))
        return 2;
    memcpy(shm.addr, "42", 3);
    if (mproc__os_sem_post(s))
        return 3;
    mproc__os_sem_close(s);
    mproc__os_shm_release(&shm);
    return 0;
}
MPROC_TARGET(t_post)

static void sem_and_shm_reach_a_child(void **state)
{
    (void)state;
    mproc__os_sem_t *s;
    mproc__os_shm_t shm;
    assert_int_equal(mproc__os_sem_create(0, &s), MPROC_OK);
    assert_int_equal(mproc__os_shm_create(4096, &shm), MPROC_OK);
    memset(shm.addr, 0, 4096);
    mproc_args_t *a;
    mproc_args_create(&a);
    assert_int_equal(mproc__args_add_handle(a, mproc__os_sem_handle(s)), MPROC_OK);
    assert_int_equal(mproc__args_add_handle(a, shm.handle), MPROC_OK);
    mproc_process_t *p = test_start(t_post, a);
    mproc_args_free(a);
    assert_int_equal(mproc__os_sem_wait(s, mproc__os_now() + 60), MPROC_OK);
    assert_string_equal((const char *)shm.addr, "42");
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc__os_sem_close(s);
    mproc__os_shm_release(&shm);
}

#define RELAYS 300

/* args: two semaphore handles. RELAYS times: take one from the first, post
 * the second. */
static int t_relay(const mproc_args_t *args)
{
    mproc__os_handle_t h[2];
    mproc__os_sem_t *in, *out;
    if (mproc__args_get_handle(args, 0, &h[0]) || mproc__args_get_handle(args, 1, &h[1]))
        return 1;
    if (mproc__os_sem_open(h[0], &in) || mproc__os_sem_open(h[1], &out))
        return 2;
    for (int i = 0; i < RELAYS; i++)
        if (mproc__os_sem_wait(in, mproc__os_now() + 60) || mproc__os_sem_post(out))
            return 3;
    mproc__os_sem_close(in);
    mproc__os_sem_close(out);
    return 0;
}
MPROC_TARGET(t_relay)

/* Two children and the parent sleep on semaphores in turn: every post wakes a
 * sleeper in another process, and no count is lost or made up. */
static void sem_wakes_sleepers_in_other_processes(void **state)
{
    (void)state;
    mproc__os_sem_t *to_children, *back;
    assert_int_equal(mproc__os_sem_create(0, &to_children), MPROC_OK);
    assert_int_equal(mproc__os_sem_create(0, &back), MPROC_OK);
    mproc_args_t *a;
    mproc_args_create(&a);
    assert_int_equal(mproc__args_add_handle(a, mproc__os_sem_handle(to_children)), MPROC_OK);
    assert_int_equal(mproc__args_add_handle(a, mproc__os_sem_handle(back)), MPROC_OK);
    mproc_process_t *p[2] = {test_start(t_relay, a), test_start(t_relay, a)};
    mproc_args_free(a);
    /* One at a time, so that the children are asleep when each post comes. */
    for (int i = 0; i < 2 * RELAYS; i++) {
        assert_int_equal(mproc__os_sem_post(to_children), MPROC_OK);
        assert_int_equal(mproc__os_sem_wait(back, mproc__os_now() + 60), MPROC_OK);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(test_join(p[i]), 0);
        mproc_process_free(p[i]);
    }
    assert_int_equal(mproc__os_sem_wait(to_children, 0.0), MPROC_ETIMEDOUT);
    assert_int_equal(mproc__os_sem_wait(back, 0.0), MPROC_ETIMEDOUT);
    mproc__os_sem_close(to_children);
    mproc__os_sem_close(back);
}

/* args: a pipe's write end, a semaphore. Waits for the semaphore, writes "x". */
static int t_write_when_told(const mproc_args_t *args)
{
    mproc__os_handle_t wr, hs;
    mproc__os_sem_t *go;
    if (mproc__args_get_handle(args, 0, &wr) || mproc__args_get_handle(args, 1, &hs))
        return 1;
    if (mproc__os_sem_open(hs, &go) || mproc__os_sem_wait(go, mproc__os_now() + 60))
        return 2;
    mproc__os_sem_close(go);
    return mproc__os_write_all(wr, "x", 1) == MPROC_OK ? 0 : 3;
}
MPROC_TARGET(t_write_when_told)

/* A child running t_write_when_told on wr; *go tells it to write. */
static mproc_process_t *start_writer(mproc__os_handle_t wr, mproc__os_sem_t **go)
{
    mproc_args_t *args;
    assert_int_equal(mproc__os_sem_create(0, go), MPROC_OK);
    mproc_args_create(&args);
    assert_int_equal(mproc__args_add_handle(args, wr), MPROC_OK);
    assert_int_equal(mproc__args_add_handle(args, mproc__os_sem_handle(*go)), MPROC_OK);
    mproc_process_t *p = test_start(t_write_when_told, args);
    mproc_args_free(args);
    return p;
}

static void pipe_waits_end_with_data_or_at_the_deadline(void **state)
{
    (void)state;
    mproc__os_handle_t end0[2][2], end1[2][2], rd[2], wr[2];
    int ready[2] = {1, 1};
    /* Two simplex pipes: rd[i] reads what wr[i] writes. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mproc__os_pipe(0, end0[i], end1[i]), MPROC_OK);
        rd[i] = end0[i][0];
        wr[i] = end1[i][1];
    }

    /* Nothing to read: the wait ends at its deadline, not before, not long after. */
    double t0 = mproc__os_now();
    assert_int_equal(mproc__os_wait_ready(rd, 2, t0 + 0.3, ready), MPROC_ETIMEDOUT);
    double waited = mproc__os_now() - t0;
    assert_true(waited >= 0.25);
    assert_true(waited < 10.0);
    assert_int_equal(ready[0] + ready[1], 0);
    assert_int_equal(mproc__os_wait_ready(rd, 2, mproc__os_now(), ready), MPROC_ETIMEDOUT);

    /* Data in the second: ready at once, and only that one. */
    assert_int_equal(mproc__os_write_all(wr[1], "y", 1), MPROC_OK);
    t0 = mproc__os_now();
    assert_int_equal(mproc__os_wait_ready(rd, 2, t0 + 60, ready), MPROC_OK);
    assert_true(mproc__os_now() - t0 < 5.0);
    assert_int_equal(ready[0], 0);
    assert_int_equal(ready[1], 1);
    /* Waiting consumed nothing: the byte is still there to read. */
    char c = 0;
    size_t got = 0;
    assert_int_equal(mproc__os_read_some(rd[1], &c, 1, &got), MPROC_OK);
    assert_int_equal(got, 1);
    assert_int_equal(c, 'y');

    /* Data arriving from another process while this one waits wakes it. */
    mproc__os_sem_t *go;
    mproc_process_t *p = start_writer(wr[0], &go);
    assert_int_equal(mproc__os_sem_post(go), MPROC_OK);
    t0 = mproc__os_now();
    assert_int_equal(mproc__os_wait_ready(rd, 2, t0 + 60, ready), MPROC_OK);
    assert_true(mproc__os_now() - t0 < 30.0);
    assert_int_equal(ready[0], 1);
    assert_int_equal(ready[1], 0);
    assert_int_equal(mproc__os_read_some(rd[0], &c, 1, &got), MPROC_OK);
    assert_int_equal(c, 'x');
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc__os_sem_close(go);

    /* A writer gone counts as ready (the read then reports EOF). */
    mproc__os_close(wr[0]);
    assert_int_equal(mproc__os_wait_ready(rd, 1, mproc__os_now() + 60, ready), MPROC_OK);
    assert_int_equal(ready[0], 1);
    assert_int_equal(mproc__os_read_some(rd[0], &c, 1, &got), MPROC_EEOF);
    mproc__os_close(rd[0]);
    mproc__os_close(rd[1]);
    mproc__os_close(wr[1]);
}

/* Pipes and a process sentinel in one wait: with nothing ready it ends at
 * its deadline; the wait that sees the child end also reports both pipes
 * that have data by then, not only what woke it (as Python's wait). */
static void mixed_wait_reports_everything_ready(void **state)
{
    (void)state;
    mproc__os_handle_t end0[2], end1[2], hs[3], wr[2];
    int ready[3] = {1, 1, 1};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mproc__os_pipe(0, end0, end1), MPROC_OK);
        hs[2 * i] = end0[0];
        wr[i] = end1[1];
    }
    mproc__os_sem_t *go;
    mproc_process_t *p = start_writer(wr[0], &go);
    mproc_sentinel_t sentinel;
    assert_int_equal(mproc_process_sentinel(p, &sentinel), MPROC_OK);
    hs[1] = (mproc__os_handle_t)sentinel;

    double t0 = mproc__os_now();
    assert_int_equal(mproc__os_wait_ready(hs, 3, t0 + 0.3, ready), MPROC_ETIMEDOUT);
    double waited = mproc__os_now() - t0;
    assert_true(waited >= 0.25);
    assert_true(waited < 10.0);
    assert_int_equal(ready[0] + ready[1] + ready[2], 0);

    /* The second pipe has data at once; the child writes to the first and ends. */
    assert_int_equal(mproc__os_write_all(wr[1], "y", 1), MPROC_OK);
    assert_int_equal(mproc__os_sem_post(go), MPROC_OK);
    double end = mproc__os_now() + 60;
    do
        assert_int_equal(mproc__os_wait_ready(hs, 3, end, ready), MPROC_OK);
    while (!ready[1] && mproc__os_now() < end);
    assert_int_equal(ready[0], 1);
    assert_int_equal(ready[1], 1);
    assert_int_equal(ready[2], 1);
    /* Nothing was consumed: each pipe still holds its byte. */
    char c = 0;
    size_t got = 0;
    assert_int_equal(mproc__os_read_some(hs[0], &c, 1, &got), MPROC_OK);
    assert_int_equal(c, 'x');
    assert_int_equal(mproc__os_read_some(hs[2], &c, 1, &got), MPROC_OK);
    assert_int_equal(c, 'y');
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc__os_sem_close(go);
    for (int i = 0; i < 2; i++) {
        mproc__os_close(hs[2 * i]);
        mproc__os_close(wr[i]);
    }
}

typedef struct other_wait {
    mproc__os_handle_t rd;
    mproc_status_t st;
    int ready;
} other_wait_t;

static void *APR_THREAD_FUNC wait_in_thread(apr_thread_t *t, void *arg)
{
    other_wait_t *o = arg;
    o->st = mproc__os_wait_ready(&o->rd, 1, mproc__os_now() + 60, &o->ready);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void expect_timeout(mproc__os_handle_t *rd, size_t n)
{
    int ready[2] = {1, 1};
    double t0 = mproc__os_now();
    assert_int_equal(mproc__os_wait_ready(rd, n, t0 + 0.2, ready), MPROC_ETIMEDOUT);
    assert_true(mproc__os_now() - t0 >= 0.15);
    assert_int_equal(ready[0] + (n > 1 ? ready[1] : 0), 0);
}

static void read_byte(mproc__os_handle_t rd, char want)
{
    char c = 0;
    size_t got = 0;
    assert_int_equal(mproc__os_read_some(rd, &c, 1, &got), MPROC_OK);
    assert_int_equal(c, want);
}

/* One byte written into pipe `which` of two: the wait reports that one alone. */
static void only_one_ready(mproc__os_handle_t *rd, mproc__os_handle_t *wr, size_t which, char byte)
{
    int ready[2] = {0, 0};
    assert_int_equal(mproc__os_write_all(wr[which], &byte, 1), MPROC_OK);
    assert_int_equal(mproc__os_wait_ready(rd, 2, mproc__os_now() + 60, ready), MPROC_OK);
    assert_int_equal(ready[which], 1);
    assert_int_equal(ready[1 - which], 0);
    read_byte(rd[which], byte);
}

/* What one wait leaves behind never misleads the next (on Windows a
 * thread's zero-byte reads stay in flight between its waits): data read
 * since is not reported again, data that came unseen is; another thread's
 * wait and a blocking read still get their data; a pipe closed and another
 * made (likely under the same handle number) starts afresh. */
static void waits_again_after_reads_and_closes(void **state)
{
    (void)state;
    mproc__os_handle_t end0[2], end1[2], rd[2], wr[2];
    int ready[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mproc__os_pipe(0, end0, end1), MPROC_OK);
        rd[i] = end0[0];
        wr[i] = end1[1];
    }
    expect_timeout(rd, 2);
    assert_int_equal(mproc__os_write_all(wr[0], "a", 1), MPROC_OK);
    read_byte(rd[0], 'a');
    expect_timeout(rd, 2);
    only_one_ready(rd, wr, 1, 'b');

    /* Another thread waits on a pipe this one left a read on. */
    apr_pool_t *mem;
    apr_thread_t *t;
    apr_status_t rv;
    other_wait_t o = {rd[0], MPROC_EOS, 0};
    assert_int_equal(apr_pool_create(&mem, NULL), APR_SUCCESS);
    expect_timeout(rd, 1);
    assert_int_equal(apr_thread_create(&t, NULL, wait_in_thread, &o, mem), APR_SUCCESS);
    assert_int_equal(mproc__os_write_all(wr[0], "c", 1), MPROC_OK);
    assert_int_equal(apr_thread_join(&rv, t), APR_SUCCESS);
    assert_int_equal(o.st, MPROC_OK);
    assert_int_equal(o.ready, 1);
    apr_pool_destroy(mem);
    read_byte(rd[0], 'c');

    /* A blocking read, with this thread's read left in flight ahead of it. */
    expect_timeout(rd, 1);
    mproc__os_sem_t *go;
    mproc_process_t *p = start_writer(wr[0], &go);
    assert_int_equal(mproc__os_sem_post(go), MPROC_OK);
    read_byte(rd[0], 'x');
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc__os_sem_close(go);

    /* Closed with a read left on it; the next pipe starts afresh. */
    expect_timeout(rd, 2);
    for (int i = 0; i < 2; i++) {
        mproc__os_close(rd[i]);
        mproc__os_close(wr[i]);
        assert_int_equal(mproc__os_pipe(0, end0, end1), MPROC_OK);
        rd[i] = end0[0];
        wr[i] = end1[1];
    }
    expect_timeout(rd, 2);
    only_one_ready(rd, wr, 0, 'd');
    /* A writer gone wakes a read left in flight. */
    expect_timeout(rd, 2);
    mproc__os_close(wr[1]);
    assert_int_equal(mproc__os_wait_ready(rd, 2, mproc__os_now() + 60, ready), MPROC_OK);
    assert_int_equal(ready[1], 1);
    char c;
    size_t got;
    assert_int_equal(mproc__os_read_some(rd[1], &c, 1, &got), MPROC_EEOF);
    mproc__os_close(rd[0]);
    mproc__os_close(rd[1]);
    mproc__os_close(wr[0]);
}

#define MANY_PIPES 64

/* As many pipes as one wait takes on Windows (64): the one with data is the
 * one reported; one handle more than the limit is refused, not truncated. */
static void pipe_wait_takes_up_to_its_limit(void **state)
{
    (void)state;
    mproc__os_handle_t end0[2], end1[2], rd[MANY_PIPES], wr[MANY_PIPES];
    int ready[MANY_PIPES];
    size_t n = mproc__os_wait_limit() < MANY_PIPES ? mproc__os_wait_limit() : MANY_PIPES;
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(mproc__os_pipe(0, end0, end1), MPROC_OK);
        rd[i] = end0[0];
        wr[i] = end1[1];
    }
    assert_int_equal(mproc__os_write_all(wr[n - 2], "z", 1), MPROC_OK);
    assert_int_equal(mproc__os_wait_ready(rd, n, mproc__os_now() + 60, ready), MPROC_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ready[i], i == n - 2);
    if (mproc__os_wait_limit() == MANY_PIPES) {
        mproc__os_handle_t more[MANY_PIPES + 1];
        int more_ready[MANY_PIPES + 1];
        memcpy(more, rd, sizeof rd);
        more[MANY_PIPES] = rd[0];
        assert_int_equal(mproc__os_wait_ready(more, MANY_PIPES + 1, mproc__os_now(), more_ready),
                         MPROC_EINVAL);
    }
    for (size_t i = 0; i < n; i++) {
        mproc__os_close(rd[i]);
        mproc__os_close(wr[i]);
    }
}

static void reserved_shm_commits_and_gives_back(void **state)
{
    (void)state;
    const size_t size = (size_t)64 << 20, page = 1 << 20;
    mproc__os_shm_t shm;
    assert_int_equal(mproc__os_shm_reserve(size, &shm), MPROC_OK);
    unsigned char *m = shm.addr;
    assert_int_equal(mproc__os_shm_commit(&shm, size - page, page), MPROC_OK);
    memset(m + size - page, 7, page);
    assert_int_equal(m[size - 1], 7);
    mproc__os_shm_discard(&shm, size - page, page);
    /* Usable again after a commit, whatever the discard left there. */
    assert_int_equal(mproc__os_shm_commit(&shm, size - page, page), MPROC_OK);
    m[size - 1] = 9;
    assert_int_equal(m[size - 1], 9);
    assert_int_equal(mproc__os_shm_commit(&shm, size, 1), MPROC_EINVAL);
    mproc__os_shm_release(&shm);
}

/* args: shared memory handle. Writes its token there, then sleeps. */
static int t_token_then_sleep(const mproc_args_t *args)
{
    mproc__os_handle_t hm;
    mproc__os_shm_t shm;
    if (mproc__args_get_handle(args, 0, &hm) || mproc__os_shm_attach(hm, 4096, &shm))
        return 1;
    int64_t token = mproc__os_self_token();
    memcpy(shm.addr, &token, sizeof token);
    test_sleep(60);
    return 0;
}
MPROC_TARGET(t_token_then_sleep)

static void tokens_tell_running_from_ended(void **state)
{
    (void)state;
    int64_t me = mproc__os_self_token();
    assert_true(me != 0);
    assert_true(me == mproc__os_self_token());
    assert_int_equal(mproc__os_token_alive(me), 1);
    mproc__os_shm_t shm;
    assert_int_equal(mproc__os_shm_create(4096, &shm), MPROC_OK);
    memset(shm.addr, 0, 4096);
    mproc_args_t *a;
    mproc_args_create(&a);
    assert_int_equal(mproc__args_add_handle(a, shm.handle), MPROC_OK);
    mproc_process_t *p = test_start(t_token_then_sleep, a);
    mproc_args_free(a);
    int64_t child = 0;
    for (double end = mproc__os_now() + 60; child == 0 && mproc__os_now() < end; test_sleep(0.01))
        memcpy(&child, shm.addr, sizeof child);
    assert_true(child != 0 && child != me);
    int64_t pid = 0;
    assert_int_equal(mproc_process_pid(p, &pid), MPROC_OK);
    assert_int_equal((int64_t)((uint64_t)child >> 32), pid);
    assert_int_equal(mproc__os_token_alive(child), 1);
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    /* Ended, reaped or not: a killed child's token is dead at once on Linux
     * and Windows; elsewhere once it is reaped. */
    test_join(p);
    assert_int_equal(mproc__os_token_alive(child), 0);
    mproc_process_free(p);
    mproc__os_shm_release(&shm);
}

static void heavy_fence_where_enrolled(void **state)
{
    (void)state;
    if (mproc__os_fence_enroll())
        assert_int_equal(mproc__os_fence_heavy(), MPROC_OK);
    else
        assert_int_equal(mproc__os_fence_heavy(), MPROC_ENOTSUP);
#if defined(__linux__)
    assert_int_equal(mproc__os_fence_enroll(), 1); /* membarrier since Linux 4.16 */
#endif
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sem_counts_and_times_out),
        cmocka_unit_test(shm_rejects_zero_size),
        cmocka_unit_test(sem_and_shm_reach_a_child),
        cmocka_unit_test(sem_wakes_sleepers_in_other_processes),
        cmocka_unit_test(reserved_shm_commits_and_gives_back),
        cmocka_unit_test(tokens_tell_running_from_ended),
        cmocka_unit_test(heavy_fence_where_enrolled),
        cmocka_unit_test(pipe_waits_end_with_data_or_at_the_deadline),
        cmocka_unit_test(pipe_wait_takes_up_to_its_limit),
        cmocka_unit_test(mixed_wait_reports_everything_ready),
        cmocka_unit_test(waits_again_after_reads_and_closes),
    };
    return test_main(argc, argv, "os", tests, ARRAY_LEN(tests));
}
