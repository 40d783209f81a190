/* Queue, SimpleQueue, JoinableQueue: Python's semantics, under each start method. */
#include <apr_thread_proc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

typedef struct item {
    int64_t producer;
    int64_t seq;
} item_t;

/* args: queue, producer id, count. Puts (id, 0..count-1). */
static int t_produce(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t id = 0, count = 0;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &id) ||
        mproc_args_get_int(args, 2, &count))
        return 100;
    for (int64_t i = 0; i < count; i++) {
        item_t it = {id, i};
        if (mproc_queue_put(q, &it, sizeof it, MPROC_FOREVER))
            return 101;
    }
    mproc_queue_free(q);
    return 0; /* exits at once: what it put must not be lost */
}
MPROC_TARGET(t_produce)

/* args: queue, results queue. Gets items until an empty message, forwards each. */
static int t_consume(const mproc_args_t *args)
{
    mproc_queue_t *q, *out;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_queue(args, 1, &out))
        return 100;
    for (;;) {
        item_t it;
        size_t n;
        mproc_status_t st = mproc_queue_get_into(q, 60, &it, sizeof it, &n);
        if (st)
            return 101;
        if (n == 0)
            break;
        if (n != sizeof it || mproc_queue_put(out, &it, sizeof it, MPROC_FOREVER))
            return 102;
    }
    mproc_queue_free(q);
    mproc_queue_free(out);
    return 0;
}
MPROC_TARGET(t_consume)

/* args: queue, count. Gets `count` messages (which are there), then blocks
 * in get forever (the test kills it there). */
static int t_block_in_get(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t count = 0;
    void *d;
    size_t n;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &count))
        return 100;
    for (int64_t i = 0; i <= count; i++) {
        if (mproc_queue_get(q, i < count ? 5 : MPROC_FOREVER, &d, &n))
            return 101;
        mproc_free(d);
    }
    return 0;
}
MPROC_TARGET(t_block_in_get)

/* args: queue, size. Puts one message of `size` patterned bytes. */
static int t_put_big(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t size = 0;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &size))
        return 100;
    unsigned char *m = malloc((size_t)size);
    for (int64_t i = 0; i < size; i++)
        m[i] = (unsigned char)(i * 7 + 3);
    mproc_status_t st = mproc_queue_put(q, m, (size_t)size, MPROC_FOREVER);
    free(m);
    mproc_queue_free(q);
    return st ? 101 : 0;
}
MPROC_TARGET(t_put_big)

/* The bytes of message i of a backlog: its size cycles through small and large. */
static size_t backlog_size(int64_t i)
{
    return i % 8 == 7 ? (size_t)(1 << 20) + (size_t)i : (size_t)(i * 37 % 300);
}

static unsigned char backlog_byte(int64_t i, size_t k)
{
    return (unsigned char)(i * 31 + (int64_t)k * 7);
}

/* args: queue, count. Gets `count` messages, handing each to `each` (which
 * returns non-zero to stop with that exit code); then exits 0. */
static int get_each(const mproc_args_t *args,
                    int (*each)(mproc_queue_t *q, int64_t i, const unsigned char *m, size_t n))
{
    mproc_queue_t *q;
    int64_t count = 0;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &count))
        return 100;
    for (int64_t i = 0; i < count; i++) {
        void *d;
        size_t n;
        if (mproc_queue_get(q, 60, &d, &n))
            return 101;
        int st = each(q, i, d, n);
        mproc_free(d);
        if (st)
            return st;
    }
    mproc_queue_free(q);
    return 0;
}

static int check_backlog_message(mproc_queue_t *q, int64_t i, const unsigned char *m, size_t n)
{
    (void)q;
    if (n != backlog_size(i))
        return 102;
    for (size_t k = 0; k < n; k++)
        if (m[k] != backlog_byte(i, k))
            return 103;
    return 0;
}

/* args: queue, count. Gets `count` backlog messages and checks each. */
static int t_check_backlog(const mproc_args_t *args)
{
    return get_each(args, check_backlog_message);
}
MPROC_TARGET(t_check_backlog)

static int work_on(mproc_queue_t *q, int64_t i, const unsigned char *m, size_t n)
{
    (void)i;
    (void)m;
    (void)n;
    test_sleep(0.01);
    return mproc_queue_task_done(q) ? 102 : 0;
}

/* args: joinable queue, count. Gets and marks done `count` items. */
static int t_worker(const mproc_args_t *args)
{
    return get_each(args, work_on);
}
MPROC_TARGET(t_worker)

/* Creates a queue, announces it is ready, then waits to be killed. */
static int t_create_and_hang(const mproc_args_t *args)
{
    mproc_connection_t *c;
    mproc_queue_t *q;
    if (mproc_args_get_connection(args, 0, &c) || mproc_queue_create(&q, 0))
        return 100;
    mproc_queue_put(q, "held", 4, 0);
    mproc_connection_send_bytes(c, "ready", 5);
    test_sleep(120);
    return 0;
}
MPROC_TARGET(t_create_and_hang)

/* args: queue, count, (unused), connection. Puts items (0, 0..count-1), gets the first
 * half back, announces it, then waits to be killed: a process that used
 * both ends of a queue many times in a row and then stopped. */
static int t_use_queue_then_hang(const mproc_args_t *args)
{
    mproc_queue_t *q;
    mproc_connection_t *c;
    int64_t count = 0;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &count) ||
        mproc_args_get_connection(args, 3, &c))
        return 100;
    for (int64_t i = 0; i < count; i++) {
        item_t it = {0, i};
        if (mproc_queue_put(q, &it, sizeof it, 5))
            return 101;
    }
    for (int64_t i = 0; i < count / 2; i++) {
        item_t it;
        size_t n;
        if (mproc_queue_get_into(q, 5, &it, sizeof it, &n) || it.seq != i)
            return 102;
    }
    mproc_connection_send_bytes(c, "ready", 5);
    test_sleep(120);
    return 0;
}
MPROC_TARGET(t_use_queue_then_hang)

/* Names in /dev/shm (POSIX shared memory and semaphores live there on Linux). */
static size_t dev_shm_entries(void)
{
    size_t n = 0;
#if defined(__linux__)
    FILE *f = popen("ls -A /dev/shm 2>/dev/null | wc -l", "r");
    if (f) {
        if (fscanf(f, "%zu", &n) != 1)
            n = 0;
        pclose(f);
    }
#endif
    return n;
}

static mproc_args_t *queue_args(mproc_queue_t *q, int64_t a, int64_t b)
{
    mproc_args_t *args;
    assert_int_equal(mproc_args_create(&args), MPROC_OK);
    assert_int_equal(mproc_args_pack(args, "qLL", q, a, b), MPROC_OK);
    return args;
}

