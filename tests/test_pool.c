/* Pool: Python's multiprocessing.pool.Pool, and workers that die without hanging anyone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"
#include "support/square_chunk_task.h"

#if defined(_WIN32)
#define KILLED_CODE 9
/* 0xC0000005 in an int: as NTSTATUS, negative (Python's exit code 3221225477). */
#define CRASH_CODE ((int)-1073741819)
#define CRASH_TEXT "exited with code 3221225477"
#else
#include <signal.h>
#define KILLED_CODE (-SIGKILL)
#define CRASH_CODE (-SIGABRT)
#define CRASH_TEXT "killed by signal"
#endif

static int square(const void *in, size_t len, mproc_task_out_t *out)
{
    if (len != sizeof(int64_t))
        return mproc_task_fail(out, 1, "expected one int64");
    int64_t v = test_as_int(in);
    v *= v;
    mproc_task_output(out, &v, sizeof v);
    return 0;
}
MPROC_TASK(square)

/* A target whose name is "task_" + a task's name: both macros in one file. */
/* Two outputs, the last of the array's element size: the last one counts. */
static int grows(const void *in, size_t len, mproc_task_out_t *out)
{
    int64_t v;
    int32_t small = 7;
    (void)len;
    memcpy(&v, in, sizeof v);
    v *= v;
    mproc_status_t st = mproc_task_output(out, &small, sizeof small);
    return st ? (int)st : (int)mproc_task_output(out, &v, sizeof v);
}
MPROC_TASK(grows)

/* The element size first, then a smaller last output: the item fails. */
static int shrinks(const void *in, size_t len, mproc_task_out_t *out)
{
    int32_t small = 7;
    mproc_status_t st = mproc_task_output(out, in, len);
    return st ? (int)st : (int)mproc_task_output(out, &small, sizeof small);
}
MPROC_TASK(shrinks)

static int task_square(const mproc_args_t *args)
{
    (void)args;
    return 5;
}
MPROC_TARGET(task_square)

static int unlucky(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)len;
    if (test_as_int(in) == 13)
        return mproc_task_fail(out, 42, "thirteen is unlucky");
    mproc_task_output(out, in, sizeof(int64_t));
    return 0;
}
MPROC_TASK(unlucky)

static int exits(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    exit(7);
}
MPROC_TASK(exits)

static int dies(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    test_kill_self();
    return 0;
}
MPROC_TASK(dies)

static int crashes(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    test_crash();
    return 0;
}
MPROC_TASK(crashes)

/* Input: a keeper's pid. Dies with its end of the pool's pipe held open. */
static int dies_with_its_pipe_open(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)len, (void)out;
    test_die_leaving_handles_open(test_as_int(in));
    return 0;
}
MPROC_TASK(dies_with_its_pipe_open)

static int whoami(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len;
    int64_t pid = test_getpid();
    mproc_task_output(out, &pid, sizeof pid);
    return 0;
}
MPROC_TASK(whoami)

static int naps(const void *in, size_t len, mproc_task_out_t *out)
{
    double s = 0;
    if (len == sizeof s)
        memcpy(&s, in, sizeof s);
    test_sleep(s);
    mproc_task_output(out, "z", 1);
    return 0;
}
MPROC_TASK(naps)

/* Input: a file name (NUL included). Ignores SIGTERM, then raises its flag
 * by creating that file, then sleeps until killed. */
static int stubborn(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)out;
    test_ignore_sigterm();
    if (len && ((const char *)in)[len - 1] == '\0') {
        FILE *f = fopen((const char *)in, "w");
        if (f)
            fclose(f);
    }
    test_sleep(120);
    return 0;
}

/* A flag file name for task `i` of this test process, removed if left over. */
static void flag_name(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "pool-flag-%lld-%d", (long long)test_getpid(), i);
    remove(buf);
}
MPROC_TASK(stubborn)

static int multiply(const void *in, size_t len, mproc_task_out_t *out)
{
    mproc_args_t *a;
    int64_t x = 0, y = 0;
    if (mproc_task_args(in, len, &a))
        return mproc_task_fail(out, 2, "not an argument list");
    mproc_args_get_int(a, 0, &x);
    mproc_args_get_int(a, 1, &y);
    mproc_args_free(a);
    int64_t p = x * y;
    mproc_task_output(out, &p, sizeof p);
    return 0;
}
MPROC_TASK(multiply)

static int64_t init_value = -1;
static int set_init_value(const mproc_args_t *args)
{
    mproc_args_get_int(args, 0, &init_value);
    return 0;
}
MPROC_TARGET(set_init_value)

/* Initializer: send this worker's pid on the connection in initargs[0] and
 * put it on the queue in initargs[1]. */
static int init_reports(const mproc_args_t *args)
{
    mproc_connection_t *c = NULL;
    mproc_queue_t *q = NULL;
    int64_t pid = test_getpid();
    if (mproc_args_get_connection(args, 0, &c) || mproc_args_get_queue(args, 1, &q))
        return 1;
    mproc_status_t st = mproc_connection_send_bytes(c, &pid, sizeof pid);
    if (!st)
        st = mproc_queue_put(q, &pid, sizeof pid, 30);
    mproc_connection_free(c);
    mproc_queue_free(q);
    return st ? 2 : 0;
}
MPROC_TARGET(init_reports)

