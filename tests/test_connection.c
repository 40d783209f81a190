/* Pipe and Connection: Python's multiprocessing.Pipe, under each start method. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args_internal.h"
#include "support/test_support.h"

/* The OS handle a connection end writes with: lets a test send a partial frame. */
static mproc__os_handle_t raw_writer(const mproc_args_t *args, size_t index)
{
    mproc__obj_t obj;
    if (mproc__args_get_object(args, index, MPROC__OBJ_CONNECTION, &obj) || obj.nhandles == 0)
        return MPROC__OS_NO_HANDLE;
    return obj.handles[obj.nhandles - 1];
}

#define BIG_FRAME ((uint32_t)1 << 20)
#define BIG_FIRST_PART ((size_t)200 * 1024) /* more than the connection's read-ahead */

static unsigned char big_byte(size_t i)
{
    return (unsigned char)(i * 7 + i / 251);
}

/* Send the first part of a BIG_FRAME message raw, say so on `told`, wait for
 * a word on `go`, then send the rest. */
static int t_partial_sender(const mproc_args_t *args)
{
    mproc_connection_t *told, *go;
    mproc__os_handle_t w = raw_writer(args, 0);
    if (w == MPROC__OS_NO_HANDLE || mproc_args_get_connection(args, 1, &told) ||
        mproc_args_get_connection(args, 2, &go))
        return 100;
    unsigned char *msg = malloc(BIG_FRAME);
    if (!msg)
        return 101;
    for (size_t i = 0; i < BIG_FRAME; i++)
        msg[i] = big_byte(i);
    uint32_t header = BIG_FRAME;
    void *word;
    size_t len;
    if (mproc__os_write_all(w, &header, sizeof header) ||
        mproc__os_write_all(w, msg, BIG_FIRST_PART) || mproc_connection_send_bytes(told, "", 0) ||
        mproc_connection_recv_bytes(go, 60, &word, &len) ||
        mproc__os_write_all(w, msg + BIG_FIRST_PART, BIG_FRAME - BIG_FIRST_PART))
        return 102;
    mproc_free(word);
    free(msg);
    return 0;
}
MPROC_TARGET(t_partial_sender)

/* Echo every message back until EOF; exit code = number of messages echoed. */
static int t_echo(const mproc_args_t *args)
{
    mproc_connection_t *c;
    if (mproc_args_get_connection(args, 0, &c))
        return 100;
    int n = 0;
    for (;;) {
        void *data;
        size_t len;
        mproc_status_t st = mproc_connection_recv_bytes(c, MPROC_FOREVER, &data, &len);
        if (st == MPROC_EEOF)
            break;
        if (st || mproc_connection_send_bytes(c, data, len))
            return 101;
        mproc_free(data);
        n++;
    }
    mproc_connection_free(c);
    return n;
}
MPROC_TARGET(t_echo)

/* Send `count` numbered messages on a write-only end, then exit. */
static int t_send_numbers(const mproc_args_t *args)
{
    mproc_connection_t *c;
    int64_t count = 0;
    if (mproc_args_get_connection(args, 0, &c) || mproc_args_get_int(args, 1, &count))
        return 100;
    if (mproc_connection_readable(c) || !mproc_connection_writable(c))
        return 102;
    for (int64_t i = 0; i < count; i++)
        if (mproc_connection_send_bytes(c, &i, sizeof i))
            return 101;
    mproc_connection_free(c);
    return 0;
}
MPROC_TARGET(t_send_numbers)

#if SIZE_MAX > UINT32_MAX
#define ABOVE_4_GIB (((size_t)1 << 32) + 3)

/* Send one message of ABOVE_4_GIB bytes, zeros but for three marks. */
static int t_send_above_4_gib(const mproc_args_t *args)
{
    mproc_connection_t *c;
    if (mproc_args_get_connection(args, 0, &c))
        return 100;
    /* calloc's fresh pages are the kernel's zero page until written: the
     * message costs the sender no memory but the three marked pages. */
    unsigned char *msg = calloc(1, ABOVE_4_GIB);
    if (!msg)
        return 101;
    msg[0] = 0xa5;
    msg[(size_t)1 << 32] = 0x33; /* the first byte a u32 length cannot reach */
    msg[ABOVE_4_GIB - 1] = 0x5a;
    mproc_status_t st = mproc_connection_send_bytes(c, msg, ABOVE_4_GIB);
    free(msg);
    mproc_connection_free(c);
    return st ? 102 : 0;
}
MPROC_TARGET(t_send_above_4_gib)
#endif