static void put_get_in_order_with_sizes(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    assert_int_equal(mproc_queue_empty(q), 1);
    assert_int_equal(mproc_queue_put(q, "a", 1, 0), MPROC_OK);
    assert_int_equal(mproc_queue_put(q, NULL, 0, 0), MPROC_OK);
    assert_int_equal(mproc_queue_put_nowait(q, "hello", 5), MPROC_OK);
    size_t n = 0;
    assert_int_equal(mproc_queue_qsize(q, &n), MPROC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(mproc_queue_empty(q), 0);
    assert_int_equal(mproc_queue_full(q), 0);
    void *d;
    assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(d, "a", 1);
    mproc_free(d);
    assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_OK);
    assert_int_equal(n, 0);
    assert_non_null(d);
    mproc_free(d);
    char small[2], big[8];
    assert_int_equal(mproc_queue_get_into(q, 1, small, sizeof small, &n), MPROC_ESHORTBUF);
    assert_int_equal(n, 5);
    assert_int_equal(mproc_queue_get_into(q, 1, big, sizeof big, &n), MPROC_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(big, "hello", 5);
    assert_int_equal(mproc_queue_get_nowait(q, &d, &n), MPROC_EEMPTY);
    mproc_queue_free(q);
}

/* Every length up to a few hundred bytes, put and taken in turns after
 * enough calls that this process keeps both locks (the inline copies of the
 * usual paths, src/queue_core.h): the bytes arrive whole, and get_into writes
 * nothing past the message, whatever its length, nor anything into a buffer
 * one byte short. */
static void short_messages_of_every_length_arrive_whole(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    unsigned char msg[320], buf[320 + 16];
    size_t n;
    for (int i = 0; i < 200; i++) { /* long runs of takes: the locks are kept */
        assert_int_equal(mproc_queue_put(q, "x", 1, 0), MPROC_OK);
        assert_int_equal(mproc_queue_get_into(q, 0, buf, sizeof buf, &n), MPROC_OK);
    }
    for (size_t len = 0; len <= 300; len++) {
        for (size_t i = 0; i < len; i++)
            msg[i] = (unsigned char)(len * 31 + i * 7 + 1);
        assert_int_equal(mproc_queue_put(q, msg, len, 0), MPROC_OK);
        assert_int_equal(mproc_queue_put(q, msg, len, 0), MPROC_OK);
        memset(buf, 0xA5, sizeof buf);
        if (len > 0) {
            assert_int_equal(mproc_queue_get_into(q, 0, buf, len - 1, &n), MPROC_ESHORTBUF);
            assert_int_equal(n, len);
            for (size_t i = 0; i < sizeof buf; i++)
                assert_int_equal(buf[i], 0xA5);
        }
        for (int twice = 0; twice < 2; twice++) {
            assert_int_equal(mproc_queue_get_into(q, 0, buf, len, &n), MPROC_OK);
            assert_int_equal(n, len);
            if (len)
                assert_memory_equal(buf, msg, len);
            for (size_t i = len; i < sizeof buf; i++)
                assert_int_equal(buf[i], 0xA5);
        }
    }
    assert_int_equal(mproc_queue_empty(q), 1);
    mproc_queue_free(q);
}

/* Messages of a few KiB from and into buffers at every offset within a cache
 * line: frames of 4,088 bytes begin 8 bytes earlier in a page each time, so
 * the payloads pass every distance to the buffers, including those the
 * queue copies in pieces (src/copy.h). The bytes arrive whole and nothing
 * past a message is written. */
static void large_messages_arrive_whole_at_every_distance_to_the_buffers(void **state)
{
    (void)state;
    enum { LEN = 4080, PAGE = 4096, COUNT = 600 };
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    unsigned char *src_mem = malloc(3 * PAGE), *dst_mem = malloc(3 * PAGE);
    assert_non_null(src_mem);
    assert_non_null(dst_mem);
    unsigned char *src = src_mem + (PAGE - (uintptr_t)src_mem % PAGE);
    unsigned char *dst = dst_mem + (PAGE - (uintptr_t)dst_mem % PAGE);
    for (int i = 0; i < COUNT; i++) {
        unsigned char *from = src + i * 5 % 64, *into = dst + i * 3 % 64;
        for (size_t k = 0; k < LEN; k++)
            from[k] = (unsigned char)(i * 13 + k * 7 + k / 251);
        memset(into, 0xA5, LEN + 64);
        size_t n;
        assert_int_equal(mproc_queue_put(q, from, LEN, 0), MPROC_OK);
        assert_int_equal(mproc_queue_get_into(q, 0, into, LEN, &n), MPROC_OK);
        assert_int_equal(n, LEN);
        assert_memory_equal(into, from, LEN);
        for (size_t k = LEN; k < LEN + 64; k++)
            assert_int_equal(into[k], 0xA5);
    }
    free(src_mem);
    free(dst_mem);
    mproc_queue_free(q);
}

/* A maxsize above INT64_MAX (SIZE_MAX: "as many as you like") bounds
 * nothing: it was kept as a signed count, -1, and every put found the queue
 * full. */
static void maxsize_above_int64_max_bounds_nothing(void **state)
{
    (void)state;
    size_t sizes[] = {SIZE_MAX, (size_t)INT64_MAX + 1, (size_t)INT64_MAX};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        mproc_queue_t *q;
        assert_int_equal(mproc_queue_create(&q, sizes[k]), MPROC_OK);
        assert_int_equal(mproc_queue_full(q), 0);
        assert_int_equal(mproc_queue_put(q, "1", 1, 0.5), MPROC_OK);
        assert_int_equal(mproc_queue_put_nowait(q, "2", 1), MPROC_OK);
        assert_int_equal(mproc_queue_full(q), 0);
        void *d;
        size_t n;
        assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_OK);
        assert_memory_equal(d, "1", 1);
        mproc_free(d);
        mproc_queue_free(q);
    }
}

static void bounded_queue_full_and_empty_with_timeouts(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 2), MPROC_OK);
    assert_int_equal(mproc_queue_put(q, "1", 1, 0), MPROC_OK);
    assert_int_equal(mproc_queue_put(q, "2", 1, 0), MPROC_OK);
    assert_int_equal(mproc_queue_full(q), 1);
    assert_int_equal(mproc_queue_put_nowait(q, "3", 1), MPROC_EFULL);
    double t0 = test_now();
    assert_int_equal(mproc_queue_put(q, "3", 1, 0.2), MPROC_EFULL);
    double waited = test_now() - t0;
    assert_true(waited >= 0.15 && waited < 20);
    void *d;
    size_t n;
    assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_OK);
    mproc_free(d);
    assert_int_equal(mproc_queue_put(q, "3", 1, 1), MPROC_OK);
    assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_OK);
    assert_memory_equal(d, "2", 1);
    mproc_free(d);
    assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_OK);
    assert_memory_equal(d, "3", 1);
    mproc_free(d);
    t0 = test_now();
    assert_int_equal(mproc_queue_get(q, 0.2, &d, &n), MPROC_EEMPTY);
    waited = test_now() - t0;
    assert_true(waited >= 0.15 && waited < 20);
    mproc_queue_free(q);
}