static int init_fails(const mproc_args_t *args)
{
    (void)args;
    return 3;
}
MPROC_TARGET(init_fails)

/* A process whose target returns with its pool still open (7). */
static int leaves_a_pool_open(const mproc_args_t *args)
{
    (void)args;
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 2;
    mproc_pool_t *pool = NULL;
    return mproc_pool_create(&pool, &o) ? 3 : 7;
}
MPROC_TARGET(leaves_a_pool_open)

static int get_init_value(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len;
    mproc_task_output(out, &init_value, sizeof init_value);
    return 0;
}
MPROC_TASK(get_init_value)

static int unregistered_task(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    return 0;
}

/* Inputs 0..n-1 as int64 messages: the values, and the pointer and length of each. */
typedef struct int_items {
    int64_t value[100];
    const void *item[100];
    size_t len[100];
} int_items_t;

static void fill_items(int_items_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        in->value[i] = (int64_t)i;
        in->item[i] = &in->value[i];
        in->len[i] = sizeof in->value[i];
    }
}

static mproc_pool_t *make_pool(int processes, long maxtasks)
{
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = processes;
    o.maxtasksperchild = maxtasks;
    mproc_pool_t *pool = NULL;
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_OK);
    return pool;
}

static void finish(mproc_pool_t *pool)
{
    assert_int_equal(mproc_pool_close(pool), MPROC_OK);
    assert_int_equal(mproc_pool_join(pool, 60), MPROC_OK);
    mproc_pool_free(pool);
}

static void apply_and_apply_async(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    int64_t v = 12;
    mproc_async_result_t *r;
    assert_int_equal(mproc_pool_apply(pool, square, &v, sizeof v, &r), MPROC_OK);
    const void *d;
    size_t n;
    assert_int_equal(mproc_async_result_item(r, 0, &d, &n), MPROC_OK);
    assert_int_equal(n, sizeof v);
    assert_int_equal(test_as_int(d), 144);
    mproc_async_result_free(r);

    mproc_async_result_t *rs[20];
    int64_t in[20];
    for (int i = 0; i < 20; i++) {
        in[i] = i;
        assert_int_equal(mproc_pool_apply_async(pool, square, &in[i], sizeof in[i], NULL, &rs[i]),
                         MPROC_OK);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(mproc_async_result_get(rs[i], 60), MPROC_OK);
        assert_int_equal(mproc_async_result_ready(rs[i]), 1);
        int ok = 0;
        assert_int_equal(mproc_async_result_successful(rs[i], &ok), MPROC_OK);
        assert_int_equal(ok, 1);
        assert_int_equal(mproc_async_result_item(rs[i], 0, &d, &n), MPROC_OK);
        assert_int_equal(test_as_int(d), (int64_t)i * i);
        mproc_async_result_free(rs[i]);
    }
    finish(pool);
}

static int callbacks_seen, error_callbacks_seen;
static void on_result(mproc_async_result_t *r, void *user)
{
    const void *d;
    size_t n;
    if (mproc_async_result_item(r, 0, &d, &n) == MPROC_OK && test_as_int(d) == 49)
        callbacks_seen += *(int *)user;
}
static void on_error(mproc_async_result_t *r, void *user)
{
    int code = 0;
    const char *msg = NULL;
    if (mproc_async_result_error(r, &code, &msg) == MPROC_OK && code == 42)
        error_callbacks_seen += *(int *)user;
}

static void apply_into_writes_the_callers_buffer(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(1, 0);
    int64_t v = 9, out = 0;
    size_t len = 99;
    assert_int_equal(mproc_pool_apply_into(pool, square, &v, sizeof v, &out, sizeof out, &len),
                     MPROC_OK);
    assert_int_equal(out, 81);
    assert_int_equal(len, sizeof out);
    /* Fixed size known: no length wanted. */
    v = 4;
    assert_int_equal(mproc_pool_apply_into(pool, square, &v, sizeof v, &out, sizeof out, NULL),
                     MPROC_OK);
    assert_int_equal(out, 16);
    char small[3] = {'a', 'b', 'c'};
    assert_int_equal(mproc_pool_apply_into(pool, square, &v, sizeof v, small, sizeof small, &len),
                     MPROC_ESHORTBUF);
    assert_int_equal(len, sizeof(int64_t));
    assert_memory_equal(small, "abc", 3); /* nothing copied */
    v = 13;
    assert_int_equal(mproc_pool_apply_into(pool, unlucky, &v, sizeof v, &out, sizeof out, &len),
                     MPROC_ETASK);
    assert_int_equal(len, 0);
    assert_int_equal(mproc_pool_apply_into(pool, square, &v, sizeof v, NULL, 8, &len),
                     MPROC_EINVAL);
    finish(pool);
}

