/*
 * Decoders of bytes from another process refuse what they cannot trust:
 * each case here was an over-read or an unbounded allocation that the fuzz
 * targets in fuzz/ found or guard against.
 */
#include <stdlib.h>
#include <string.h>

#include "args_internal.h"
#include "pool_wire.h"
#include "support/test_support.h"

static mproc__os_handle_t write_handle(const mproc_connection_t *w, mproc_args_t **holder);

/* An encoded list with one item: the type byte and `n` payload bytes. */
static size_t one_item(unsigned char *buf, unsigned char type, const void *payload, size_t n)
{
    uint32_t len = (uint32_t)(1 + n);
    memcpy(buf, &len, 4);
    buf[4] = type;
    memcpy(buf + 5, payload, n);
    return 5 + n;
}

static void string_without_its_nul_is_refused(void **state)
{
    (void)state;
    unsigned char buf[64], payload[8] = {3, 0, 0, 0, 'a', 'b', 'c', 'd'};
    mproc_args_t *a = (mproc_args_t *)buf; /* any value: a failure sets NULL */
    /* "abc" followed by 'd' where its NUL should be: reading it would run past the buffer. */
    size_t n = one_item(buf, MPROC_ARG_STR, payload, sizeof payload);
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_EINVAL);
    assert_null(a);
    payload[7] = '\0';
    n = one_item(buf, MPROC_ARG_STR, payload, sizeof payload);
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_OK);
    const char *s = NULL;
    assert_int_equal(mproc_args_get_str(a, 0, &s), MPROC_OK);
    assert_string_equal(s, "abc");
    mproc_args_free(a);
}

static void object_with_too_many_handles_is_refused(void **state)
{
    (void)state;
    unsigned char buf[128], payload[3 + 8 * MPROC__OBJ_MAX_HANDLES] = {MPROC__OBJ_RAW, 0, 200};
    mproc_args_t *a = (mproc_args_t *)buf;
    size_t n = one_item(buf, MPROC__ARG_OBJECT, payload, sizeof payload);
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_EINVAL);
    assert_null(a);
    payload[2] = MPROC__OBJ_MAX_HANDLES;
    n = one_item(buf, MPROC__ARG_OBJECT, payload, sizeof payload);
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_OK);
    mproc__os_handle_t *h = NULL;
    size_t nh = 0;
    assert_int_equal(mproc__args_handles(a, &h, &nh), MPROC_OK);
    assert_int_equal(nh, MPROC__OBJ_MAX_HANDLES);
    free(h);
    mproc_args_free(a);
}

/* A received connection item whose handles and flags disagree is refused:
 * 8 handles were once duplicated into room for 2 (a stack overflow). */
static void connection_item_with_wrong_handles_is_refused(void **state)
{
    (void)state;
    mproc_connection_t *r, *w, *got = (mproc_connection_t *)&got;
    assert_int_equal(mproc_pipe(0, &r, &w), MPROC_OK);
    mproc_args_t *holder = NULL;
    mproc__os_handle_t h = write_handle(w, &holder);
    static const struct {
        unsigned flags;
        size_t nhandles;
    } bad[] = {{3, 8}, {2, 2}, {1, 0}, {0, 1}, {4, 1}};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        mproc__obj_t obj = {MPROC__OBJ_CONNECTION, bad[i].flags, bad[i].nhandles, {0}};
        for (size_t k = 0; k < bad[i].nhandles; k++)
            obj.handles[k] = h;
        mproc_args_t *a = NULL;
        assert_int_equal(mproc_args_create(&a), MPROC_OK);
        assert_int_equal(mproc__args_add_object(a, &obj), MPROC_OK);
        assert_int_equal(mproc_args_get_connection(a, 0, &got), MPROC_ETYPE);
        assert_null(got);
        mproc_args_free(a);
    }
    mproc__obj_t ok = {MPROC__OBJ_CONNECTION, 2, 1, {h}};
    mproc_args_t *a = NULL;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc__args_add_object(a, &ok), MPROC_OK);
    assert_int_equal(mproc_args_get_connection(a, 0, &got), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(got, "ok", 2), MPROC_OK);
    char buf[2];
    size_t len = 0;
    assert_int_equal(mproc_connection_recv_bytes_into(r, 10, buf, sizeof buf, &len), MPROC_OK);
    assert_memory_equal(buf, "ok", 2);
    mproc_connection_free(got);
    mproc_args_free(a);
    mproc_args_free(holder);
    mproc_connection_free(r);
    mproc_connection_free(w);
}