static void bad_input_and_close(void **state)
{
    (void)state;
    mproc_queue_t *q;
    static const char one = 1;
    assert_int_equal(mproc_queue_create(NULL, 0), MPROC_EINVAL);
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    assert_int_equal(mproc_queue_put(q, NULL, 4, 0), MPROC_EINVAL);
#if SIZE_MAX > 0xFFFFFFFFu
    /* Longer than any memory holds: refused before `data` is read. */
    assert_int_equal(mproc_queue_put(q, &one, ((size_t)1 << 60) + 1, 0), MPROC_ETOOBIG);
#endif
    assert_int_equal(mproc_queue_empty(q), 1); /* nothing was put */
    assert_int_equal(mproc_queue_task_done(q), MPROC_ENOTSUP);
    assert_int_equal(mproc_queue_join(q, 0), MPROC_ENOTSUP);
    assert_int_equal(mproc_queue_join_thread(q), MPROC_EBUSY);
    assert_int_equal(mproc_queue_put(q, "kept", 4, 0), MPROC_OK);
    assert_int_equal(mproc_queue_cancel_join_thread(q), MPROC_OK);
    assert_int_equal(mproc_queue_close(q), MPROC_OK);
    assert_int_equal(mproc_queue_join_thread(q), MPROC_OK);
    void *d;
    size_t n;
    assert_int_equal(mproc_queue_put(q, "x", 1, 0), MPROC_ECLOSED);
    assert_int_equal(mproc_queue_get(q, 0, &d, &n), MPROC_ECLOSED);
    assert_int_equal(mproc_queue_qsize(q, &n), MPROC_ECLOSED);
    mproc_args_t *args;
    assert_int_equal(mproc_args_create(&args), MPROC_OK);
    assert_int_equal(mproc_args_add_queue(args, q), MPROC_ECLOSED);
    assert_int_equal(mproc_args_add_int(args, 3), MPROC_OK);
    mproc_queue_t *other;
    assert_int_equal(mproc_args_get_queue(args, 0, &other), MPROC_ETYPE);
    mproc_args_free(args);
    mproc_queue_free(q);
}

static void messages_larger_than_the_ring_stream_through(void **state)
{
    (void)state;
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = 64 * 1024;
    o.limit_bytes = 64 * 1024; /* a plain ring: big messages stream through it */
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    const int64_t size = 3 * 1024 * 1024 + 5;
    mproc_args_t *args = queue_args(q, size, 0);
    mproc_process_t *p = test_start(t_put_big, args);
    mproc_args_free(args);
    void *d;
    size_t n;
    assert_int_equal(mproc_queue_get(q, 60, &d, &n), MPROC_OK);
    assert_int_equal(n, (size_t)size);
    const unsigned char *m = d;
    int ok = 1;
    for (int64_t i = 0; i < size; i++)
        ok &= m[i] == (unsigned char)(i * 7 + 3);
    assert_true(ok);
    mproc_free(d);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_queue_free(q);
}

/* args: queue, size. Puts one message of `size` bytes that are zero but for
 * a mark at each end and at every 2^32nd byte (calloc: the zero pages are not
 * memory until written, so a message of gigabytes costs little). */
static int t_put_marked(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t size = 0;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &size))
        return 100;
    unsigned char *m = calloc(1, (size_t)size);
    if (!m)
        return 102;
    for (int64_t at = 0; at < size; at += (int64_t)1 << 32)
        m[at] = (unsigned char)(at >> 32) + 1;
    m[size - 1] = 0xEE;
    mproc_status_t st = mproc_queue_put(q, m, (size_t)size, MPROC_FOREVER);
    free(m);
    mproc_queue_free(q);
    return st ? 101 : 0;
}
MPROC_TARGET(t_put_marked)

/* A child puts one marked message of `size` bytes; a get_into with too small
 * a buffer leaves it in the queue (the size needed reported), then get takes
 * it whole and intact. */
static void marked_message_goes_through(mproc_queue_t *q, int64_t size)
{
    mproc_args_t *args = queue_args(q, size, 0);
    mproc_process_t *p = test_start(t_put_marked, args);
    mproc_args_free(args);
    char small[64];
    size_t n = 0;
    void *d = NULL;
    assert_int_equal(mproc_queue_get_into(q, 60, small, sizeof small, &n), MPROC_ESHORTBUF);
    assert_true(n == (size_t)size);
    assert_int_equal(mproc_queue_get(q, 120, &d, &n), MPROC_OK);
    assert_true(n == (size_t)size);
    const unsigned char *m = d;
    int ok = m[size - 1] == 0xEE;
    for (int64_t at = 0; at < size - 1; at += 4093) /* a sample of every page */
        ok &= m[at] == ((at & (((int64_t)1 << 32) - 1)) ? 0 : (unsigned char)(at >> 32) + 1);
    assert_true(ok);
    mproc_free(d);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    assert_int_equal(mproc_queue_empty(q), 1);
    /* The queue goes on as before. */
    assert_int_equal(mproc_queue_put(q, "after", 5, 0), MPROC_OK);
    assert_int_equal(mproc_queue_get_into(q, 5, small, sizeof small, &n), MPROC_OK);
    assert_int_equal(n, 5);
}

/* No size cap: a message above 256 MiB through a default queue. */
static void a_message_above_256_mib_goes_through(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    marked_message_goes_through(q, ((int64_t)300 << 20) + 3);
    mproc_queue_free(q);
}

/* A message larger than a sparse ring streams through it. */
static void a_message_above_a_sparse_ring_streams_through(void **state)
{
    (void)state;
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = 64 * 1024;
    o.limit_bytes = 8 << 20;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    marked_message_goes_through(q, ((int64_t)20 << 20) + 5);
    mproc_queue_free(q);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A message above 4 GiB (a length that needs 64 bits) streams through a
 * 64 MiB ring. Linux and fork only: it needs about 5 GiB of memory and a few
 * seconds; not under ASan. */
static void a_message_above_4_gib_goes_through(void **state)
{
    (void)state;
#if defined(__linux__) && SIZE_MAX > 0xFFFFFFFFu && !defined(UNDER_ASAN)
    if (test_method() != MPROC_METHOD_FORK) {
        skip();
        return;
    }
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = 16 << 20;
    o.limit_bytes = 64 << 20;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    marked_message_goes_through(q, ((int64_t)1 << 32) + 4101);
    mproc_queue_free(q);
#else
    skip();
#endif
}

#ifdef __linux__
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes of memory held by this process's queue rings (memfd "mproc"). */
static long long ring_memory(void)
{
    long long total = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], link[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, link, sizeof link - 1);
        struct stat st;
        if (k > 0 && (link[k] = 0, strncmp(link, "/memfd:mproc", 12) == 0) && stat(path, &st) == 0)
            total += (long long)st.st_blocks * 512;
    }
    if (d)
        closedir(d);
    return total;
}
#endif