static void callbacks_run_before_ready(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(1, 0);
    int one = 1;
    int64_t seven = 7, thirteen = 13;
    mproc_async_result_t *ok, *bad;
    callbacks_seen = error_callbacks_seen = 0;
    mproc_async_options_t cbs = {on_result, on_error, &one};
    assert_int_equal(mproc_pool_apply_async(pool, square, &seven, sizeof seven, &cbs, &ok),
                     MPROC_OK);
    assert_int_equal(mproc_pool_apply_async(pool, unlucky, &thirteen, sizeof thirteen, &cbs, &bad),
                     MPROC_OK);
    assert_int_equal(mproc_async_result_get(ok, 60), MPROC_OK);
    assert_int_equal(mproc_async_result_get(bad, 60), MPROC_ETASK);
    assert_int_equal(callbacks_seen, 1); /* as Python: the callback ran before get returned */
    assert_int_equal(error_callbacks_seen, 1);
    int code = 0;
    const char *msg = NULL;
    assert_int_equal(mproc_async_result_error(bad, &code, &msg), MPROC_OK);
    assert_int_equal(code, 42);
    assert_string_equal(msg, "thirteen is unlucky");
    int success = 1;
    assert_int_equal(mproc_async_result_successful(bad, &success), MPROC_OK);
    assert_int_equal(success, 0);
    mproc_async_result_free(ok);
    mproc_async_result_free(bad);
    finish(pool);
}

static void map_keeps_order_and_reports_failures(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    enum { N = 100 };
    static int_items_t in;
    fill_items(&in, N);
    mproc_async_result_t *r;
    assert_int_equal(mproc_pool_map(pool, square, in.item, in.len, N, 0, &r), MPROC_OK);
    assert_int_equal(mproc_async_result_count(r), N);
    for (int i = 0; i < N; i++) {
        const void *d;
        size_t n;
        assert_int_equal(mproc_async_result_item(r, (size_t)i, &d, &n), MPROC_OK);
        assert_int_equal(test_as_int(d), (int64_t)i * i);
    }
    mproc_async_result_free(r);
    /* One failing item: get says so; the others are there. */
    assert_int_equal(mproc_pool_map(pool, unlucky, in.item, in.len, N, 7, &r), MPROC_ETASK);
    const void *d;
    size_t n;
    assert_int_equal(mproc_async_result_item(r, 13, &d, &n), MPROC_ETASK);
    assert_int_equal(mproc_async_result_item(r, 14, &d, &n), MPROC_OK);
    assert_int_equal(test_as_int(d), 14);
    mproc_async_result_free(r);
    assert_int_equal(mproc_pool_map(pool, square, NULL, NULL, 0, 0, &r), MPROC_OK);
    assert_int_equal(mproc_async_result_count(r), 0);
    mproc_async_result_free(r);
    finish(pool);
}

/* map_array of `fn` (a squaring task) over in[0..n): every output in place. */
static void assert_squares_mapped(mproc_pool_t *pool, mproc_task_fn fn, const int64_t *in,
                                  int64_t *out, size_t n, size_t chunksize)
{
    assert_int_equal(mproc_pool_map_array(pool, fn, in, n, sizeof in[0], out, sizeof out[0],
                                          chunksize, NULL),
                     MPROC_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], in[i] * in[i]);
}

static void map_array_writes_results_in_place(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    enum { N = 10000 };
    static int64_t in[N], out[N];
    for (int i = 0; i < N; i++) {
        in[i] = i - 5000;
        out[i] = -1;
    }
    assert_squares_mapped(pool, square, in, out, N, 0);
    size_t failed = 0;
    for (int i = 0; i < N; i++)
        in[i] = i;
    assert_int_equal(mproc_pool_map_array(pool, unlucky, in, N, sizeof in[0], out, sizeof out[0],
                                          100, &failed),
                     MPROC_ETASK);
    assert_int_equal(failed, 13);
    assert_int_equal(out[12], 12);
    assert_int_equal(out[14], 14);
    assert_int_equal(mproc_pool_map_array(pool, square, in, N, 0, out, 8, 0, NULL), MPROC_EINVAL);
    finish(pool);
}

/* A count whose arrays would exceed the address space (n * in_size or
 * n * out_size above SIZE_MAX) is refused before anything is sent: the
 * products wrapped to a few bytes, and chunks were cut from what lay past
 * the caller's arrays. */
static void map_array_refuses_a_count_whose_bytes_overflow(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(1, 0);
    int64_t in[4] = {1, 2, 3, 4}, out[4] = {0};
    size_t failed = 99, wraps = SIZE_MAX / 8 + 2; /* 8 * wraps is 8 modulo 2^N */
    assert_int_equal(mproc_pool_map_array(pool, square, in, wraps, 8, out, 8, 0, &failed),
                     MPROC_EINVAL);
    assert_int_equal(failed, 0);
    assert_int_equal(mproc_pool_map_array(pool, square, in, 2, 8, out, SIZE_MAX / 2 + 1, 0, NULL),
                     MPROC_EINVAL);
    assert_int_equal(mproc_pool_map_array_chunks(pool, square_chunk, in, wraps, 8, out, 8, 0,
                                                 NULL),
                     MPROC_EINVAL);
    assert_int_equal(out[0], 0);
    assert_squares_mapped(pool, square, in, out, 4, 0); /* the pool still serves */
    finish(pool);
}

/* Chunks of inputs above 64 KiB leave from the caller's array, not a copy
 * (a gather send): every output still lands in its place. */
