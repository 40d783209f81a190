/*
 * The pool's transport hook (mproc/pool_transport.h) on every platform: a
 * transport whose workers are threads of this process, each serving the pool
 * with mproc_pool_serve() over mailboxes. It checks what a backend such as
 * libmproc-mpi relies on: the setup and initializer, chunks and results,
 * a worker death reported by the transport failing only that worker's tasks,
 * a failing initializer failing the pool's creation (as for local workers),
 * terminate keeping the running chunks, and the options refused.
 */
#include <apr_atomic.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

enum { MAX_WORKERS = 4, DEFAULT_WORKERS = 3 };

typedef struct msg {
    struct msg *next;
    int from;    /* worker index, for results */
    int dead;    /* that worker died */
    int end;     /* to a worker: the pool ended */
    size_t len;
    unsigned char data[];
} msg_t;

typedef struct box {
    msg_t *head, *tail;
} box_t;

typedef struct session {
    apr_pool_t *mem;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *changed;
    int n, woken;
    box_t to_worker[MAX_WORKERS], results;
    apr_thread_t *threads[MAX_WORKERS];
    msg_t *last; /* the result recv() handed out */
} session_t;

typedef struct worker_io {
    session_t *s;
    int index;
    msg_t *current;
} worker_io_t;

static volatile apr_uint32_t init_calls; /* the initializer ran once per worker */
static int64_t init_value;
/* Set by the task `dies`, read by the same worker's next send: the tests run
 * one task at a time while it is used, so no other worker reads it. */
static int die_now;

static void put(session_t *s, box_t *b, msg_t *m)
{
    apr_thread_mutex_lock(s->lock);
    m->next = NULL;
    if (b->tail)
        b->tail->next = m;
    else
        b->head = m;
    b->tail = m;
    apr_thread_cond_broadcast(s->changed);
    apr_thread_mutex_unlock(s->lock);
}

/* Take the next message, waiting up to `timeout` (< 0: forever); NULL on
 * timeout or when woken (lock not held on entry). */
static msg_t *take(session_t *s, box_t *b, double timeout, int *woken)
{
    double deadline = test_now() + timeout;
    apr_thread_mutex_lock(s->lock);
    while (!b->head && !(woken && *woken) && (timeout < 0 || test_now() < deadline))
        apr_thread_cond_timedwait(s->changed, s->lock, 10000);
    msg_t *m = b->head;
    if (m) {
        b->head = m->next;
        if (!b->head)
            b->tail = NULL;
    }
    if (woken)
        *woken = 0;
    apr_thread_mutex_unlock(s->lock);
    return m;
}

static msg_t *new_msg(const void *data, size_t len)
{
    msg_t *m = calloc(1, sizeof *m + len);
    assert_non_null(m);
    m->len = len;
    if (data && len)
        memcpy(m->data, data, len);
    return m;
}

static mproc_status_t io_recv(void *self, const void **data, size_t *len)
{
    worker_io_t *io = self;
    free(io->current);
    io->current = take(io->s, &io->s->to_worker[io->index], -1, NULL);
    if (io->current->end)
        return MPROC_EEOF;
    *data = io->current->data;
    *len = io->current->len;
    return MPROC_OK;
}

static mproc_status_t io_send(void *self, const void *data, size_t len)
{
    worker_io_t *io = self;
    msg_t *m = new_msg(data, len);
    m->from = io->index;
    if (die_now) { /* the worker "dies" instead of answering */
        die_now = 0;
        m->dead = 1;
        m->len = 0;
        put(io->s, &io->s->results, m);
        return MPROC_EOS;
    }
    put(io->s, &io->s->results, m);
    return MPROC_OK;
}

static void *APR_THREAD_FUNC worker_main(apr_thread_t *t, void *arg)
{
    worker_io_t *io = arg;
    mproc_worker_io_t wio = {io, io_recv, io_send};
    int rc = mproc_pool_serve(&wio);
    free(io->current);
    free(io);
    apr_thread_exit(t, rc);
    return NULL;
}