static void unbounded_put_does_not_wait_for_readers(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    /* About 64 MiB unread, four times the ring: no put may wait. */
    const int64_t count = 8 * 64;
    size_t bytes = 0, biggest = 0;
    for (int64_t i = 0; i < count; i++)
        biggest = backlog_size(i) > biggest ? backlog_size(i) : biggest;
    unsigned char *m = malloc(biggest);
    assert_non_null(m);
    for (int64_t i = 0; i < count; i++) {
        size_t n = backlog_size(i);
        for (size_t k = 0; k < n; k++)
            m[k] = backlog_byte(i, k);
        assert_int_equal(mproc_queue_put(q, m, n, 0), MPROC_OK);
        bytes += n;
    }
    free(m);
    assert_true(bytes > 4 * MPROC_QUEUE_DEFAULT_RING_BYTES);
    size_t qs;
    assert_int_equal(mproc_queue_qsize(q, &qs), MPROC_OK);
    assert_int_equal(qs, (size_t)count);
#ifdef __linux__
    long long held = ring_memory();
    assert_true(held >= (long long)bytes);
#endif
    /* A child reads it all back, in order and intact. */
    mproc_args_t *args = queue_args(q, count, 0);
    mproc_process_t *p = test_start(t_check_backlog, args);
    mproc_args_free(args);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    assert_int_equal(mproc_queue_empty(q), 1);
#ifdef __linux__
    /* Read memory was given back: what stays is about the ring. */
    held = ring_memory();
    assert_true(held < (long long)(MPROC_QUEUE_DEFAULT_RING_BYTES + 4 * 1024 * 1024));
#endif
    /* The queue goes on working after the backlog. */
    assert_int_equal(mproc_queue_put(q, "tail", 4, 0), MPROC_OK);
    char buf[8];
    size_t n;
    assert_int_equal(mproc_queue_get_into(q, 5, buf, sizeof buf, &n), MPROC_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "tail", 4);
    mproc_queue_free(q);
}

/* Consumers that keep up: messages of every size cross the ring's warm and hot
 * boundaries and come back intact, and (Linux) the ring's memory stays about
 * the warm part, not the whole hot ring. */
static void a_queue_kept_up_with_stays_warm(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    const size_t biggest = (size_t)2 << 20; /* above every backlog_size() used here */
    unsigned char *m = malloc(biggest), *back = malloc(biggest);
    assert_non_null(m);
    assert_non_null(back);
    size_t moved = 0;
    /* Three hot rings' worth, each message read before the next is put. */
    for (int64_t i = 0; moved < 3 * (size_t)MPROC_QUEUE_DEFAULT_RING_BYTES; i++) {
        size_t n = backlog_size(i), got = 0;
        for (size_t k = 0; k < n; k++)
            m[k] = backlog_byte(i, k);
        assert_int_equal(mproc_queue_put(q, m, n, 0), MPROC_OK);
        assert_int_equal(mproc_queue_get_into(q, 0, back, biggest, &got), MPROC_OK);
        assert_int_equal(got, n);
        assert_memory_equal(back, m, n);
        moved += n;
    }
#ifdef __linux__
    assert_true(ring_memory() < (long long)(6 * 1024 * 1024));
#endif
    free(m);
    free(back);
    mproc_queue_free(q);
}

/* Put and get `count` messages of `size` bytes in turn, checking each. */
static void put_get_in_turns(mproc_queue_t *q, size_t size, int count)
{
    unsigned char *m = malloc(size), *back = malloc(size);
    assert_non_null(m);
    assert_non_null(back);
    for (int i = 0; i < count; i++) {
        size_t got = 0;
        memset(m, i + 1, size);
        assert_int_equal(mproc_queue_put(q, m, size, 5), MPROC_OK);
        assert_int_equal(mproc_queue_get_into(q, 5, back, size, &got), MPROC_OK);
        assert_int_equal(got, size);
        assert_memory_equal(back, m, size);
    }
    free(m);
    free(back);
}

/* A message numbered `i`: its number, then bytes derived from it. */
static void numbered_fill(unsigned char *m, size_t len, int i)
{
    for (size_t k = 0; k < len; k++)
        m[k] = (unsigned char)(i * 31 + (int)k * 7);
    memcpy(m, &i, sizeof i);
}

/* args: queue, count, size. Puts `count` numbered messages of `size` bytes. */
static int t_put_numbered(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t count = 0, size = 0;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &count) ||
        mproc_args_get_int(args, 2, &size))
        return 100;
    unsigned char *m = malloc((size_t)size);
    mproc_status_t st = MPROC_OK;
    for (int i = 0; m && i < count && !st; i++) {
        numbered_fill(m, (size_t)size, i);
        st = mproc_queue_put(q, m, (size_t)size, MPROC_FOREVER);
    }
    free(m);
    mproc_queue_free(q);
    return !m ? 102 : st ? 101 : 0;
}
MPROC_TARGET(t_put_numbered)

/* A put that waits for room in a full ring (unbounded: for bytes, not a
 * count) is woken by the one get that frees its room, also after sleeping
 * long enough to wait for nothing else (a producer is woken only once the
 * head reaches where its room begins; the first 0.1 s of a sleep are slices
 * that would hide a wake-up never sent). Each message arrives whole, in order. */
static void a_put_waiting_for_room_is_woken_by_the_get_that_frees_it(void **state)
{
    (void)state;
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = o.limit_bytes = 64 * 1024; /* a plain ring: room runs out */
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    enum { SIZE = 4000, COUNT = 40, FULL = 15 }; /* about 16 frames fill the ring */
    mproc_args_t *a = queue_args(q, COUNT, SIZE);
    mproc_process_t *p = test_start(t_put_numbered, a);
    mproc_args_free(a);
    size_t queued = 0;
    double until = test_now() + 30;
    while (queued < FULL && test_now() < until && mproc_queue_qsize(q, &queued) == MPROC_OK)
        test_sleep(0.01);
    assert_true(queued >= FULL);
    int64_t pid = 0;
    assert_int_equal(mproc_process_pid(p, &pid), MPROC_OK);
    assert_true(test_wait_asleep(pid, 30)); /* in the put after the ring filled */
    test_sleep(0.3); /* past the sleep's slices: from now only a wake-up ends it */
    size_t full = 0, now = 0;
    assert_int_equal(mproc_queue_qsize(q, &full), MPROC_OK);
    unsigned char m[SIZE], want[SIZE];
    size_t n = 0;
    assert_int_equal(mproc_queue_get_into(q, 0, m, SIZE, &n), MPROC_OK);
    until = test_now() + 10; /* the put's room is there: it goes on */
    while (now < full && test_now() < until && mproc_queue_qsize(q, &now) == MPROC_OK)
        test_sleep(0.01);
    assert_int_equal(now, full);
    numbered_fill(want, SIZE, 0);
    assert_memory_equal(m, want, SIZE);
    for (int i = 1; i < COUNT; i++) {
        assert_int_equal(mproc_queue_get_into(q, 30, m, SIZE, &n), MPROC_OK);
        assert_int_equal(n, SIZE);
        numbered_fill(want, SIZE, i);
        assert_memory_equal(m, want, SIZE);
    }
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_queue_free(q);
}