static void map_array_sends_large_chunks_in_place(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    enum { N = 200000 };
    int64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (int i = 0; i < N; i++) {
        in[i] = i - N / 2;
        out[i] = -1;
    }
    assert_squares_mapped(pool, square, in, out, N, 0);
    /* An uneven last chunk, and one input per message of 64 KiB exactly. */
    assert_squares_mapped(pool, square, in, out, N - 3, 8192);
    free(in);
    free(out);
    finish(pool);
}

/* A process that ends with a pool open ends: its pools are terminated
 * before its daemonic children are (as Python's exit finalizers), so no
 * worker is replaced while it waits for them. Before, it hung at exit now
 * and then (the handler replaced the workers the exit had just ended). */
static void a_process_ending_with_its_pool_open_ends(void **state)
{
    (void)state;
    for (int i = 0; i < 6; i++) {
        mproc_process_t *p = NULL;
        assert_int_equal(mproc_process_create(&p, leaves_a_pool_open, NULL, NULL), MPROC_OK);
        assert_int_equal(mproc_process_start(p), MPROC_OK);
        mproc_status_t st = mproc_process_join(p, 30);
        if (st == MPROC_ETIMEDOUT)
            mproc_process_kill(p); /* its workers are daemonic: they follow it */
        assert_int_equal(st, MPROC_OK);
        int64_t code = 0;
        assert_int_equal(mproc_process_exitcode(p, &code), MPROC_OK);
        assert_int_equal(code, 7);
        mproc_process_free(p);
    }
}

/* Squares its chunk, and fails it (code 7) when it holds a 13. */
static int unlucky_chunk(const void *in, void *out, size_t n)
{
    int thirteen = square_chunk(in, out, n);
    for (size_t i = 0; i < n; i++)
        thirteen |= ((const int64_t *)in)[i] == 13;
    return thirteen ? 7 : 0;
}
MPROC_CHUNK_TASK(unlucky_chunk)

/* A chunk task runs on each chunk's inputs and outputs as aligned arrays,
 * whatever the chunk size, and the results land in order. */
static void map_array_chunks_runs_a_task_per_chunk(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    enum { N = 200000 };
    int64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    unsigned char *odd = malloc(N * sizeof *in + 1);
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(odd);
    for (int i = 0; i < N; i++)
        in[i] = i - N / 2;
    /* Small chunks over fewer items: one message each way per chunk. */
    size_t sizes[] = {0, 1, 7, 8192, N}, counts[] = {N, 500, 5000, N, N};
    for (size_t k = 0; k < ARRAY_LEN(sizes); k++) {
        for (int i = 0; i < N; i++)
            out[i] = -1;
        assert_int_equal(mproc_pool_map_array_chunks(pool, square_chunk, in, counts[k],
                                                     sizeof in[0], out, sizeof out[0], sizes[k],
                                                     NULL),
                         MPROC_OK);
        for (size_t i = 0; i < counts[k]; i++)
            assert_int_equal(out[i], in[i] * in[i]);
        assert_int_equal(counts[k] < N ? out[counts[k]] : -1, -1);
    }
    /* The caller's array at an odd address: the worker still gets it aligned. */
    memcpy(odd + 1, in, N * sizeof *in);
    assert_int_equal(mproc_pool_map_array_chunks(pool, square_chunk, odd + 1, 1000, sizeof in[0],
                                                 out, sizeof out[0], 100, NULL),
                     MPROC_OK);
    assert_int_equal(out[999], in[999] * in[999]);
    assert_int_equal(mproc_pool_map_array_chunks(pool, square_chunk, in, 0, 8, out, 8, 0, NULL),
                     MPROC_OK);
    free(odd);
    free(in);
    free(out);
    finish(pool);
}

/* A chunk task's failure fails its whole chunk, and only it. */
static void map_array_chunks_fails_a_chunk_whole(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    enum { N = 1000 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) {
        in[i] = i;
        out[i] = -1;
    }
    size_t failed = 99;
    assert_int_equal(mproc_pool_map_array_chunks(pool, unlucky_chunk, in, N, sizeof in[0], out,
                                                 sizeof out[0], 10, &failed),
                     MPROC_ETASK);
    assert_int_equal(failed, 10); /* the chunk [10, 20) holds the 13 */
    assert_int_equal(out[9], 81);
    assert_int_equal(out[20], 400);
    assert_int_equal(out[N - 1], (int64_t)(N - 1) * (N - 1));
    assert_int_equal(mproc_pool_map_array_chunks(pool, NULL, in, N, 8, out, 8, 0, &failed),
                     MPROC_EINVAL);
    assert_int_equal(failed, 0);
    assert_int_equal(mproc_pool_map_array_chunks(pool, square_chunk, in, N, 8, out, 0, 0, NULL),
                     MPROC_EINVAL);
    assert_int_equal(mproc_pool_map_array_chunks(NULL, square_chunk, in, N, 8, out, 8, 0, NULL),
                     MPROC_EINVAL);
    finish(pool);
}

/* An array item's output is its task's last one, and must have the element
 * size; a worker then runs byte chunks as before. */