static void make_pipe(int duplex, mproc_connection_t **a, mproc_connection_t **b)
{
    assert_int_equal(mproc_pipe(duplex, a, b), MPROC_OK);
}

static mproc_process_t *start_with_end(mproc_target_fn target, mproc_connection_t *end,
                                       int64_t extra)
{
    mproc_args_t *a;
    mproc_args_create(&a);
    assert_int_equal(mproc_args_add_connection(a, end), MPROC_OK);
    mproc_args_add_int(a, extra);
    mproc_process_t *p = test_start(target, a);
    mproc_args_free(a);
    return p;
}

static void duplex_carries_messages_both_ways(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    make_pipe(1, &a, &b);
    assert_true(mproc_connection_readable(a) && mproc_connection_writable(a));
    assert_int_equal(mproc_connection_send_bytes(a, "ping", 4), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(a, NULL, 0), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(b, "pong!", 5), MPROC_OK);
    void *d;
    size_t n;
    assert_int_equal(mproc_connection_recv_bytes(b, 5, &d, &n), MPROC_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(d, "ping", 4);
    mproc_free(d);
    assert_int_equal(mproc_connection_recv_bytes(b, 5, &d, &n), MPROC_OK);
    assert_int_equal(n, 0); /* an empty message is a message */
    assert_non_null(d);
    mproc_free(d);
    assert_int_equal(mproc_connection_recv_bytes(a, 5, &d, &n), MPROC_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "pong!", 5);
    mproc_free(d);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

static void simplex_ends_have_one_direction(void **state)
{
    (void)state;
    mproc_connection_t *r, *w;
    make_pipe(0, &r, &w);
    assert_true(mproc_connection_readable(r) && !mproc_connection_writable(r));
    assert_true(!mproc_connection_readable(w) && mproc_connection_writable(w));
    assert_int_equal(mproc_connection_send_bytes(r, "x", 1), MPROC_EMODE);
    void *d;
    size_t n;
    assert_int_equal(mproc_connection_recv_bytes(w, 0, &d, &n), MPROC_EMODE);
    assert_int_equal(mproc_connection_poll(w, 0), MPROC_EMODE);
    assert_int_equal(mproc_connection_send_bytes(w, "abc", 3), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes(r, 5, &d, &n), MPROC_OK);
    assert_int_equal(n, 3);
    mproc_free(d);
    mproc_connection_free(r);
    mproc_connection_free(w);
}

static void recv_into_short_buffer_loses_nothing(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    make_pipe(1, &a, &b);
    assert_int_equal(mproc_connection_send_bytes(a, "0123456789", 10), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(a, "next", 4), MPROC_OK);
    char small[4], big[16];
    size_t n = 0;
    assert_int_equal(mproc_connection_recv_bytes_into(b, 5, small, sizeof small, &n),
                     MPROC_ESHORTBUF);
    assert_int_equal(n, 10);
    assert_int_equal(mproc_connection_poll(b, 0), MPROC_OK); /* still there */
    assert_int_equal(mproc_connection_recv_bytes_into(b, 5, big, sizeof big, &n), MPROC_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(big, "0123456789", 10);
    assert_int_equal(mproc_connection_recv_bytes_into(b, 5, big, sizeof big, &n), MPROC_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(big, "next", 4);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

static void poll_and_recv_time_out(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    make_pipe(1, &a, &b);
    double t0 = test_now();
    assert_int_equal(mproc_connection_poll(b, 0.2), MPROC_ETIMEDOUT);
    void *d;
    size_t n;
    assert_int_equal(mproc_connection_recv_bytes(b, 0.2, &d, &n), MPROC_ETIMEDOUT);
    double waited = test_now() - t0;
    assert_true(waited >= 0.3);
    assert_true(waited < 20.0);
    assert_int_equal(mproc_connection_poll(b, 0), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_connection_poll(b, -1), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_connection_send_bytes(a, "x", 1), MPROC_OK);
    assert_int_equal(mproc_connection_poll(b, 5), MPROC_OK);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

static void closed_peer_gives_eof_not_a_hang(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    make_pipe(1, &a, &b);
    assert_int_equal(mproc_connection_send_bytes(a, "last", 4), MPROC_OK);
    assert_int_equal(mproc_connection_close(a), MPROC_OK);
    assert_int_equal(mproc_connection_close(a), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(a, "x", 1), MPROC_ECLOSED);
    void *d;
    size_t n;
    assert_int_equal(mproc_connection_recv_bytes(b, 5, &d, &n), MPROC_OK); /* sent before close */
    mproc_free(d);
    assert_int_equal(mproc_connection_poll(b, 5), MPROC_OK); /* EOF is ready to be read */
    assert_int_equal(mproc_connection_recv_bytes(b, 5, &d, &n), MPROC_EEOF);
    assert_int_equal(mproc_connection_send_bytes(b, "x", 1), MPROC_EEOF); /* no SIGPIPE */
    mproc_connection_free(a);
    mproc_connection_free(b);
}

static void bad_input_is_refused(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    static const char one = 1;
    assert_int_equal(mproc_pipe(1, NULL, &b), MPROC_EINVAL);
    make_pipe(1, &a, &b);
    assert_int_equal(mproc_connection_send_bytes(a, NULL, 3), MPROC_EINVAL);
    /* Longer than any object: refused before the data is touched. */
    assert_int_equal(mproc_connection_send_bytes(a, &one, (size_t)PTRDIFF_MAX + 1),
                     MPROC_ETOOBIG);
    assert_int_equal(mproc_connection_poll(b, 0), MPROC_ETIMEDOUT); /* nothing was sent */
    assert_int_equal(mproc_connection_send_bytes(NULL, "x", 1), MPROC_EINVAL);
    mproc_args_t *args;
    mproc_args_create(&args);
    mproc_args_add_int(args, 1);
    mproc_connection_t *c;
    assert_int_equal(mproc_args_get_connection(args, 0, &c), MPROC_ETYPE);
    assert_int_equal(mproc_args_get_connection(args, 1, &c), MPROC_ERANGE);
    mproc_connection_close(a);
    assert_int_equal(mproc_args_add_connection(args, a), MPROC_ECLOSED);
    mproc_args_free(args);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

static void end_passed_to_child_echoes_large_messages(void **state)
{
    (void)state;
    mproc_connection_t *mine, *theirs;
    make_pipe(1, &mine, &theirs);
    mproc_process_t *p = start_with_end(t_echo, theirs, 0);
    /* Close our copy of the child's end, or the child would never see EOF. */
    mproc_connection_free(theirs);

    size_t sizes[] = {0, 1, 4096, 65536 + 3, (size_t)64 * 1024 * 1024};
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        unsigned char *msg = malloc(sizes[i] ? sizes[i] : 1);
        for (size_t k = 0; k < sizes[i]; k++)
            msg[k] = (unsigned char)(k * 31 + i);
        assert_int_equal(mproc_connection_send_bytes(mine, msg, sizes[i]), MPROC_OK);
        void *back;
        size_t n;
        assert_int_equal(mproc_connection_recv_bytes(mine, 60, &back, &n), MPROC_OK);
        assert_int_equal(n, sizes[i]);
        assert_true(memcmp(back, msg, n) == 0);
        mproc_free(back);
        free(msg);
    }
    mproc_connection_close(mine);
    assert_int_equal(test_join(p), (int64_t)ARRAY_LEN(sizes));
    mproc_process_free(p);
    mproc_connection_free(mine);
}

#define MSG_300_MIB ((size_t)300 * 1024 * 1024)

/* No cap on a message's size: 300 MiB to a child and back, the first time
 * with no bound, the second with a bound of exactly its length. */
static void message_of_300_mib_crosses_both_ways(void **state)
{
    (void)state;
    mproc_connection_t *mine, *theirs;
    make_pipe(1, &mine, &theirs);
    mproc_process_t *p = start_with_end(t_echo, theirs, 0);
    mproc_connection_free(theirs);
    unsigned char *msg = malloc(MSG_300_MIB);
    assert_non_null(msg);
    for (size_t k = 0; k < MSG_300_MIB; k++)
        msg[k] = big_byte(k);
    for (int round = 0; round < 2; round++) {
        void *back = NULL;
        size_t n = 0;
        assert_int_equal(mproc_connection_send_bytes(mine, msg, MSG_300_MIB), MPROC_OK);
        if (round == 0)
            assert_int_equal(mproc_connection_recv_bytes(mine, 120, &back, &n), MPROC_OK);
        else
            assert_int_equal(mproc_connection_recv_bytes_max(mine, 120, MSG_300_MIB, &back, &n),
                             MPROC_OK);
        assert_int_equal(n, MSG_300_MIB);
        assert_true(memcmp(back, msg, n) == 0);
        mproc_free(back);
    }
    free(msg);
    mproc_connection_close(mine);
    assert_int_equal(test_join(p), 2);
    mproc_process_free(p);
    mproc_connection_free(mine);
}

/* A length a u32 cannot hold (the frame's long form), from a child; only
 * where the memory is cheap to have: fork (no copy of the test's memory
 * either), no AddressSanitizer, 64 bits, not Windows (Wine). */
static void message_above_4_gib_crosses(void **state)
{
    (void)state;
#if SIZE_MAX > UINT32_MAX && !defined(_WIN32)
    if (TEST_UNDER_ASAN || test_method() != MPROC_METHOD_FORK)
        skip();
    mproc_connection_t *r, *w;
    make_pipe(0, &r, &w);
    mproc_process_t *p = start_with_end(t_send_above_4_gib, w, 0);
    mproc_connection_free(w);
    unsigned char *msg = NULL;
    size_t n = 0;
    assert_int_equal(mproc_connection_recv_bytes(r, 120, (void **)&msg, &n), MPROC_OK);
    assert_int_equal(n, ABOVE_4_GIB);
    assert_int_equal(msg[0], 0xa5);
    assert_int_equal(msg[1], 0);
    assert_int_equal(msg[((size_t)1 << 32) - 1], 0);
    assert_int_equal(msg[(size_t)1 << 32], 0x33);
    assert_int_equal(msg[ABOVE_4_GIB - 1], 0x5a);
    mproc_free(msg);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_connection_free(r);
#else
    skip();
#endif
}

/* After a large message the connection reads little at a time (its next
 * payload goes straight to the caller): small messages behind it, whose
 * frames those reads cut anywhere, still arrive whole and in order. */
static void small_messages_after_a_large_one_arrive_whole(void **state)
{
    (void)state;
    enum { LARGE = 40 * 1024, SMALL = 100, SMALL_LEN = 100 };
    mproc_connection_t *a, *b;
    make_pipe(1, &a, &b);
    unsigned char *large = malloc(LARGE);
    assert_non_null(large);
    for (size_t k = 0; k < LARGE; k++)
        large[k] = big_byte(k);
    assert_int_equal(mproc_connection_send_bytes(a, large, LARGE), MPROC_OK);
    void *data;
    size_t len;
    assert_int_equal(mproc_connection_recv_bytes(b, 30, &data, &len), MPROC_OK);
    assert_int_equal(len, LARGE);
    assert_memory_equal(data, large, LARGE);
    mproc_free(data);
    /* 10 KiB of frames in the OS buffer, more than one small read takes. */
    unsigned char msg[SMALL_LEN], got[SMALL_LEN];
    for (int i = 0; i < SMALL; i++) {
        memset(msg, i, sizeof msg);
        assert_int_equal(mproc_connection_send_bytes(a, msg, sizeof msg), MPROC_OK);
    }
    for (int i = 0; i < SMALL; i++) {
        memset(msg, i, sizeof msg);
        assert_int_equal(mproc_connection_recv_bytes_into(b, 30, got, sizeof got, &len), MPROC_OK);
        assert_int_equal(len, sizeof got);
        assert_memory_equal(got, msg, sizeof got);
    }
    free(large);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

static void many_messages_arrive_in_order_then_eof(void **state)
{
    (void)state;
    mproc_connection_t *r, *w;
    make_pipe(0, &r, &w);
    mproc_process_t *p = start_with_end(t_send_numbers, w, 20000);
    mproc_connection_free(w);
    for (int64_t i = 0; i < 20000; i++) {
        int64_t v = -1;
        size_t n = 0;
        assert_int_equal(mproc_connection_recv_bytes_into(r, 60, &v, sizeof v, &n), MPROC_OK);
        assert_int_equal(n, sizeof v);
        assert_int_equal(v, i);
    }
    void *d;
    size_t n;
    assert_int_equal(mproc_connection_recv_bytes(r, 60, &d, &n), MPROC_EEOF);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_connection_free(r);
}

static void dead_peer_process_gives_eof(void **state)
{
    (void)state;
    mproc_connection_t *mine, *theirs;
    make_pipe(1, &mine, &theirs);
    mproc_process_t *p = start_with_end(t_echo, theirs, 0);
    mproc_connection_free(theirs);
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    test_join(p);
    void *d;
    size_t n;
    assert_int_equal(mproc_connection_recv_bytes(mine, 30, &d, &n), MPROC_EEOF);
    assert_int_equal(mproc_connection_send_bytes(mine, "x", 1), MPROC_EEOF);
    mproc_process_free(p);
    mproc_connection_free(mine);
}

static void wait_covers_connections_and_sentinels(void **state)
{
    (void)state;
    mproc_connection_t *a1, *b1, *a2, *b2;
    make_pipe(1, &a1, &b1);
    make_pipe(1, &a2, &b2);
    mproc_process_t *sleeper = test_start_sleeper(60.0, 0);
    assert_non_null(sleeper);
    mproc_sentinel_t objs[3];
    int ready[3];
    assert_int_equal(mproc_connection_waitable(b1, &objs[0]), MPROC_OK);
    assert_int_equal(mproc_connection_waitable(b2, &objs[1]), MPROC_OK);
    assert_int_equal(mproc_process_sentinel(sleeper, &objs[2]), MPROC_OK);
    assert_int_equal(mproc_wait(objs, 3, 0.2, ready), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_connection_send_bytes(a2, "hi", 2), MPROC_OK);
    assert_int_equal(mproc_wait(objs, 3, 30, ready), MPROC_OK);
    assert_int_equal(ready[0], 0);
    assert_int_equal(ready[1], 1);
    assert_int_equal(ready[2], 0);
    mproc_process_kill(sleeper);
    test_join(sleeper);
    assert_int_equal(mproc_wait(&objs[2], 1, 30, ready), MPROC_OK);
    mproc_process_free(sleeper);
    mproc_connection_free(a1);
    mproc_connection_free(b1);
    mproc_connection_free(a2);
    mproc_connection_free(b2);
}

/* A duplex pipe a-b and the OS handle that a writes with (held by *args:
 * free it at the end), for a test to write raw bytes that b receives. */
static mproc__os_handle_t raw_pipe(mproc_connection_t **a, mproc_connection_t **b,
                                   mproc_args_t **args)
{
    make_pipe(1, a, b);
    assert_int_equal(mproc_args_create(args), MPROC_OK);
    assert_int_equal(mproc_args_add_connection(*args, *a), MPROC_OK);
    return raw_writer(*args, 0);
}

/* After a partial frame: the stream is still in step, the next message whole;
 * then the pipe of raw_pipe() is freed. */
static void next_is_whole_then_free(mproc_connection_t *a, mproc_connection_t *b,
                                    mproc_args_t *args)
{
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(mproc_connection_send_bytes(a, "next", 4), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes(b, 30, &data, &len), MPROC_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "next", 4);
    mproc_free(data);
    mproc_args_free(args);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

/* A peer that sent part of a frame and stalls: recv returns by its deadline
 * and keeps the part, so the message arrives whole once the rest comes. */
static void stalled_partial_frame_times_out_and_is_kept(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    mproc_args_t *args;
    mproc__os_handle_t w = raw_pipe(&a, &b, &args);
    uint32_t header = 100;
    char body[100];
    for (int i = 0; i < 100; i++)
        body[i] = (char)i;
    assert_int_equal(mproc__os_write_all(w, &header, sizeof header), MPROC_OK);
    assert_int_equal(mproc__os_write_all(w, body, 10), MPROC_OK);
    void *data = NULL;
    size_t len = 0;
    double t0 = test_now();
    assert_int_equal(mproc_connection_recv_bytes(b, 0.5, &data, &len), MPROC_ETIMEDOUT);
    assert_true(test_now() - t0 < 10.0);
    assert_int_equal(mproc_connection_recv_bytes(b, 0, &data, &len), MPROC_ETIMEDOUT);
    char small[200];
    assert_int_equal(mproc_connection_recv_bytes_into(b, 0.1, small, sizeof small, &len),
                     MPROC_ETIMEDOUT);
    assert_int_equal(mproc__os_write_all(w, body + 10, 90), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes(b, 30, &data, &len), MPROC_OK);
    assert_int_equal(len, 100);
    assert_memory_equal(data, body, 100);
    mproc_free(data);
    next_is_whole_then_free(a, b, args);
}

/* The same with a frame larger than the read-ahead, sent by another process. */
static void stalled_large_frame_times_out_and_is_kept(void **state)
{
    (void)state;
    mproc_connection_t *rd, *wr, *told_r, *told_w, *go_r, *go_w;
    mproc_args_t *args;
    make_pipe(0, &rd, &wr);
    make_pipe(0, &told_r, &told_w);
    make_pipe(0, &go_r, &go_w);
    mproc_args_create(&args);
    mproc_args_add_connection(args, wr);
    mproc_args_add_connection(args, told_w);
    mproc_args_add_connection(args, go_r);
    mproc_process_t *p = test_start(t_partial_sender, args);
    mproc_args_free(args);
    void *data = NULL;
    size_t len = 0;
    double start = test_now();
    int told = 0;
    while (!told) {
        double t0 = test_now();
        assert_int_equal(mproc_connection_recv_bytes(rd, 0.2, &data, &len), MPROC_ETIMEDOUT);
        assert_true(test_now() - t0 < 10.0);
        told = mproc_connection_poll(told_r, 0) == MPROC_OK;
        assert_true(test_now() - start < 60.0);
    }
    /* One more after the sender has stopped half-way. */
    assert_int_equal(mproc_connection_recv_bytes(rd, 0.3, &data, &len), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_connection_send_bytes(go_w, "go", 2), MPROC_OK);
    /* The rest taken by short timed receives, as the pool's handler takes
     * results: each keeps what came, and the message arrives whole. */
    mproc_status_t st;
    while ((st = mproc_connection_recv_bytes(rd, 0.001, &data, &len)) == MPROC_ETIMEDOUT)
        assert_true(test_now() - start < 120.0);
    assert_int_equal(st, MPROC_OK);
    assert_int_equal(len, BIG_FRAME);
    for (size_t i = 0; i < BIG_FRAME; i++)
        if (((unsigned char *)data)[i] != big_byte(i))
            fail_msg("byte %zu differs", i);
    mproc_free(data);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_connection_free(rd);
    mproc_connection_free(wr);
    mproc_connection_free(told_r);
    mproc_connection_free(told_w);
    mproc_connection_free(go_r);
    mproc_connection_free(go_w);
}

/* A message already read ahead into the process makes the connection ready. */
static void wait_sees_messages_already_read_ahead(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    make_pipe(1, &a, &b);
    assert_int_equal(mproc_connection_send_bytes(a, "one", 3), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(a, "two", 3), MPROC_OK);
    void *data;
    size_t len;
    /* Both are in the OS's buffer before this receive: its one read takes both in. */
    assert_int_equal(mproc_connection_recv_bytes(b, 30, &data, &len), MPROC_OK);
    mproc_free(data);
    mproc_sentinel_t obj;
    int ready = 0;
    assert_int_equal(mproc_connection_waitable(b, &obj), MPROC_OK);
    assert_int_equal(mproc_wait(&obj, 1, 5.0, &ready), MPROC_OK);
    assert_int_equal(ready, 1);
    assert_int_equal(mproc_connection_recv_bytes(b, 0, &data, &len), MPROC_OK);
    assert_memory_equal(data, "two", 3);
    mproc_free(data);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

/* The long form's header (escape, then a u64 length) arriving in pieces: a
 * receive that times out in the middle of it consumes nothing, and the
 * message arrives whole once the rest comes. */
static void long_header_arriving_in_parts_is_kept(void **state)
{
    (void)state;
    mproc_connection_t *a, *b;
    mproc_args_t *args;
    mproc__os_handle_t w = raw_pipe(&a, &b, &args);
    unsigned char head[12];
    uint32_t escape = UINT32_MAX;
    uint64_t length = 5;
    memcpy(head, &escape, 4);
    memcpy(head + 4, &length, 8);
    assert_int_equal(mproc__os_write_all(w, head, 6), MPROC_OK);
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(mproc_connection_recv_bytes(b, 0.2, &data, &len), MPROC_ETIMEDOUT);
    assert_int_equal(mproc__os_write_all(w, head + 6, 6), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes(b, 0.2, &data, &len), MPROC_ETIMEDOUT);
    assert_int_equal(mproc__os_write_all(w, "hello", 5), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes(b, 30, &data, &len), MPROC_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    mproc_free(data);
    next_is_whole_then_free(a, b, args);
}

static void recv_bytes_max_refuses_a_longer_message(void **state)
{
    (void)state;
    static char big[100];
    void *data = NULL;
    size_t len = 0;
    /* Receive-only end: the message fits exactly, then one is too long. */
    mproc_connection_t *r, *w;
    assert_int_equal(mproc_pipe(0, &r, &w), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(w, big, 10), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(w, big, sizeof big), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes_max(r, 60, 10, &data, &len), MPROC_OK);
    assert_int_equal(len, 10);
    mproc_free(data);
    assert_int_equal(mproc_connection_recv_bytes_max(r, 60, 10, &data, &len), MPROC_ETOOBIG);
    assert_null(data);
    assert_int_equal(len, 0);
    /* As Python: the end is unusable afterwards (closed). */
    assert_int_equal(mproc_connection_recv_bytes(r, 0, &data, &len), MPROC_ECLOSED);
    mproc_connection_free(r);
    mproc_connection_free(w);

    /* Duplex end: it loses its receiving side only, and still sends. */
    mproc_connection_t *a, *b;
    assert_int_equal(mproc_pipe(1, &a, &b), MPROC_OK);
    assert_int_equal(mproc_connection_send_bytes(b, big, sizeof big), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes_max(a, 60, 99, &data, &len), MPROC_ETOOBIG);
    assert_int_equal(mproc_connection_readable(a), 0);
    assert_int_equal(mproc_connection_writable(a), 1);
    assert_int_equal(mproc_connection_recv_bytes(a, 0, &data, &len), MPROC_EMODE);
    assert_int_equal(mproc_connection_send_bytes(a, "ok", 2), MPROC_OK);
    char buf[4];
    assert_int_equal(mproc_connection_recv_bytes_into(b, 60, buf, sizeof buf, &len), MPROC_OK);
    assert_int_equal(len, 2);
    mproc_connection_free(a);
    mproc_connection_free(b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplex_carries_messages_both_ways),
        cmocka_unit_test(simplex_ends_have_one_direction),
        cmocka_unit_test(recv_into_short_buffer_loses_nothing),
        cmocka_unit_test(poll_and_recv_time_out),
        cmocka_unit_test(closed_peer_gives_eof_not_a_hang),
        cmocka_unit_test(bad_input_is_refused),
        cmocka_unit_test(end_passed_to_child_echoes_large_messages),
        cmocka_unit_test(message_of_300_mib_crosses_both_ways),
        cmocka_unit_test(message_above_4_gib_crosses),
        cmocka_unit_test(small_messages_after_a_large_one_arrive_whole),
        cmocka_unit_test(many_messages_arrive_in_order_then_eof),
        cmocka_unit_test(dead_peer_process_gives_eof),
        cmocka_unit_test(wait_covers_connections_and_sentinels),
        cmocka_unit_test(stalled_partial_frame_times_out_and_is_kept),
        cmocka_unit_test(stalled_large_frame_times_out_and_is_kept),
        cmocka_unit_test(wait_sees_messages_already_read_ahead),
        cmocka_unit_test(recv_bytes_max_refuses_a_longer_message),
        cmocka_unit_test(long_header_arriving_in_parts_is_kept),
    };
    return test_main(argc, argv, "connection", tests, ARRAY_LEN(tests));
}