/* In the warm part (below the hot ring's end, where no block is given back)
 * a producer writes up to the consumer's head itself, with no block of slack
 * (docs/design.md): after the wrap it fills the lap right up to the unread
 * messages, then jumps past them; each one arrives whole, in order, once. */
static void a_producer_fills_the_warm_part_up_to_the_head_and_overwrites_nothing(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    enum { SIZE = 4000, FIRST = 1046, READ = 300, MORE = 600 }; /* FIRST: short of 4 MiB */
    unsigned char m[SIZE], want[SIZE];
    for (int i = 0; i < FIRST + MORE; i++) {
        numbered_fill(m, SIZE, i);
        assert_int_equal(mproc_queue_put_nowait(q, m, SIZE), MPROC_OK);
        for (int k = 0; i == FIRST - 1 && k < READ; k++) { /* the head moves past 1 MiB */
            size_t n;
            assert_int_equal(mproc_queue_get_into(q, 0, want, SIZE, &n), MPROC_OK);
            numbered_fill(m, SIZE, k);
            assert_memory_equal(want, m, SIZE);
        }
    }
    for (int i = READ; i < FIRST + MORE; i++) {
        size_t n;
        assert_int_equal(mproc_queue_get_into(q, 0, m, SIZE, &n), MPROC_OK);
        assert_int_equal(n, SIZE);
        numbered_fill(want, SIZE, i);
        assert_memory_equal(m, want, SIZE);
    }
    size_t n;
    assert_int_equal(mproc_queue_get_into(q, 0, m, SIZE, &n), MPROC_EEMPTY);
    mproc_queue_free(q);
}

/* Messages whose laps run past the hot ring keep the cold memory those laps
 * use from one lap to the next (Linux: the ring holds it after all is read),
 * rather than giving it back and faulting it in again every lap; once
 * traffic is small again, that memory goes back. */
static void steady_large_messages_keep_their_laps_memory_until_traffic_shrinks(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    const size_t big = (size_t)12 << 20; /* two do not fit the 16 MiB hot ring */
    put_get_in_turns(q, big, 8);
#ifdef __linux__
    assert_true(ring_memory() >= (long long)(22 << 20));
#endif
    put_get_in_turns(q, 64 * 1024, 3 * 16 * 16); /* three hot rings' worth */
#ifdef __linux__
    assert_true(ring_memory() < (long long)(MPROC_QUEUE_DEFAULT_RING_BYTES + 4 * 1024 * 1024));
#endif
    mproc_queue_free(q);
}

/* A consumer that kept up (so that producers went back to the ring's
 * beginning while it still had messages to read) and then stops: an unbounded
 * put still never waits, and every message comes back in order. Where the
 * consumer stops moves through the ring's first laps. */
static void unbounded_put_does_not_wait_after_readers_stop(void **state)
{
    (void)state;
    const size_t biggest = (size_t)2 << 20; /* above every backlog_size() used here */
    unsigned char *m = malloc(biggest), *back = malloc(biggest);
    assert_non_null(m);
    assert_non_null(back);
    for (size_t stop = 0; stop < ((size_t)9 << 20); stop += (size_t)3 << 18) {
        mproc_queue_t *q;
        assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
        size_t n, got, moved = 0;
        int64_t i = 0, first = 0;
        for (; moved < stop; i++) {
            n = backlog_size(i);
            for (size_t k = 0; k < n; k++)
                m[k] = backlog_byte(i, k);
            assert_int_equal(mproc_queue_put(q, m, n, 0), MPROC_OK);
            moved += n;
            /* Keep one message unread, so the reader is behind when it stops. */
            if (i > first) {
                assert_int_equal(mproc_queue_get_into(q, 0, back, biggest, &got), MPROC_OK);
                assert_int_equal(check_backlog_message(q, first, back, got), 0);
                first++;
            }
        }
        /* Nobody reads now: 24 MiB more, and no put may wait. */
        for (moved = 0; moved < ((size_t)24 << 20); i++) {
            n = backlog_size(i);
            for (size_t k = 0; k < n; k++)
                m[k] = backlog_byte(i, k);
            assert_int_equal(mproc_queue_put(q, m, n, 0), MPROC_OK);
            moved += n;
        }
        for (; first < i; first++) {
            assert_int_equal(mproc_queue_get_into(q, 0, back, biggest, &got), MPROC_OK);
            assert_int_equal(check_backlog_message(q, first, back, got), 0);
        }
        assert_int_equal(mproc_queue_get_into(q, 0, back, biggest, &got), MPROC_EEMPTY);
        mproc_queue_free(q);
    }
    free(m);
    free(back);
}

static void bounded_queue_waits_on_count_not_bytes(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 3), MPROC_OK);
    /* Three 8 MiB messages: more bytes than the ring, fewer than maxsize. */
    const size_t size = 8 * 1024 * 1024;
    unsigned char *m = malloc(size);
    assert_non_null(m);
    for (int i = 0; i < 3; i++) {
        memset(m, 'a' + i, size);
        assert_int_equal(mproc_queue_put(q, m, size, 0), MPROC_OK);
    }
    assert_int_equal(mproc_queue_full(q), 1);
    assert_int_equal(mproc_queue_put(q, m, 1, 0.05), MPROC_EFULL);
    for (int i = 0; i < 3; i++) {
        size_t n;
        assert_int_equal(mproc_queue_get_into(q, 5, m, size, &n), MPROC_OK);
        assert_int_equal(n, size);
        assert_int_equal(m[0], 'a' + i);
        assert_int_equal(m[size - 1], 'a' + i);
    }
    free(m);
    mproc_queue_free(q);
}

static void data_put_by_an_exiting_child_is_not_lost(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    mproc_args_t *args = queue_args(q, 7, 5000);
    mproc_process_t *p = test_start(t_produce, args);
    mproc_args_free(args);
    /* Join before getting: CPython can deadlock here; the data is already shared. */
    assert_int_equal(test_join(p), 0);
    size_t n = 0;
    assert_int_equal(mproc_queue_qsize(q, &n), MPROC_OK);
    assert_int_equal(n, 5000);
    for (int64_t i = 0; i < 5000; i++) {
        item_t it;
        assert_int_equal(mproc_queue_get_into(q, 5, &it, sizeof it, &n), MPROC_OK);
        assert_int_equal(it.producer, 7);
        assert_int_equal(it.seq, i);
    }
    mproc_process_free(p);
    mproc_queue_free(q);
}