static void map_array_takes_the_last_output(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(1, 0);
    enum { N = 50 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i;
    assert_squares_mapped(pool, grows, in, out, N, 10);
    size_t failed = 99;
    assert_int_equal(mproc_pool_map_array(pool, shrinks, in, N, sizeof in[0], out, sizeof out[0],
                                          10, &failed),
                     MPROC_ETASK);
    assert_int_equal(failed, 0);
    const void *items[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        items[i] = &in[i];
        lens[i] = sizeof in[i];
    }
    mproc_async_result_t *r = NULL;
    assert_int_equal(mproc_pool_map(pool, square, items, lens, N, 10, &r), MPROC_OK);
    for (size_t i = 0; i < N; i++) {
        const void *data = NULL;
        size_t len = 0;
        int64_t v;
        assert_int_equal(mproc_async_result_item(r, i, &data, &len), MPROC_OK);
        assert_int_equal(len, sizeof v);
        memcpy(&v, data, sizeof v);
        assert_int_equal(v, in[i] * in[i]);
    }
    mproc_async_result_free(r);
    finish(pool);
}

static void imap_ordered_and_unordered(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    enum { N = 30 };
    static int_items_t in;
    fill_items(&in, N);
    for (int ordered = 1; ordered >= 0; ordered--) {
        mproc_pool_iter_t *it;
        assert_int_equal(ordered ? mproc_pool_imap(pool, square, in.item, in.len, N, 0, &it)
                                 : mproc_pool_imap_unordered(pool, square, in.item, in.len, N, 0,
                                                             &it),
                         MPROC_OK);
        int seen[N] = {0};
        for (int k = 0; k < N; k++) {
            const void *d;
            size_t n, index = 99;
            assert_int_equal(mproc_pool_iter_next(it, 60, &d, &n, &index), MPROC_OK);
            if (ordered)
                assert_int_equal(index, (size_t)k);
            assert_int_equal(test_as_int(d), (int64_t)index * (int64_t)index);
            seen[index]++;
        }
        for (int i = 0; i < N; i++)
            assert_int_equal(seen[i], 1);
        const void *d;
        size_t n;
        assert_int_equal(mproc_pool_iter_next(it, 1, &d, &n, NULL), MPROC_EDONE);
        mproc_pool_iter_free(it);
    }
    /* next(timeout) times out while a result is still coming. */
    double nap = 2.0;
    const void *slow[1] = {&nap};
    size_t slow_len[1] = {sizeof nap};
    mproc_pool_iter_t *it;
    assert_int_equal(mproc_pool_imap(pool, naps, slow, slow_len, 1, 0, &it), MPROC_OK);
    const void *d;
    size_t n;
    assert_int_equal(mproc_pool_iter_next(it, 0.2, &d, &n, NULL), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_pool_iter_next(it, 60, &d, &n, NULL), MPROC_OK);
    mproc_pool_iter_free(it);
    finish(pool);
}

static void starmap_unpacks_argument_lists(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    enum { N = 10 };
    mproc_args_t *lists[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(mproc_args_create(&lists[i]), MPROC_OK);
        assert_int_equal(mproc_args_pack(lists[i], "ii", i, i + 1), MPROC_OK);
    }
    mproc_async_result_t *r;
    assert_int_equal(mproc_pool_starmap(pool, multiply, (const mproc_args_t *const *)lists, N, 0,
                                        &r),
                     MPROC_OK);
    for (int i = 0; i < N; i++) {
        const void *d;
        size_t n;
        assert_int_equal(mproc_async_result_item(r, (size_t)i, &d, &n), MPROC_OK);
        assert_int_equal(test_as_int(d), (int64_t)i * (i + 1));
        mproc_args_free(lists[i]);
    }
    mproc_async_result_free(r);
    finish(pool);
}

static void dead_worker_fails_only_its_task(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    int64_t v = 5;
    mproc_async_result_t *r;
    int code = 0;
    const char *msg = NULL;
    /* exit() inside a task */
    assert_int_equal(mproc_pool_apply(pool, exits, &v, sizeof v, &r), MPROC_EWORKERLOST);
    assert_int_equal(mproc_async_result_error(r, &code, &msg), MPROC_OK);
    assert_int_equal(code, 7);
    assert_non_null(strstr(msg, "exited with code 7"));
    mproc_async_result_free(r);
    /* killed outright */
    assert_int_equal(mproc_pool_apply(pool, dies, &v, sizeof v, &r), MPROC_EWORKERLOST);
    assert_int_equal(mproc_async_result_error(r, &code, &msg), MPROC_OK);
    assert_int_equal(code, KILLED_CODE);
    mproc_async_result_free(r);
    /* crashed: on Windows an exit code above INT_MAX, kept whole in the text */
    assert_int_equal(mproc_pool_apply(pool, crashes, &v, sizeof v, &r), MPROC_EWORKERLOST);
    assert_int_equal(mproc_async_result_error(r, &code, &msg), MPROC_OK);
    assert_int_equal(code, CRASH_CODE);
    assert_non_null(strstr(msg, CRASH_TEXT));
    mproc_async_result_free(r);
    /* Everything else still completes, on replacement workers. */
    enum { N = 40 };
    static int_items_t in;
    fill_items(&in, N);
    mproc_async_result_t *killer, *m;
    assert_int_equal(mproc_pool_apply_async(pool, dies, &v, sizeof v, NULL, &killer),
                     MPROC_OK);
    assert_int_equal(mproc_pool_map_async(pool, square, in.item, in.len, N, 1, NULL, &m),
                     MPROC_OK);
    assert_int_equal(mproc_async_result_get(killer, 60), MPROC_EWORKERLOST);
    assert_int_equal(mproc_async_result_get(m, 60), MPROC_OK);
    for (int i = 0; i < N; i++) {
        const void *d;
        size_t n;
        assert_int_equal(mproc_async_result_item(m, (size_t)i, &d, &n), MPROC_OK);
        assert_int_equal(test_as_int(d), (int64_t)i * i);
    }
    mproc_async_result_free(killer);
    mproc_async_result_free(m);
    finish(pool);
}

/* A worker whose pipe to the pool outlives it (a process it started holds
 * its end) shows no end of input: the pool still finds it dead, and fails
 * its task, though it does not wait on every sentinel at every wait. */
static void worker_dead_with_its_pipe_open_fails_its_task(void **state)
{
    (void)state;
    mproc_process_t *keeper = test_start_sleeper(120, 0);
    assert_non_null(keeper);
    int64_t keeper_pid = 0;
    assert_int_equal(mproc_process_pid(keeper, &keeper_pid), MPROC_OK);
    mproc_pool_t *pool = make_pool(1, 0);
    mproc_async_result_t *r;
    assert_int_equal(mproc_pool_apply_async(pool, dies_with_its_pipe_open, &keeper_pid,
                                            sizeof keeper_pid, NULL, &r),
                     MPROC_OK);
    /* Well before the keeper lets the pipe go. */
    assert_int_equal(mproc_async_result_get(r, 60), MPROC_EWORKERLOST);
    mproc_async_result_free(r);
    /* Its replacement takes tasks. */
    int64_t v = 9;
    assert_int_equal(mproc_pool_apply(pool, square, &v, sizeof v, &r), MPROC_OK);
    const void *d;
    size_t n;
    assert_int_equal(mproc_async_result_item(r, 0, &d, &n), MPROC_OK);
    assert_int_equal(test_as_int(d), 81);
    mproc_async_result_free(r);
    finish(pool);
    assert_int_equal(mproc_process_kill(keeper), MPROC_OK);
    test_join(keeper);
    mproc_process_free(keeper);
}

static void maxtasksperchild_replaces_workers(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 1);
    enum { N = 12 };
    int64_t pids[N];
    for (int i = 0; i < N; i++) {
        mproc_async_result_t *r;
        const void *d;
        size_t n;
        assert_int_equal(mproc_pool_apply(pool, whoami, NULL, 0, &r), MPROC_OK);
        assert_int_equal(mproc_async_result_item(r, 0, &d, &n), MPROC_OK);
        pids[i] = test_as_int(d);
        mproc_async_result_free(r);
        for (int k = 0; k < i; k++)
            assert_true(pids[k] != pids[i]); /* one task per worker */
    }
    finish(pool);
}