static mproc_status_t t_open(int *nworkers, const void *setup, size_t len, void **out)
{
    session_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(apr_pool_create(&s->mem, NULL), APR_SUCCESS);
    apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, s->mem);
    apr_thread_cond_create(&s->changed, s->mem);
    s->n = *nworkers ? *nworkers : DEFAULT_WORKERS;
    if (s->n > MAX_WORKERS) {
        apr_pool_destroy(s->mem);
        free(s);
        return MPROC_EINVAL;
    }
    for (int i = 0; i < s->n; i++) {
        worker_io_t *io = calloc(1, sizeof *io);
        assert_non_null(io);
        io->s = s;
        io->index = i;
        put(s, &s->to_worker[i], new_msg(setup, len));
        assert_int_equal(apr_thread_create(&s->threads[i], NULL, worker_main, io, s->mem),
                         APR_SUCCESS);
    }
    *nworkers = s->n;
    *out = s;
    return MPROC_OK;
}

/* The last part of a message sent that was the caller's own memory: set by
 * t_send when a part starts at `lend_watch`. */
static const void *lend_watch;
static int lend_seen;

static mproc_status_t t_send(void *session, int worker, const mproc_pool_part_t *parts,
                             size_t nparts)
{
    session_t *s = session;
    size_t len = 0;
    for (size_t i = 0; i < nparts; i++)
        len += parts[i].len;
    msg_t *m = new_msg(NULL, len);
    for (size_t i = 0, at = 0; i < nparts; at += parts[i++].len) {
        if (parts[i].len)
            memcpy(m->data + at, parts[i].data, parts[i].len);
        if (lend_watch && parts[i].data == lend_watch)
            lend_seen = 1;
    }
    put(s, &s->to_worker[worker], m);
    return MPROC_OK;
}

static mproc_status_t t_recv(void *session, double timeout, int *worker, const void **data,
                             size_t *len)
{
    session_t *s = session;
    free(s->last);
    s->last = take(s, &s->results, timeout, &s->woken);
    if (!s->last)
        return MPROC_ETIMEDOUT;
    *worker = s->last->from;
    *data = s->last->dead ? "thread worker vanished" : (const char *)s->last->data;
    *len = s->last->dead ? strlen("thread worker vanished") : s->last->len;
    return s->last->dead ? MPROC_EWORKERLOST : MPROC_OK;
}

static void t_wake(void *session)
{
    session_t *s = session;
    apr_thread_mutex_lock(s->lock);
    s->woken = 1;
    apr_thread_cond_broadcast(s->changed);
    apr_thread_mutex_unlock(s->lock);
}

static void t_close(void *session)
{
    session_t *s = session;
    for (int i = 0; i < s->n; i++) {
        msg_t *m = new_msg(NULL, 0);
        m->end = 1;
        put(s, &s->to_worker[i], m);
    }
    for (int i = 0; i < s->n; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, s->threads[i]);
    }
    for (msg_t *m = s->results.head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    for (int i = 0; i < s->n; i++) /* what a vanished worker never read */
        for (msg_t *m = s->to_worker[i].head, *next; m; m = next) {
            next = m->next;
            free(m);
        }
    free(s->last);
    apr_pool_destroy(s->mem);
    free(s);
}

static const mproc_pool_transport_t threads = {"threads", t_open, t_send, t_recv, t_wake,
                                               t_close};

static int square(const void *in, size_t len, mproc_task_out_t *out)
{
    int64_t v;
    if (len != sizeof v)
        return mproc_task_fail(out, 1, "expected one int64");
    memcpy(&v, in, sizeof v);
    v = v * v + init_value;
    return mproc_task_output(out, &v, sizeof v);
}
MPROC_TASK(square)

/* A chunk task adding the initializer's value, as square does. */
static int square_chunk(const void *in, void *out, size_t n)
{
    const int64_t *a = in;
    int64_t *b = out;
    for (size_t i = 0; i < n; i++)
        b[i] = a[i] * a[i] + init_value;
    return 0;
}
MPROC_CHUNK_TASK(square_chunk)