static void many_producers_many_consumers_exactly_once(void **state)
{
    (void)state;
    enum { PRODUCERS = 3, CONSUMERS = 2, EACH = 4000 };
    mproc_queue_t *q, *results;
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.maxsize = 64; /* producers block and wake many times */
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    assert_int_equal(mproc_queue_create(&results, 0), MPROC_OK);
    mproc_process_t *prod[PRODUCERS], *cons[CONSUMERS];
    for (int i = 0; i < PRODUCERS; i++) {
        mproc_args_t *a = queue_args(q, i, EACH);
        prod[i] = test_start(t_produce, a);
        mproc_args_free(a);
    }
    for (int i = 0; i < CONSUMERS; i++) {
        mproc_args_t *a;
        assert_int_equal(mproc_args_create(&a), MPROC_OK);
        assert_int_equal(mproc_args_pack(a, "qq", q, results), MPROC_OK);
        cons[i] = test_start(t_consume, a);
        mproc_args_free(a);
    }
    static int64_t seen[PRODUCERS][EACH];
    memset(seen, 0, sizeof seen);
    for (int64_t k = 0; k < (int64_t)PRODUCERS * EACH; k++) {
        item_t it;
        size_t n;
        assert_int_equal(mproc_queue_get_into(results, 60, &it, sizeof it, &n), MPROC_OK);
        assert_true(it.producer >= 0 && it.producer < PRODUCERS);
        assert_true(it.seq >= 0 && it.seq < EACH);
        seen[it.producer][it.seq]++;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        assert_int_equal(test_join(prod[i]), 0);
        mproc_process_free(prod[i]);
        for (int k = 0; k < EACH; k++)
            assert_int_equal(seen[i][k], 1); /* every message exactly once */
    }
    for (int i = 0; i < CONSUMERS; i++)
        assert_int_equal(mproc_queue_put(q, NULL, 0, 5), MPROC_OK); /* stop */
    for (int i = 0; i < CONSUMERS; i++) {
        assert_int_equal(test_join(cons[i]), 0);
        mproc_process_free(cons[i]);
    }
    mproc_queue_free(q);
    mproc_queue_free(results);
}

/* args: queue, results queue, producers, items per producer, count. Gets
 * `count` items, each producer's in order and none twice, and puts on the
 * results queue a bitmap of the (producer, seq) it got. */
static int t_take_marks(const mproc_args_t *args)
{
    mproc_queue_t *q, *out;
    int64_t producers = 0, each = 0, count = 0;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_queue(args, 1, &out) ||
        mproc_args_get_int(args, 2, &producers) || mproc_args_get_int(args, 3, &each) ||
        mproc_args_get_int(args, 4, &count))
        return 100;
    size_t bytes = (size_t)(producers * each + 7) / 8;
    unsigned char *got = calloc(1, bytes);
    int64_t *next = calloc((size_t)producers, sizeof *next);
    int rc = got && next ? 0 : 104;
    for (int64_t k = 0; k < count && !rc; k++) {
        item_t it;
        size_t n;
        if (mproc_queue_get_into(q, 20, &it, sizeof it, &n) || n != sizeof it)
            rc = 101;
        else if (it.producer < 0 || it.producer >= producers || it.seq < next[it.producer] ||
                 it.seq >= each)
            rc = 103; /* garbage, twice, or out of its producer's order */
        else {
            next[it.producer] = it.seq + 1;
            int64_t bit = it.producer * each + it.seq;
            got[bit / 8] |= (unsigned char)(1u << (bit % 8));
        }
    }
    if (!rc && mproc_queue_put(out, got, bytes, MPROC_FOREVER))
        rc = 102;
    free(got);
    free(next);
    mproc_queue_free(q);
    mproc_queue_free(out);
    return rc;
}
MPROC_TARGET(t_take_marks)

/* One round of many_puts_and_gets_in_turns: every message is got exactly once. */
static void puts_and_gets_exactly_once(int producers, int consumers, int64_t each)
{
    mproc_queue_t *q, *results;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    assert_int_equal(mproc_queue_create(&results, 0), MPROC_OK);
    mproc_process_t *prod[8], *cons[8];
    for (int i = 0; i < producers; i++) {
        mproc_args_t *a = queue_args(q, i, each);
        prod[i] = test_start(t_produce, a);
        mproc_args_free(a);
    }
    for (int i = 0; i < consumers; i++) {
        mproc_args_t *a;
        assert_int_equal(mproc_args_create(&a), MPROC_OK);
        assert_int_equal(mproc_args_pack(a, "qqLLL", q, results, (int64_t)producers, each,
                                         producers * each / consumers),
                         MPROC_OK);
        cons[i] = test_start(t_take_marks, a);
        mproc_args_free(a);
    }
    size_t bytes = (size_t)(producers * each + 7) / 8;
    unsigned char *all = calloc(1, bytes);
    assert_non_null(all);
    for (int i = 0; i < consumers; i++) {
        void *d;
        size_t n;
        assert_int_equal(mproc_queue_get(results, 60, &d, &n), MPROC_OK);
        assert_int_equal(n, bytes);
        const unsigned char *got = d;
        for (size_t b = 0; b < bytes; b++) {
            assert_int_equal(all[b] & got[b], 0); /* no message got by two consumers */
            all[b] |= got[b];
        }
        mproc_free(d);
    }
    for (int64_t bit = 0; bit < producers * each; bit++)
        assert_true(all[bit / 8] & (1u << (bit % 8))); /* none lost */
    free(all);
    for (int i = 0; i < consumers; i++) {
        assert_int_equal(test_join(cons[i]), 0);
        mproc_process_free(cons[i]);
    }
    for (int i = 0; i < producers; i++) {
        assert_int_equal(test_join(prod[i]), 0);
        mproc_process_free(prod[i]);
    }
    mproc_queue_free(q);
    mproc_queue_free(results);
}

/* Four producers and four consumers putting and getting as fast as they can,
 * with no bound: each side's lock is kept by one process for runs of puts or
 * gets and taken away by the others, again and again (the hang of
 * docs/performance.md: two processes inside together lost messages). In a
 * few rounds, each message is got exactly once. */
static void many_puts_and_gets_in_turns_exactly_once(void **state)
{
    (void)state;
    for (int round = 0; round < 4; round++)
        puts_and_gets_exactly_once(4, 4, 50000);
}

static void fifo_per_producer(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    mproc_process_t *p[2];
    for (int i = 0; i < 2; i++) {
        mproc_args_t *a = queue_args(q, i, 3000);
        p[i] = test_start(t_produce, a);
        mproc_args_free(a);
    }
    int64_t next[2] = {0, 0};
    for (int k = 0; k < 6000; k++) {
        item_t it;
        size_t n;
        assert_int_equal(mproc_queue_get_into(q, 60, &it, sizeof it, &n), MPROC_OK);
        assert_int_equal(it.seq, next[it.producer]);
        next[it.producer]++;
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(test_join(p[i]), 0);
        mproc_process_free(p[i]);
    }
    mproc_queue_free(q);
}