static void target_task_x_and_task_x_coexist(void **state)
{
    (void)state;
    /* Both registered (spawn finds each by name), under distinct symbols. */
    mproc_process_t *p = test_start(task_square, NULL);
    assert_int_equal(test_join(p), 5);
    mproc_process_free(p);
    mproc_pool_t *pool = make_pool(1, 0);
    int64_t v = 3;
    mproc_async_result_t *r = NULL;
    const void *d;
    size_t n;
    assert_int_equal(mproc_pool_apply(pool, square, &v, sizeof v, &r), MPROC_OK);
    assert_int_equal(mproc_async_result_item(r, 0, &d, &n), MPROC_OK);
    assert_int_equal(test_as_int(d), 9);
    mproc_async_result_free(r);
    finish(pool);
}

static void initializer_runs_in_every_worker(void **state)
{
    (void)state;
    mproc_args_t *ia;
    assert_int_equal(mproc_args_create(&ia), MPROC_OK);
    assert_int_equal(mproc_args_add_int(ia, 77), MPROC_OK);
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 2;
    o.initializer = set_init_value;
    o.initargs = ia;
    mproc_pool_t *pool;
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_OK);
    mproc_args_free(ia);
    for (int i = 0; i < 4; i++) {
        mproc_async_result_t *r;
        const void *d;
        size_t n;
        assert_int_equal(mproc_pool_apply(pool, get_init_value, NULL, 0, &r), MPROC_OK);
        assert_int_equal(mproc_async_result_item(r, 0, &d, &n), MPROC_OK);
        assert_int_equal(test_as_int(d), 77);
        mproc_async_result_free(r);
    }
    finish(pool);
}

/* A pool whose initializer (init_reports) gets a new pipe's write end and a
 * new queue; the caller keeps *rd, *wr and *q. */
