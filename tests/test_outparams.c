/*
 * The out-parameter rule of mproc.h: a failing call leaves no garbage behind.
 * Every out-pointer starts filled with garbage and must hold its empty value
 * (NULL, 0, MPROC_EXITCODE_NONE, MPROC_SENTINEL_NONE) after the failure.
 */
#include <string.h>

#include "support/test_support.h"

#define GARBAGE_PTR ((void *)1)
#define GARBAGE_SIZE ((size_t)12345)

static int idle(const mproc_args_t *args)
{
    (void)args;
    return 0;
}
MPROC_TARGET(idle)

static int echo(const void *in, size_t len, mproc_task_out_t *out)
{
    return mproc_task_output(out, in, len);
}
MPROC_TASK(echo)

static void args_getters_clear_on_failure(void **state)
{
    (void)state;
    mproc_args_t *a = GARBAGE_PTR;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, "s"), MPROC_OK);
    int64_t i = 77;
    double d = 1.5;
    const char *s = GARBAGE_PTR;
    const void *b = GARBAGE_PTR;
    size_t len = GARBAGE_SIZE;
    assert_int_equal(mproc_args_get_int(a, 0, &i), MPROC_ETYPE);
    assert_int_equal(i, 0);
    assert_int_equal(mproc_args_get_double(a, 5, &d), MPROC_ERANGE);
    assert_true(d == 0.0);
    assert_int_equal(mproc_args_get_str(a, 3, &s), MPROC_ERANGE);
    assert_null(s);
    assert_int_equal(mproc_args_get_bytes(a, 0, &b, &len), MPROC_ETYPE);
    assert_null(b);
    assert_int_equal(len, 0);
    mproc_connection_t *c = GARBAGE_PTR;
    assert_int_equal(mproc_args_get_connection(a, 0, &c), MPROC_ETYPE);
    assert_null(c);
    mproc_queue_t *q = GARBAGE_PTR;
    assert_int_equal(mproc_args_get_queue(a, 9, &q), MPROC_ERANGE);
    assert_null(q);
    mproc_args_t *t = GARBAGE_PTR;
    assert_int_equal(mproc_task_args("junk", 4, &t), MPROC_EINVAL);
    assert_null(t);
    mproc_args_free(a);
}

static void process_getters_clear_on_failure(void **state)
{
    (void)state;
    mproc_process_t *p = GARBAGE_PTR;
    mproc_process_options_t bad = MPROC_PROCESS_OPTIONS_INIT;
    bad.daemon = 7;
    assert_int_equal(mproc_process_create(&p, idle, NULL, &bad), MPROC_EINVAL);
    assert_null(p);
    assert_int_equal(mproc_process_create(&p, idle, NULL, NULL), MPROC_OK);
    int64_t raw = 5;
    mproc_sentinel_t sentinel = 5;
    assert_int_equal(mproc_process_raw_status(p, &raw), MPROC_ENOTSTARTED);
    assert_int_equal(raw, 0);
    assert_int_equal(mproc_process_sentinel(p, &sentinel), MPROC_ENOTSTARTED);
    assert_true(sentinel == MPROC_SENTINEL_NONE);
    assert_int_equal(mproc_process_close(p), MPROC_OK);
    int alive = 5;
    int64_t code = 5, pid = 5;
    assert_int_equal(mproc_process_is_alive(p, &alive), MPROC_ECLOSED);
    assert_int_equal(alive, 0);
    assert_int_equal(mproc_process_exitcode(p, &code), MPROC_ECLOSED);
    assert_true(code == MPROC_EXITCODE_NONE);
    assert_int_equal(mproc_process_pid(p, &pid), MPROC_ECLOSED);
    assert_int_equal(pid, 0);
    mproc_process_free(p);
    size_t count = GARBAGE_SIZE;
    assert_int_equal(mproc_active_children(NULL, 3, &count), MPROC_EINVAL);
    assert_int_equal(count, 0);
    int ready[2] = {5, 5};
    mproc_sentinel_t none[2] = {0, 0};
    assert_int_equal(mproc_wait(none, 2, 0.0 / 0.0, ready), MPROC_EINVAL);
    assert_int_equal(ready[0], 0);
    assert_int_equal(ready[1], 0);
    const mproc_context_t *ctx = GARBAGE_PTR;
    assert_int_equal(mproc_get_context((mproc_start_method_t)99, &ctx), MPROC_EINVAL);
    assert_null(ctx);
}

static void connection_calls_clear_on_failure(void **state)
{
    (void)state;
    mproc_connection_t *r = GARBAGE_PTR, *w = GARBAGE_PTR;
    assert_int_equal(mproc_pipe(0, &r, NULL), MPROC_EINVAL);
    assert_null(r);
    assert_int_equal(mproc_pipe(0, &r, &w), MPROC_OK);
    void *data = GARBAGE_PTR;
    size_t len = GARBAGE_SIZE;
    char buf[4];
    assert_int_equal(mproc_connection_recv_bytes(r, 0, &data, &len), MPROC_ETIMEDOUT);
    assert_null(data);
    assert_int_equal(len, 0);
    len = GARBAGE_SIZE;
    assert_int_equal(mproc_connection_recv_bytes_into(r, 0, buf, sizeof buf, &len),
                     MPROC_ETIMEDOUT);
    assert_int_equal(len, 0);
    mproc_sentinel_t s = 5;
    assert_int_equal(mproc_connection_waitable(w, &s), MPROC_EMODE);
    assert_true(s == MPROC_SENTINEL_NONE);
    /* The one documented value: the size a short buffer needs. */
    assert_int_equal(mproc_connection_send_bytes(w, "hello", 5), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes_into(r, 60, buf, sizeof buf, &len),
                     MPROC_ESHORTBUF);
    assert_int_equal(len, 5);
    mproc_connection_free(r);
    mproc_connection_free(w);
}