/* A consumer that first gets `prior` messages (many gets in a row let it keep
 * the consumer lock between them) is killed while it sleeps inside a get:
 * the others put and get on, and the queue still sleeps and wakes. */
static void kill_consumer_in_get(int prior)
{
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    for (int i = 0; i < prior; i++)
        assert_int_equal(mproc_queue_put(q, "m", 1, 5), MPROC_OK);
    mproc_args_t *a = queue_args(q, prior, 0);
    mproc_process_t *victim = test_start(t_block_in_get, a);
    mproc_args_free(a);
    size_t left = (size_t)prior;
    double until = test_now() + 30;
    while (left && test_now() < until && mproc_queue_qsize(q, &left) == MPROC_OK)
        test_sleep(0.01);
    assert_int_equal(left, 0);
    /* Its prior gets are done: the next blocks, holding the consumer lock. */
    int64_t pid = 0;
    assert_int_equal(mproc_process_pid(victim, &pid), MPROC_OK);
    assert_true(test_wait_asleep(pid, 30));
    assert_int_equal(mproc_process_kill(victim), MPROC_OK);
    test_join(victim);
    assert_int_equal(mproc_queue_put(q, "after", 5, 1), MPROC_OK);
    void *d;
    size_t n;
    assert_int_equal(mproc_queue_get(q, 30, &d, &n), MPROC_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "after", 5);
    mproc_free(d);
    assert_int_equal(mproc_queue_get(q, 0.2, &d, &n), MPROC_EEMPTY);
    assert_int_equal(mproc_queue_put(q, "x", 1, 1), MPROC_OK);
    assert_int_equal(mproc_queue_get(q, 5, &d, &n), MPROC_OK);
    mproc_free(d);
    mproc_process_free(victim);
    mproc_queue_free(q);
}

static void consumer_killed_in_get_does_not_block_others(void **state)
{
    (void)state;
    kill_consumer_in_get(0);
}

static void consumer_killed_in_get_after_many_gets_does_not_block_others(void **state)
{
    (void)state;
    kill_consumer_in_get(1000);
}

/* A process that put and got many times in a row (so it keeps both locks
 * between its calls) and then stops using the queue, alive, exited or killed:
 * the others go on, in order, without waiting for it. */
static void locks_kept_by_a_process_that_stopped_using_them_are_taken_over(void **state)
{
    (void)state;
    enum { COUNT = 2000 };
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    for (int round = 0; round < 2; round++) {
        mproc_connection_t *mine, *theirs;
        assert_int_equal(mproc_pipe(1, &mine, &theirs), MPROC_OK);
        mproc_args_t *a = queue_args(q, COUNT, 0);
        assert_int_equal(mproc_args_add_connection(a, theirs), MPROC_OK);
        mproc_process_t *p = test_start(t_use_queue_then_hang, a);
        mproc_args_free(a);
        mproc_connection_free(theirs);
        char buf[8];
        size_t n;
        assert_int_equal(mproc_connection_recv_bytes_into(mine, 60, buf, sizeof buf, &n), MPROC_OK);
        if (round == 1) { /* the first round leaves it alive and idle */
            assert_int_equal(mproc_process_kill(p), MPROC_OK);
            test_join(p);
        }
        double t0 = test_now();
        for (int64_t i = COUNT / 2; i < COUNT; i++) {
            item_t it;
            assert_int_equal(mproc_queue_get_into(q, 5, &it, sizeof it, &n), MPROC_OK);
            assert_int_equal(it.seq, i);
        }
        item_t mine_it = {1, 7};
        assert_int_equal(mproc_queue_put(q, &mine_it, sizeof mine_it, 5), MPROC_OK);
        item_t got;
        assert_int_equal(mproc_queue_get_into(q, 5, &got, sizeof got, &n), MPROC_OK);
        assert_int_equal(got.producer, 1);
        assert_true(test_now() - t0 < 3.0); /* no wait for the holder (a dead one: 0.1 s) */
        if (round == 0) {
            assert_int_equal(mproc_process_kill(p), MPROC_OK);
            test_join(p);
        }
        mproc_process_free(p);
        mproc_connection_free(mine);
    }
    mproc_queue_free(q);
}

typedef struct thread_job {
    mproc_queue_t *q;
    int64_t id, count;
    mproc_status_t st;
} thread_job_t;

static void *APR_THREAD_FUNC put_from_thread(apr_thread_t *t, void *arg)
{
    thread_job_t *job = arg;
    for (int64_t i = 0; i < job->count && !job->st; i++) {
        item_t it = {job->id, i};
        job->st = mproc_queue_put(job->q, &it, sizeof it, 30);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* Threads of one process share a queue object, as Python's threads share a
 * Queue: one that puts many times in a row keeps the lock between its puts,
 * and the others must still get their turns, without overlapping it. */
static void threads_of_one_process_share_a_queue(void **state)
{
    (void)state;
    enum { THREADS = 3, EACH = 20000 };
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    apr_pool_t *mem;
    assert_int_equal(apr_pool_create(&mem, NULL), APR_SUCCESS);
    thread_job_t jobs[THREADS];
    apr_thread_t *threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (thread_job_t){q, i, EACH, MPROC_OK};
        assert_int_equal(apr_thread_create(&threads[i], NULL, put_from_thread, &jobs[i], mem),
                         APR_SUCCESS);
    }
    int64_t next[THREADS] = {0};
    for (int64_t k = 0; k < (int64_t)THREADS * EACH; k++) {
        item_t it;
        size_t n;
        assert_int_equal(mproc_queue_get_into(q, 30, &it, sizeof it, &n), MPROC_OK);
        assert_int_equal(n, sizeof it);
        assert_true(it.producer >= 0 && it.producer < THREADS);
        assert_int_equal(it.seq, next[it.producer]); /* in order, each once */
        next[it.producer]++;
    }
    for (int i = 0; i < THREADS; i++) {
        apr_status_t rv;
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
        assert_int_equal(jobs[i].st, MPROC_OK);
    }
    assert_int_equal(mproc_queue_empty(q), 1);
    apr_pool_destroy(mem);
    mproc_queue_free(q);
}

/* args: queue, results queue. Gets one message, puts its length on results. */
static int t_get_one_report_length(const mproc_args_t *args)
{
    mproc_queue_t *q, *results;
    void *d;
    size_t n;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_queue(args, 1, &results))
        return 100;
    if (mproc_queue_get(q, 120, &d, &n))
        return 101;
    int64_t len = (int64_t)n;
    mproc_free(d);
    return mproc_queue_put(results, &len, sizeof len, 5) ? 102 : 0;
}
MPROC_TARGET(t_get_one_report_length)