static mproc_pool_t *reporting_pool(int processes, long maxtasks, mproc_connection_t **rd,
                                    mproc_connection_t **wr, mproc_queue_t **q)
{
    mproc_args_t *ia;
    assert_int_equal(mproc_pipe(0, rd, wr), MPROC_OK);
    assert_int_equal(mproc_queue_create(q, 0), MPROC_OK);
    assert_int_equal(mproc_args_create(&ia), MPROC_OK);
    assert_int_equal(mproc_args_add_connection(ia, *wr), MPROC_OK);
    assert_int_equal(mproc_args_add_queue(ia, *q), MPROC_OK);
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = processes;
    o.maxtasksperchild = maxtasks;
    o.initializer = init_reports;
    o.initargs = ia;
    mproc_pool_t *pool = NULL;
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_OK);
    mproc_args_free(ia);
    return pool;
}

/* A pipe end and a queue in initargs reach every worker as they reach a Process. */
static void initargs_carry_pipes_and_queues(void **state)
{
    (void)state;
    mproc_connection_t *rd, *wr;
    mproc_queue_t *q;
    mproc_pool_t *pool = reporting_pool(2, 0, &rd, &wr, &q);
    int64_t from_pipe[2], from_queue[2];
    for (int i = 0; i < 2; i++) {
        void *d;
        size_t n;
        assert_int_equal(mproc_connection_recv_bytes(rd, 30, &d, &n), MPROC_OK);
        assert_int_equal(n, sizeof(int64_t));
        from_pipe[i] = test_as_int(d);
        mproc_free(d);
        assert_int_equal(mproc_queue_get(q, 30, &d, &n), MPROC_OK);
        from_queue[i] = test_as_int(d);
        mproc_free(d);
    }
    assert_true(from_pipe[0] != from_pipe[1]);
    assert_true(from_queue[0] != from_queue[1]);
    assert_true(from_pipe[0] == from_queue[0] || from_pipe[0] == from_queue[1]);
    /* The pool itself still works: its channels were not written into. */
    int64_t v = 9;
    mproc_async_result_t *r;
    const void *d;
    size_t n;
    assert_int_equal(mproc_pool_apply(pool, square, &v, sizeof v, &r), MPROC_OK);
    assert_int_equal(mproc_async_result_item(r, 0, &d, &n), MPROC_OK);
    assert_int_equal(test_as_int(d), 81);
    mproc_async_result_free(r);
    finish(pool);
    mproc_connection_free(rd);
    mproc_connection_free(wr);
    mproc_queue_free(q);
}

/* Workers started later get initargs too, though the caller freed its objects. */
static void replacement_workers_get_initargs_after_caller_freed_them(void **state)
{
    (void)state;
    mproc_connection_t *rd, *wr;
    mproc_queue_t *q;
    mproc_pool_t *pool = reporting_pool(1, 1, &rd, &wr, &q);
    mproc_connection_free(wr);
    for (int i = 0; i < 3; i++) {
        int64_t v = i;
        mproc_async_result_t *r;
        const void *d;
        size_t n;
        assert_int_equal(mproc_pool_apply(pool, square, &v, sizeof v, &r), MPROC_OK);
        assert_int_equal(mproc_async_result_item(r, 0, &d, &n), MPROC_OK);
        mproc_async_result_free(r);
    }
    /* Three workers ran (one task each); the fourth may be starting. */
    int64_t pids[3];
    for (int i = 0; i < 3; i++) {
        void *d;
        size_t n;
        assert_int_equal(mproc_connection_recv_bytes(rd, 30, &d, &n), MPROC_OK);
        pids[i] = test_as_int(d);
        mproc_free(d);
        for (int k = 0; k < i; k++)
            assert_true(pids[k] != pids[i]);
    }
    finish(pool);
    mproc_connection_free(rd);
    mproc_queue_free(q);
}

/* An initializer that fails makes mproc_pool_create fail, no task runs. */
static void failing_initializer_fails_the_pool(void **state)
{
    (void)state;
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 2;
    o.initializer = init_fails;
    mproc_pool_t *pool = (mproc_pool_t *)&o; /* must be reset to NULL */
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_EINITIALIZER);
    assert_null(pool);
}

static void lifecycle_rules_and_errors(void **state)
{
    (void)state;
    mproc_pool_t *pool;
    mproc_pool_options_t bad = MPROC_POOL_OPTIONS_INIT;
    bad.processes = -1;
    assert_int_equal(mproc_pool_create(&pool, &bad), MPROC_EINVAL);
#if defined(_WIN32)
    bad.processes = 32; /* a wait takes 64 objects: a wake-up and two per worker */
    assert_int_equal(mproc_pool_create(&pool, &bad), MPROC_EINVAL);
#endif
    pool = make_pool(1, 0);
    assert_int_equal(mproc_pool_join(pool, 1), MPROC_ENOTCLOSED);
    mproc_async_result_t *r;
    double nap = 1.0;
    assert_int_equal(mproc_pool_apply_async(pool, naps, &nap, sizeof nap, NULL, &r),
                     MPROC_OK);
    int ok;
    assert_int_equal(mproc_async_result_successful(r, &ok), MPROC_ENOTREADY);
    assert_int_equal(mproc_async_result_ready(r), 0);
    assert_int_equal(mproc_async_result_wait(r, 0.1), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_async_result_get(r, 0.1), MPROC_ETIMEDOUT);
    if (test_method() == MPROC_METHOD_SPAWN) {
        mproc_async_result_t *u;
        assert_int_equal(mproc_pool_apply_async(pool, unregistered_task, NULL, 0, NULL, &u),
                         MPROC_ENOTREGISTERED);
    }
    assert_int_equal(mproc_pool_close(pool), MPROC_OK);
    mproc_async_result_t *late;
    assert_int_equal(mproc_pool_apply_async(pool, naps, &nap, sizeof nap, NULL, &late),
                     MPROC_ECLOSED);
    assert_int_equal(mproc_pool_join(pool, 60), MPROC_OK); /* close lets submitted work finish */
    assert_int_equal(mproc_async_result_get(r, 0), MPROC_OK);
    mproc_async_result_free(r);
    mproc_pool_free(pool);
}