static void queue_calls_clear_on_failure(void **state)
{
    (void)state;
    mproc_queue_t *q = GARBAGE_PTR;
    mproc_queue_options_t bad = MPROC_QUEUE_OPTIONS_INIT;
    bad.ring_bytes = (size_t)1 << 31;
    assert_int_equal(mproc_queue_create_opts(&q, &bad), MPROC_EINVAL);
    assert_null(q);
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    void *data = GARBAGE_PTR;
    size_t len = GARBAGE_SIZE, n = GARBAGE_SIZE;
    char buf[4];
    assert_int_equal(mproc_queue_get_nowait(q, &data, &len), MPROC_EEMPTY);
    assert_null(data);
    assert_int_equal(len, 0);
    len = GARBAGE_SIZE;
    assert_int_equal(mproc_queue_get_into(q, 0, buf, sizeof buf, &len), MPROC_EEMPTY);
    assert_int_equal(len, 0);
    assert_int_equal(mproc_queue_close(q), MPROC_OK);
    assert_int_equal(mproc_queue_qsize(q, &n), MPROC_ECLOSED);
    assert_int_equal(n, 0);
    mproc_queue_free(q);
}

static void pool_calls_clear_on_failure(void **state)
{
    (void)state;
    mproc_pool_t *pool = GARBAGE_PTR;
    mproc_pool_options_t bad = MPROC_POOL_OPTIONS_INIT;
    bad.processes = -1;
    assert_int_equal(mproc_pool_create(&pool, &bad), MPROC_EINVAL);
    assert_null(pool);
    mproc_pool_options_t opts = MPROC_POOL_OPTIONS_INIT;
    opts.processes = 1;
    assert_int_equal(mproc_pool_create(&pool, &opts), MPROC_OK);
    assert_int_equal(mproc_pool_close(pool), MPROC_OK);

    mproc_async_result_t *r = GARBAGE_PTR;
    mproc_pool_iter_t *it = GARBAGE_PTR;
    const void *item = "x";
    size_t item_len = 1;
    assert_int_equal(mproc_pool_apply_async(pool, echo, "x", 1, NULL, &r), MPROC_ECLOSED);
    assert_null(r);
    r = GARBAGE_PTR;
    assert_int_equal(mproc_pool_apply(pool, echo, "x", 1, &r), MPROC_ECLOSED);
    assert_null(r);
    r = GARBAGE_PTR;
    assert_int_equal(mproc_pool_map(pool, echo, &item, &item_len, 1, 0, &r), MPROC_ECLOSED);
    assert_null(r);
    r = GARBAGE_PTR;
    assert_int_equal(mproc_pool_starmap(pool, echo, NULL, 1, 0, &r), MPROC_EINVAL);
    assert_null(r);
    assert_int_equal(mproc_pool_imap(pool, echo, &item, &item_len, 1, 1, &it), MPROC_ECLOSED);
    assert_null(it);
    it = GARBAGE_PTR;
    assert_int_equal(mproc_pool_imap_unordered(pool, echo, &item, &item_len, 1, 1, &it),
                     MPROC_ECLOSED);
    assert_null(it);
    char out[1] = {'g'};
    size_t out_len = GARBAGE_SIZE;
    assert_int_equal(mproc_pool_apply_into(pool, echo, "x", 1, out, sizeof out, &out_len),
                     MPROC_ECLOSED);
    assert_int_equal(out_len, 0);
    size_t failed = GARBAGE_SIZE;
    int64_t in = 1, res = 0;
    assert_int_equal(mproc_pool_map_array(pool, echo, &in, 1, sizeof in, &res, sizeof res, 0,
                                          &failed),
                     MPROC_ECLOSED);
    assert_int_equal(failed, 0);
    assert_int_equal(mproc_pool_join(pool, 60), MPROC_OK);
    mproc_pool_free(pool);

    int ok = 5, code = 5;
    const char *msg = GARBAGE_PTR;
    const void *data = GARBAGE_PTR;
    size_t len = GARBAGE_SIZE, index = GARBAGE_SIZE;
    assert_int_equal(mproc_async_result_successful(NULL, &ok), MPROC_EINVAL);
    assert_int_equal(ok, 0);
    assert_int_equal(mproc_async_result_item(NULL, 0, &data, &len), MPROC_EINVAL);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(mproc_async_result_error(NULL, &code, &msg), MPROC_EINVAL);
    assert_int_equal(code, 0);
    assert_null(msg);
    data = GARBAGE_PTR;
    len = GARBAGE_SIZE;
    assert_int_equal(mproc_pool_iter_next(NULL, 0, &data, &len, &index), MPROC_EINVAL);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(index, 0);
    code = 5;
    msg = GARBAGE_PTR;
    assert_int_equal(mproc_pool_iter_error(NULL, &code, &msg), MPROC_EINVAL);
    assert_int_equal(code, 0);
    assert_null(msg);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(args_getters_clear_on_failure),
        cmocka_unit_test(process_getters_clear_on_failure),
        cmocka_unit_test(connection_calls_clear_on_failure),
        cmocka_unit_test(queue_calls_clear_on_failure),
        cmocka_unit_test(pool_calls_clear_on_failure),
    };
    return test_main(argc, argv, "outparams", tests, ARRAY_LEN(tests));
}