static int dies(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    die_now = 1;
    return 0;
}
MPROC_TASK(dies)

static int unnamed(const void *in, size_t len, mproc_task_out_t *out)
{
    return mproc_task_output(out, in, len);
}

static int set_value(const mproc_args_t *args)
{
    apr_atomic_inc32(&init_calls);
    return mproc_args_get_int(args, 0, &init_value) ? 1 : 0;
}
MPROC_TARGET(set_value)

static mproc_pool_t *thread_pool(int processes)
{
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = processes;
    o.transport = &threads;
    mproc_pool_t *pool = NULL;
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_OK);
    return pool;
}

static void map_with_an_initializer_runs_on_the_transport_workers(void **state)
{
    (void)state;
    mproc_args_t *ia;
    assert_int_equal(mproc_args_create(&ia), MPROC_OK);
    assert_int_equal(mproc_args_add_int(ia, 1000), MPROC_OK);
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.transport = &threads; /* processes 0: the transport's default, 3 */
    o.initializer = set_value;
    o.initargs = ia;
    mproc_pool_t *pool = NULL;
    apr_atomic_set32(&init_calls, 0);
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_OK);
    mproc_args_free(ia);
    enum { N = 100 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    assert_int_equal(mproc_pool_map_array(pool, square, in, N, sizeof in[0], out, sizeof out[0],
                                          3, NULL),
                     MPROC_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(out[i], (int64_t)i * i + 1000);
    /* A chunk task goes over the transport too. */
    for (int i = 0; i < N; i++)
        out[i] = -1;
    assert_int_equal(mproc_pool_map_array_chunks(pool, square_chunk, in, N, sizeof in[0], out,
                                                 sizeof out[0], 7, NULL),
                     MPROC_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(out[i], (int64_t)i * i + 1000);
    assert_int_equal(mproc_pool_close(pool), MPROC_OK);
    assert_int_equal(mproc_pool_join(pool, 30), MPROC_OK);
    assert_int_equal(apr_atomic_read32(&init_calls), DEFAULT_WORKERS);
    init_value = 0;
    mproc_pool_free(pool);
}

static void a_failing_initializer_fails_create_as_for_local_workers(void **state)
{
    (void)state;
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.transport = &threads;
    o.processes = 2;
    o.initializer = set_value; /* no initargs: it returns 1 */
    mproc_pool_t *pool = (mproc_pool_t *)&o;
    apr_atomic_set32(&init_calls, 0);
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_EINITIALIZER);
    assert_null(pool);
    /* every worker ran it, and t_close joined them */
    assert_int_equal(apr_atomic_read32(&init_calls), 2);
    pool = thread_pool(2); /* and the next pool works */
    int64_t x = 7, y = 0;
    assert_int_equal(mproc_pool_apply_into(pool, square, &x, sizeof x, &y, sizeof y, NULL),
                     MPROC_OK);
    assert_int_equal(y, 49);
    mproc_pool_free(pool);
}

static void a_reported_death_fails_only_that_workers_tasks(void **state)
{
    (void)state;
    mproc_pool_t *pool = thread_pool(2);
    mproc_async_result_t *r = NULL;
    assert_int_equal(mproc_pool_apply(pool, dies, NULL, 0, &r), MPROC_EWORKERLOST);
    int code = 0;
    const char *why = NULL;
    assert_int_equal(mproc_async_result_error(r, &code, &why), MPROC_OK);
    assert_int_equal(code, -1);
    assert_string_equal(why, "thread worker vanished");
    mproc_async_result_free(r);
    int64_t x = 6, y = 0;
    for (int i = 0; i < 5; i++) { /* the other worker takes them all */
        assert_int_equal(mproc_pool_apply_into(pool, square, &x, sizeof x, &y, sizeof y, NULL),
                         MPROC_OK);
        assert_int_equal(y, 36);
    }
    assert_int_equal(mproc_pool_apply(pool, dies, NULL, 0, &r), MPROC_EWORKERLOST);
    mproc_async_result_free(r);
    /* No worker left: what comes fails instead of waiting forever. */
    assert_int_equal(mproc_pool_apply(pool, square, &x, sizeof x, &r), MPROC_EWORKERLOST);
    mproc_async_result_free(r);
    mproc_pool_free(pool);
}

static void terminate_keeps_running_chunks_and_fails_waiting_ones(void **state)
{
    (void)state;
    test_terminate_keeps_running(thread_pool(2), 2);
}

/* Sums an item's bytes, as 8 bytes: a large input arrived whole. */
static int byte_sum(const void *in, size_t len, mproc_task_out_t *out)
{
    uint64_t sum = len;
    for (size_t i = 0; i < len; i++)
        sum += ((const unsigned char *)in)[i];
    return mproc_task_output(out, &sum, sizeof sum);
}
MPROC_TASK(byte_sum)

static void a_waiting_map_lends_large_items_and_copies_small_ones(void **state)
{
    (void)state;
    enum { BIG = 200 * 1024, N = 4 };
    unsigned char *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7);
    unsigned char small[3] = {1, 2, 3};
    const void *items[N] = {small, big, small, big};
    size_t lens[N] = {3, BIG, 0, BIG};
    uint64_t want_big = BIG;
    for (size_t i = 0; i < BIG; i++)
        want_big += big[i];
    const uint64_t want[N] = {3 + 6, want_big, 0, want_big};
    mproc_pool_t *pool = thread_pool(2);
    for (size_t chunksize = 1; chunksize <= N; chunksize *= 2) {
        lend_watch = big;
        lend_seen = 0;
        mproc_async_result_t *r = NULL;
        assert_int_equal(mproc_pool_map(pool, byte_sum, items, lens, N, chunksize, &r), MPROC_OK);
        assert_true(lend_seen); /* sent from the caller's memory, not a copy */
        for (size_t i = 0; i < N; i++) {
            const void *p = NULL;
            size_t len = 0;
            uint64_t got = 0;
            assert_int_equal(mproc_async_result_item(r, i, &p, &len), MPROC_OK);
            assert_int_equal(len, sizeof got);
            memcpy(&got, p, sizeof got);
            assert_int_equal(got, want[i]);
        }
        mproc_async_result_free(r);
        /* map_async cannot know the items outlive the job: it copies them */
        lend_seen = 0;
        assert_int_equal(mproc_pool_map_async(pool, byte_sum, items, lens, N, chunksize, NULL, &r),
                         MPROC_OK);
        assert_int_equal(mproc_async_result_get(r, 60), MPROC_OK);
        assert_false(lend_seen);
        mproc_async_result_free(r);
    }
    lend_watch = NULL;
    mproc_pool_free(pool);
    free(big);
}