static void terminate_reaps_even_stubborn_workers(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    mproc_async_result_t *r1, *r2, *queued;
    char f1[64], f2[64];
    flag_name(f1, sizeof f1, 1);
    flag_name(f2, sizeof f2, 2);
    assert_int_equal(mproc_pool_apply_async(pool, stubborn, f1, strlen(f1) + 1, NULL, &r1),
                     MPROC_OK);
    assert_int_equal(mproc_pool_apply_async(pool, stubborn, f2, strlen(f2) + 1, NULL, &r2),
                     MPROC_OK);
    assert_int_equal(mproc_pool_apply_async(pool, stubborn, NULL, 0, NULL, &queued),
                     MPROC_OK);
    /* Both workers are inside the task, ignoring SIGTERM. */
    assert_true(test_wait_for_file(f1, 60));
    assert_true(test_wait_for_file(f2, 60));
    remove(f1);
    remove(f2);
    double t0 = test_now();
    assert_int_equal(mproc_pool_terminate(pool), MPROC_OK);
    assert_true(test_now() - t0 < 30);
    assert_int_equal(mproc_async_result_get(queued, 5), MPROC_ECLOSED);
    mproc_status_t st1 = mproc_async_result_get(r1, 5), st2 = mproc_async_result_get(r2, 5);
    assert_true(st1 == MPROC_EWORKERLOST || st1 == MPROC_ECLOSED);
    assert_true(st2 == MPROC_EWORKERLOST || st2 == MPROC_ECLOSED);
    size_t n = 9;
    assert_int_equal(mproc_active_children(NULL, 0, &n), MPROC_OK);
    assert_int_equal(n, 0); /* every worker reaped */
    assert_int_equal(mproc_pool_join(pool, 5), MPROC_OK);
    mproc_async_result_free(r1);
    mproc_async_result_free(r2);
    mproc_async_result_free(queued);
    mproc_pool_free(pool);
}

static void freeing_a_running_pool_terminates_it(void **state)
{
    (void)state;
    mproc_pool_t *pool = make_pool(2, 0);
    mproc_async_result_t *r;
    char f[64];
    flag_name(f, sizeof f, 3);
    assert_int_equal(mproc_pool_apply_async(pool, stubborn, f, strlen(f) + 1, NULL, &r),
                     MPROC_OK);
    assert_true(test_wait_for_file(f, 60)); /* a task is running when the pool goes */
    remove(f);
    mproc_pool_free(pool);
    assert_true(mproc_async_result_ready(r)); /* the result outlives the pool */
    mproc_async_result_free(r);
    size_t n = 9;
    assert_int_equal(mproc_active_children(NULL, 0, &n), MPROC_OK);
    assert_int_equal(n, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(apply_and_apply_async),
        cmocka_unit_test(apply_into_writes_the_callers_buffer),
        cmocka_unit_test(callbacks_run_before_ready),
        cmocka_unit_test(map_keeps_order_and_reports_failures),
        cmocka_unit_test(map_array_writes_results_in_place),
        cmocka_unit_test(map_array_refuses_a_count_whose_bytes_overflow),
        cmocka_unit_test(map_array_takes_the_last_output),
        cmocka_unit_test(map_array_sends_large_chunks_in_place),
        cmocka_unit_test(map_array_chunks_runs_a_task_per_chunk),
        cmocka_unit_test(map_array_chunks_fails_a_chunk_whole),
        cmocka_unit_test(a_process_ending_with_its_pool_open_ends),
        cmocka_unit_test(imap_ordered_and_unordered),
        cmocka_unit_test(starmap_unpacks_argument_lists),
        cmocka_unit_test(dead_worker_fails_only_its_task),
        cmocka_unit_test(worker_dead_with_its_pipe_open_fails_its_task),
        cmocka_unit_test(maxtasksperchild_replaces_workers),
        cmocka_unit_test(target_task_x_and_task_x_coexist),
        cmocka_unit_test(initializer_runs_in_every_worker),
        cmocka_unit_test(initargs_carry_pipes_and_queues),
        cmocka_unit_test(replacement_workers_get_initargs_after_caller_freed_them),
        cmocka_unit_test(failing_initializer_fails_the_pool),
        cmocka_unit_test(lifecycle_rules_and_errors),
        cmocka_unit_test(terminate_reaps_even_stubborn_workers),
        cmocka_unit_test(freeing_a_running_pool_terminates_it),
    };
    return test_main(argc, argv, "pool", tests, ARRAY_LEN(tests));
}