static void truncated_or_unknown_items_are_refused(void **state)
{
    (void)state;
    unsigned char buf[64];
    mproc_args_t *a = NULL;
    static const unsigned char str_past_end[] = {200, 0, 0, 0, 'a', 0};
    size_t n = one_item(buf, MPROC_ARG_INT, "\1\2\3", 3); /* an int is 8 bytes */
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_EINVAL);
    n = one_item(buf, MPROC_ARG_STR, str_past_end, sizeof str_past_end);
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_EINVAL);
    n = one_item(buf, MPROC_ARG_BYTES, "\1\0", 2); /* not even its length */
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_EINVAL);
    n = one_item(buf, 42, "\0\0\0\0\0\0\0\0", 8); /* no such type */
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_EINVAL);
    /* The list's own length says more than arrived, or less than was sent. */
    n = one_item(buf, MPROC_ARG_INT, "\1\0\0\0\0\0\0\0", 8);
    assert_int_equal(mproc_task_args(buf, n - 1, &a), MPROC_EINVAL);
    buf[n] = 0;
    assert_int_equal(mproc_task_args(buf, n + 1, &a), MPROC_EINVAL);
    assert_null(a);
    assert_int_equal(mproc_task_args(NULL, 4, &a), MPROC_EINVAL);
    assert_int_equal(mproc_task_args(buf, n, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_task_args(buf, n, &a), MPROC_OK);
    int64_t v = 0;
    assert_int_equal(mproc_args_get_int(a, 0, &v), MPROC_OK);
    assert_int_equal(v, 1);
    mproc_args_free(a);
}

static void put_u64(mproc__wbuf_t *b, uint64_t v)
{
    assert_int_equal(mproc__wbuf_put(b, &v, sizeof v), MPROC_OK);
}

static void put_chunk_head(mproc__wbuf_t *b, uint64_t count, uint32_t mode)
{
    b->len = 0;
    put_u64(b, 1); /* job */
    put_u64(b, 0); /* start */
    put_u64(b, count);
    assert_int_equal(mproc__wbuf_put_u32(b, mode), MPROC_OK);
    assert_int_equal(mproc__wbuf_put_i64(b, 0), MPROC_OK);
    assert_int_equal(mproc__wbuf_put_str(b, "task"), MPROC_OK);
}

static mproc_status_t chunk_status(const mproc__wbuf_t *b)
{
    mproc__rbuf_t r = {b->data, b->len, 0};
    mproc__pool_chunk_t h;
    mproc_status_t st = mproc__pool_chunk_head(&r, &h);
    if (st)
        assert_null(h.name);
    free(h.name);
    return st;
}