static void producer_killed_mid_put_is_dropped_not_stuck(void **state)
{
    (void)state;
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = 64 * 1024;
    o.limit_bytes = 64 * 1024; /* a plain ring: big messages stream through it */
    mproc_queue_t *q, *results;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    assert_int_equal(mproc_queue_create(&results, 0), MPROC_OK);
    /* The producer fills the ring with the start of a 4 MiB message and waits for room. */
    mproc_args_t *a = queue_args(q, 4 * 1024 * 1024, 0);
    mproc_process_t *victim = test_start(t_put_big, a);
    mproc_args_free(a);
    /* Its only wait is for room once the message has filled the ring. */
    int64_t pid = 0;
    assert_int_equal(mproc_process_pid(victim, &pid), MPROC_OK);
    assert_true(test_wait_asleep(pid, 30));
    assert_int_equal(mproc_process_kill(victim), MPROC_OK);
    test_join(victim);
    /* A consumer starts on the half-written message... */
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_pack(a, "qq", q, results), MPROC_OK);
    mproc_process_t *reader = test_start(t_get_one_report_length, a);
    mproc_args_free(a);
    /* ...and the next producer recovers the lock, completes and aborts that frame. */
    assert_int_equal(mproc_queue_put(q, "after", 5, 60), MPROC_OK);
    int64_t len = -1;
    size_t n;
    assert_int_equal(mproc_queue_get_into(results, 60, &len, sizeof len, &n), MPROC_OK);
    assert_int_equal(len, 5); /* the torn message was dropped, the next one delivered */
    assert_int_equal(test_join(reader), 0);
    assert_int_equal(mproc_queue_empty(q), 1);
    mproc_process_free(victim);
    mproc_process_free(reader);
    mproc_queue_free(q);
    mproc_queue_free(results);
}

static void joinable_queue_task_done_and_join(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_joinable_queue_create(&q, 0), MPROC_OK);
    assert_int_equal(mproc_queue_join(q, 0), MPROC_OK); /* nothing outstanding */
    assert_int_equal(mproc_queue_task_done(q), MPROC_ETASKDONE);
    for (int i = 0; i < 10; i++)
        assert_int_equal(mproc_queue_put(q, "job", 3, 1), MPROC_OK);
    assert_int_equal(mproc_queue_join(q, 0.1), MPROC_ETIMEDOUT);
    mproc_args_t *a = queue_args(q, 10, 0);
    mproc_process_t *w = test_start(t_worker, a);
    mproc_args_free(a);
    assert_int_equal(mproc_queue_join(q, 60), MPROC_OK);
    assert_int_equal(test_join(w), 0);
    assert_int_equal(mproc_queue_task_done(q), MPROC_ETASKDONE);
    mproc_process_free(w);
    mproc_queue_free(q);
}

static void simple_queue_basics(void **state)
{
    (void)state;
    mproc_queue_t *q;
    assert_int_equal(mproc_simple_queue_create(&q), MPROC_OK);
    assert_int_equal(mproc_queue_empty(q), 1);
    assert_int_equal(mproc_queue_put(q, "s", 1, MPROC_FOREVER), MPROC_OK);
    assert_int_equal(mproc_queue_empty(q), 0);
    void *d;
    size_t n;
    assert_int_equal(mproc_queue_get(q, MPROC_FOREVER, &d, &n), MPROC_OK);
    mproc_free(d);
    assert_int_equal(mproc_queue_close(q), MPROC_OK);
    mproc_queue_free(q);
}

static void nothing_left_behind_even_after_sigkill(void **state)
{
    (void)state;
    int fds_before[256], fds_after[256];
    size_t nfd_before = test_open_fds(fds_before, 256);
    size_t shm_before = dev_shm_entries();

    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    mproc_args_t *a = queue_args(q, 1, 10);
    mproc_process_t *p = test_start(t_produce, a);
    mproc_args_free(a);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc_queue_free(q);

    /* A creator killed while it holds a queue. */
    mproc_connection_t *mine, *theirs;
    assert_int_equal(mproc_pipe(1, &mine, &theirs), MPROC_OK);
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_connection(a, theirs), MPROC_OK);
    p = test_start(t_create_and_hang, a);
    mproc_args_free(a);
    mproc_connection_free(theirs);
    char buf[8];
    size_t n;
    assert_int_equal(mproc_connection_recv_bytes_into(mine, 60, buf, sizeof buf, &n), MPROC_OK);
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    test_join(p);
    mproc_process_free(p);
    mproc_connection_free(mine);

    assert_int_equal(dev_shm_entries(), shm_before);
    size_t nfd_after = test_open_fds(fds_after, 256);
    assert_int_equal(nfd_after, nfd_before);
    for (size_t i = 0; i < nfd_after; i++)
        assert_int_equal(fds_after[i], fds_before[i]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_in_order_with_sizes),
        cmocka_unit_test(short_messages_of_every_length_arrive_whole),
        cmocka_unit_test(large_messages_arrive_whole_at_every_distance_to_the_buffers),
        cmocka_unit_test(bounded_queue_full_and_empty_with_timeouts),
        cmocka_unit_test(maxsize_above_int64_max_bounds_nothing),
        cmocka_unit_test(bad_input_and_close),
        cmocka_unit_test(messages_larger_than_the_ring_stream_through),
        cmocka_unit_test(a_producer_fills_the_warm_part_up_to_the_head_and_overwrites_nothing),
        cmocka_unit_test(a_put_waiting_for_room_is_woken_by_the_get_that_frees_it),
        cmocka_unit_test(a_message_above_256_mib_goes_through),
        cmocka_unit_test(a_message_above_a_sparse_ring_streams_through),
        cmocka_unit_test(a_message_above_4_gib_goes_through),
        cmocka_unit_test(unbounded_put_does_not_wait_for_readers),
        cmocka_unit_test(a_queue_kept_up_with_stays_warm),
        cmocka_unit_test(steady_large_messages_keep_their_laps_memory_until_traffic_shrinks),
        cmocka_unit_test(unbounded_put_does_not_wait_after_readers_stop),
        cmocka_unit_test(bounded_queue_waits_on_count_not_bytes),
        cmocka_unit_test(data_put_by_an_exiting_child_is_not_lost),
        cmocka_unit_test(many_producers_many_consumers_exactly_once),
        cmocka_unit_test(many_puts_and_gets_in_turns_exactly_once),
        cmocka_unit_test(fifo_per_producer),
        cmocka_unit_test(consumer_killed_in_get_does_not_block_others),
        cmocka_unit_test(consumer_killed_in_get_after_many_gets_does_not_block_others),
        cmocka_unit_test(locks_kept_by_a_process_that_stopped_using_them_are_taken_over),
        cmocka_unit_test(threads_of_one_process_share_a_queue),
        cmocka_unit_test(producer_killed_mid_put_is_dropped_not_stuck),
        cmocka_unit_test(joinable_queue_task_done_and_join),
        cmocka_unit_test(simple_queue_basics),
        cmocka_unit_test(nothing_left_behind_even_after_sigkill),
    };
    return test_main(argc, argv, "queue", tests, ARRAY_LEN(tests));
}