static void a_transport_refuses_what_it_cannot_do(void **state)
{
    (void)state;
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.transport = &threads;
    o.maxtasksperchild = 2;
    mproc_pool_t *pool = (mproc_pool_t *)&o;
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_ENOTSUP);
    assert_null(pool);
    o.maxtasksperchild = 0;
    o.processes = MAX_WORKERS + 1; /* the transport's own refusal */
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_EINVAL);
    assert_null(pool);
    pool = thread_pool(1);
    int64_t x = 2;
    mproc_async_result_t *r = (mproc_async_result_t *)&o;
    assert_int_equal(mproc_pool_apply_async(pool, unnamed, &x, sizeof x, NULL, &r),
                     MPROC_ENOTREGISTERED);
    assert_null(r);
    mproc_pool_free(pool);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_with_an_initializer_runs_on_the_transport_workers),
        cmocka_unit_test(a_failing_initializer_fails_create_as_for_local_workers),
        cmocka_unit_test(a_reported_death_fails_only_that_workers_tasks),
        cmocka_unit_test(terminate_keeps_running_chunks_and_fails_waiting_ones),
        cmocka_unit_test(a_transport_refuses_what_it_cannot_do),
        cmocka_unit_test(a_waiting_map_lends_large_items_and_copies_small_ones),
    };
    return test_main(argc, argv, "pool_transport", tests, ARRAY_LEN(tests));
}