static void pool_chunk_with_impossible_sizes_is_refused(void **state)
{
    (void)state;
    mproc__wbuf_t b = {0};
    put_chunk_head(&b, 2, MPROC__POOL_MODE_FIXED);
    put_u64(&b, 4);
    put_u64(&b, 8);
    assert_int_equal(mproc__wbuf_put(&b, "\1\0\0\0\2\0\0\0", 8), MPROC_OK);
    assert_int_equal(chunk_status(&b), MPROC_OK);
    b.len -= 1; /* an input cut short */
    assert_int_equal(chunk_status(&b), MPROC_EINVAL);
    /* Outputs whose total size no size_t holds: the worker reserves count x out_size. */
    put_chunk_head(&b, 2, MPROC__POOL_MODE_FIXED);
    put_u64(&b, 4);
    put_u64(&b, UINT64_MAX / 2 + 1);
    assert_int_equal(mproc__wbuf_put(&b, "\1\0\0\0\2\0\0\0", 8), MPROC_OK);
    assert_int_equal(chunk_status(&b), MPROC_EINVAL);
    /* Inputs of size 0: a count of 4 billion tasks out of nothing. */
    put_chunk_head(&b, UINT32_MAX, MPROC__POOL_MODE_FIXED);
    put_u64(&b, 0);
    put_u64(&b, 1);
    assert_int_equal(chunk_status(&b), MPROC_EINVAL);
    put_chunk_head(&b, 1, 7); /* no such mode */
    assert_int_equal(chunk_status(&b), MPROC_EINVAL);
    /* Items: the lengths first, then the bytes, all of them there. */
    put_chunk_head(&b, 2, MPROC__POOL_MODE_BYTES);
    put_u64(&b, 2);
    put_u64(&b, 3);
    assert_int_equal(mproc__wbuf_put(&b, "abcde", 5), MPROC_OK);
    assert_int_equal(chunk_status(&b), MPROC_OK);
    b.len -= 1; /* the last item cut short */
    assert_int_equal(chunk_status(&b), MPROC_EINVAL);
    /* Lengths that add up past the end only by wrapping around. */
    put_chunk_head(&b, 2, MPROC__POOL_MODE_BYTES);
    put_u64(&b, 2);
    put_u64(&b, UINT64_MAX - 1);
    assert_int_equal(mproc__wbuf_put(&b, "abcde", 5), MPROC_OK);
    assert_int_equal(chunk_status(&b), MPROC_EINVAL);
    /* More lengths announced than arrived. */
    put_chunk_head(&b, UINT64_MAX / 4, MPROC__POOL_MODE_BYTES);
    put_u64(&b, 0);
    assert_int_equal(chunk_status(&b), MPROC_EINVAL);
    mproc__wbuf_free(&b);
}

typedef struct seen {
    int n;
    mproc_status_t status[4];
} seen_t;

static void record_item(void *ctx, size_t i, mproc_status_t status, int32_t code,
                        const unsigned char *p, size_t len)
{
    seen_t *s = ctx;
    (void)code, (void)p, (void)len;
    assert_int_equal(i, s->n);
    s->status[s->n++] = status;
}

static void put_record(mproc__wbuf_t *b, int32_t code, const void *p, uint64_t n)
{
    assert_int_equal(mproc__wbuf_put(b, &code, sizeof code), MPROC_OK);
    put_u64(b, n);
    assert_int_equal(mproc__wbuf_put(b, p, n), MPROC_OK);
}

static void pool_result_with_a_short_fixed_output_loses_that_item(void **state)
{
    (void)state;
    mproc__wbuf_t b = {0};
    put_u64(&b, 1); /* job */
    put_u64(&b, 0); /* start */
    put_u64(&b, 3); /* count */
    put_u64(&b, 1); /* nfail */
    put_record(&b, 0, "\7\0\0\0\0\0\0\0", 8);
    put_record(&b, 5, "failed", 6);
    put_record(&b, 0, "\1", 1); /* a success of 1 byte where 8 are copied out */
    unsigned char out[3 * 8];
    memset(out, 0xee, sizeof out);
    seen_t seen = {0, {0}};
    int bare = 1;
    assert_int_equal(mproc__pool_decode_result(b.data, b.len, 0, 3, out, 8, &bare, record_item,
                                               &seen),
                     MPROC_OK);
    assert_false(bare);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.status[0], MPROC_OK);
    assert_int_equal(seen.status[1], MPROC_ETASK);
    assert_int_equal(seen.status[2], MPROC_EWORKERLOST);
    assert_memory_equal(out, "\7\0\0\0\0\0\0\0", 8);
    /* A result for another chunk is refused whole, no item visited. */
    seen.n = 0;
    assert_int_equal(mproc__pool_decode_result(b.data, b.len, 3, 3, out, 8, &bare, record_item,
                                               &seen),
                     MPROC_EINVAL);
    assert_int_equal(seen.n, 0);
    mproc__wbuf_free(&b);
}

