/* queue_64B, queue_64KiB, queue_1MiB: one producer puts N messages on a
 * Queue, this process gets them; the rate is taken from the median of window
 * means of the gets (bench_median_window), as the raw ring's. queue_4x4_64B:
 * 4 producers, 4 consumer processes, rate from before the first producer
 * starts to the last consumer joined. The sweeps: queue_size (bytes/s of one
 * producer to this process, message size as parameter) and queue_pc (64-byte
 * messages/s, producers and consumer processes as parameters). With one
 * producer and this process consuming, both pin themselves as the raw ring
 * does (bench_pin). */
#include <mproc/mproc.h>
#include <stdlib.h>

#include "../bench.h"
#include "children.h"

static void check(const char *what, mproc_status_t st)
{
    if (st)
        bench_fail(what, mproc_strerror(st));
}

/* args: queue, message size, count, pin (non-zero: bench_pin(1)) */
static int produce(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t size, count, pin;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &size) ||
        mproc_args_get_int(args, 2, &count) || mproc_args_get_int(args, 3, &pin))
        return 1;
    if (pin)
        bench_pin(1);
    unsigned char *msg = calloc(1, (size_t)size);
    for (int64_t i = 0; i < count; i++)
        if (mproc_queue_put(q, msg, (size_t)size, MPROC_FOREVER))
            return 2;
    free(msg);
    mproc_queue_free(q);
    return 0;
}
MPROC_TARGET(produce)

static int consume_n(mproc_queue_t *q, int64_t size, int64_t count)
{
    unsigned char *buf = malloc((size_t)size);
    size_t n;
    for (int64_t i = 0; i < count; i++)
        if (mproc_queue_get_into(q, MPROC_FOREVER, buf, (size_t)size, &n))
            return 2;
    free(buf);
    return 0;
}

/* args: queue, message size, count */
static int consume(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t size, count;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &size) ||
        mproc_args_get_int(args, 2, &count))
        return 1;
    int rc = consume_n(q, size, count);
    mproc_queue_free(q);
    return rc;
}
MPROC_TARGET(consume)

static mproc_process_t *start(mproc_target_fn fn, mproc_queue_t *q, int64_t size, int64_t count,
                              int64_t pin)
{
    mproc_args_t *a;
    mproc_process_t *p;
    check("args", mproc_args_create(&a));
    check("add_queue", mproc_args_add_queue(a, q));
    check("add_int", mproc_args_add_int(a, size));
    check("add_int", mproc_args_add_int(a, count));
    check("add_int", mproc_args_add_int(a, pin));
    check("create", mproc_process_create(&p, fn, a, NULL));
    check("start", mproc_process_start(p));
    mproc_args_free(a);
    return p;
}

typedef struct getter {
    mproc_queue_t *q;
    unsigned char *buf;
    size_t size;
} getter_t;

static void get_one(void *ctx)
{
    getter_t *g = ctx;
    size_t n;
    check("get_into", mproc_queue_get_into(g->q, MPROC_FOREVER, g->buf, g->size, &n));
}

/* Seconds per message moving `total` messages of `size` bytes with p
 * producers and c consumers. c == 0: this process consumes, and the figure is
 * the median of window means of its gets (bench_median_window), as the raw
 * ring's; else the time from before the first start to the last consumer
 * joined, over total. */
static double run(int64_t size, long total, int producers, int consumers)
{
    mproc_queue_t *q;
    mproc_process_t *prod[8], *cons[8];
    int pin = producers == 1 && consumers == 0;
    if (producers < 1 || producers > 8 || consumers < 0 || consumers > 8)
        bench_fail("queue", "1 to 8 producers, 0 to 8 consumers");
    check("queue_create", mproc_queue_create(&q, 0));
    if (pin)
        bench_pin(0);
    double t0 = bench_now();
    for (int i = 0; i < producers; i++)
        prod[i] = start(produce, q, size, total / producers, pin);
    for (int i = 0; i < consumers; i++)
        cons[i] = start(consume, q, size, total / consumers, 0);
    double per = 0;
    if (!consumers) {
        getter_t g = {q, malloc((size_t)size), (size_t)size};
        per = bench_median_window(total, get_one, &g);
        free(g.buf);
    }
    for (int i = 0; i < consumers; i++)
        bench_join_ok(cons[i]);
    if (consumers)
        per = (bench_now() - t0) / (double)total;
    for (int i = 0; i < producers; i++)
        bench_join_ok(prod[i]);
    mproc_queue_free(q);
    return per;
}

static double queue_64B(long n)
{
    return 1.0 / run(64, n, 1, 0);
}
BENCH_FIGURE("queue_64B", "msg/s", queue_64B)

static double queue_64KiB(long n)
{
    return 1.0 / run(64 * 1024, n, 1, 0);
}
BENCH_FIGURE("queue_64KiB", "msg/s", queue_64KiB)

static double queue_1MiB(long n)
{
    return 1024.0 * 1024 / run(1024 * 1024, n, 1, 0);
}
BENCH_FIGURE("queue_1MiB", "B/s", queue_1MiB)

static double queue_4x4_64B(long n)
{
    n -= n % 4;
    return 1.0 / run(64, n, 4, 4);
}
BENCH_FIGURE("queue_4x4_64B", "msg/s", queue_4x4_64B)

/* The size sweep: bytes/s for messages of bench_param(0) bytes. */
static double queue_size(long n)
{
    int64_t size = bench_param(0, 64);
    return (double)size / run(size, n, 1, 0);
}
BENCH_FIGURE("queue_size", "B/s", queue_size)

/* The sweep: bench_param(0) producers, bench_param(1) consumer processes. */
static double queue_pc(long n)
{
    int np = (int)bench_param(0, 1), nc = (int)bench_param(1, 1);
    if (np < 1 || nc < 1)
        bench_fail("queue_pc", "at least 1 producer and 1 consumer");
    n -= n % (np * nc);
    return 1.0 / run(64, n, np, nc);
}
BENCH_FIGURE("queue_pc", "msg/s", queue_pc)