static void wire_reads_stop_at_the_end(void **state)
{
    (void)state;
    mproc__wbuf_t b = {0};
    assert_int_equal(mproc__wbuf_put_str(&b, "name"), MPROC_OK);
    assert_int_equal(mproc__wbuf_put_str(&b, NULL), MPROC_OK); /* stored as "" */
    char *s = NULL;
    mproc__rbuf_t r = {b.data, b.len, 0};
    assert_int_equal(mproc__rbuf_get_str(&r, &s), MPROC_OK);
    assert_string_equal(s, "name");
    free(s);
    assert_int_equal(mproc__rbuf_get_str(&r, &s), MPROC_OK);
    assert_string_equal(s, "");
    free(s);
    s = NULL;
    assert_int_equal(mproc__rbuf_get_str(&r, &s), MPROC_EINVAL); /* nothing left */
    /* A length that runs past the bytes that arrived. */
    mproc__rbuf_t cut = {b.data, 6, 0};
    assert_int_equal(mproc__rbuf_get_str(&cut, &s), MPROC_EINVAL);
    assert_null(s);
    int64_t v;
    mproc__rbuf_t short_i64 = {b.data, 9, 0};
    assert_int_equal(mproc__rbuf_get_i64(&short_i64, &v), MPROC_OK);
    assert_int_equal(mproc__rbuf_get_i64(&short_i64, &v), MPROC_EINVAL);
    /* A size whose sum would wrap is refused, not allocated. */
    size_t at = 0;
    assert_int_equal(mproc__wbuf_reserve(&b, SIZE_MAX, &at), MPROC_ENOMEM);
    assert_int_equal(b.len, 12);
    mproc__wbuf_free(&b);
    assert_null(b.data);
}

/* An OS handle to what a connection end writes to, to send bytes no sender
 * would: a duplicate held by `*holder` (an argument list), valid until the
 * caller frees that list. */
static mproc__os_handle_t write_handle(const mproc_connection_t *w, mproc_args_t **holder)
{
    mproc__obj_t obj;
    assert_int_equal(mproc_args_create(holder), MPROC_OK);
    assert_int_equal(mproc_args_add_connection(*holder, w), MPROC_OK);
    assert_int_equal(mproc__args_get_object(*holder, 0, MPROC__OBJ_CONNECTION, &obj), MPROC_OK);
    return obj.handles[0];
}

/* A simplex pipe whose reader *r receives `n` raw bytes, written by a peer
 * that then closes when `close_after` (end of file after them). */
static void forge_pipe(const void *bytes, size_t n, int close_after, mproc_connection_t **r,
                       mproc_connection_t **w)
{
    mproc_args_t *holder = NULL;
    assert_int_equal(mproc_pipe(0, r, w), MPROC_OK);
    assert_int_equal(mproc__os_write_all(write_handle(*w, &holder), bytes, n), MPROC_OK);
    mproc_args_free(holder);
    if (close_after) {
        mproc_connection_free(*w);
        *w = NULL;
    }
}

/* A frame header in the long form: the u32 escape, then a u64 length. */
static void long_header(unsigned char out[12], uint64_t length)
{
    uint32_t escape = UINT32_MAX;
    memcpy(out, &escape, 4);
    memcpy(out + 4, &length, 8);
}

static void connection_refuses_impossible_or_cut_frames(void **state)
{
    (void)state;
    mproc_connection_t *r, *w;
    void *msg = &msg; /* any value: a failure sets NULL */
    size_t len = 1;
    unsigned char head[12];
    /* Longer than any object: refused as a bound refuses it, not allocated. */
    long_header(head, UINT64_MAX);
    forge_pipe(head, sizeof head, 0, &r, &w);
    assert_int_equal(mproc_connection_recv_bytes(r, 5, &msg, &len), MPROC_ETOOBIG);
    assert_null(msg);
    assert_int_equal(len, 0);
    assert_int_equal(mproc_connection_recv_bytes(r, 0, &msg, &len), MPROC_ECLOSED);
    mproc_connection_free(r);
    mproc_connection_free(w);
    /* A sender that closes in the middle of a frame: end of file, nothing invented. */
    unsigned char cut[4 + 3] = {10, 0, 0, 0, 'a', 'b', 'c'};
    forge_pipe(cut, sizeof cut, 1, &r, &w);
    msg = &msg;
    assert_int_equal(mproc_connection_recv_bytes(r, 5, &msg, &len), MPROC_EEOF);
    assert_null(msg);
    mproc_connection_free(r);
    /* ... or in the middle of a long header. */
    long_header(head, 5);
    forge_pipe(head, 7, 1, &r, &w);
    assert_int_equal(mproc_connection_recv_bytes(r, 5, &msg, &len), MPROC_EEOF);
    mproc_connection_free(r);
}

/* A forged long header above the receiver's bound: the documented refusal,
 * before anything is allocated (5 GiB would be, otherwise). */
static void connection_bound_refuses_a_forged_long_header(void **state)
{
    (void)state;
    mproc_connection_t *r, *w;
    void *msg = &msg;
    size_t len = 1;
    unsigned char head[12];
    long_header(head, (uint64_t)5 << 30);
    forge_pipe(head, sizeof head, 0, &r, &w);
    assert_int_equal(mproc_connection_recv_bytes_max(r, 5, (size_t)1 << 20, &msg, &len),
                     MPROC_ETOOBIG);
    assert_null(msg);
    assert_int_equal(len, 0);
    assert_int_equal(mproc_connection_poll(r, 0), MPROC_ECLOSED); /* as Python: unusable */
    mproc_connection_free(r);
    mproc_connection_free(w);
    /* The long form may carry a short length: read as that message. */
    unsigned char small[12 + 2];
    long_header(small, 2);
    memcpy(small + 12, "ok", 2);
    forge_pipe(small, sizeof small, 1, &r, &w);
    assert_int_equal(mproc_connection_recv_bytes_max(r, 5, 2, &msg, &len), MPROC_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(msg, "ok", 2);
    mproc_free(msg);
    mproc_connection_free(r);
}

/* No bound and no memory for the length: MPROC_ENOMEM, nothing consumed, the
 * connection unchanged (a bound can still refuse the message). AddressSanitizer
 * aborts on such an allocation instead of failing it. */
static void connection_without_memory_for_a_message_keeps_it(void **state)
{
    (void)state;
    if (TEST_UNDER_ASAN || sizeof(size_t) < 8)
        skip();
    mproc_connection_t *r, *w;
    void *msg = &msg;
    size_t len = 1;
    unsigned char head[12];
    long_header(head, (uint64_t)1 << 62); /* no address space is that large */
    forge_pipe(head, sizeof head, 0, &r, &w);
    assert_int_equal(mproc_connection_recv_bytes(r, 5, &msg, &len), MPROC_ENOMEM);
    assert_null(msg);
    assert_int_equal(len, 0);
    assert_int_equal(mproc_connection_poll(r, 0), MPROC_OK); /* still next */
    char buf[8];
    assert_int_equal(mproc_connection_recv_bytes_into(r, 0, buf, sizeof buf, &len),
                     MPROC_ESHORTBUF);
    assert_true((uint64_t)len == (uint64_t)1 << 62);
    assert_int_equal(mproc_connection_recv_bytes_max(r, 0, 1, &msg, &len), MPROC_ETOOBIG);
    mproc_connection_free(r);
    mproc_connection_free(w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(string_without_its_nul_is_refused),
        cmocka_unit_test(object_with_too_many_handles_is_refused),
        cmocka_unit_test(truncated_or_unknown_items_are_refused),
        cmocka_unit_test(connection_item_with_wrong_handles_is_refused),
        cmocka_unit_test(pool_chunk_with_impossible_sizes_is_refused),
        cmocka_unit_test(pool_result_with_a_short_fixed_output_loses_that_item),
        cmocka_unit_test(wire_reads_stop_at_the_end),
        cmocka_unit_test(connection_refuses_impossible_or_cut_frames),
        cmocka_unit_test(connection_bound_refuses_a_forged_long_header),
        cmocka_unit_test(connection_without_memory_for_a_message_keeps_it),
    };
    return test_main(argc, argv, "wire", tests, ARRAY_LEN(tests));
}
