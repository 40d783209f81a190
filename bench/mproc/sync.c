/* The synchronization figures (sync.h, shared.h):
 *   lock_pair: an uncontended Lock acquire + release, seconds per pair;
 *   event_pingpong: two processes take turns through two Events, seconds per
 *     round trip;
 *   value_incr: two processes add 1 to a Value('q') under its lock,
 *     increments per second in all. */
#include <mproc/mproc.h>

#include "../bench.h"
#include "children.h"

static void check(const char *what, mproc_status_t st)
{
    if (st)
        bench_fail(what, mproc_strerror(st));
}

static void lock_step(void *ctx)
{
    check("acquire", mproc_lock_acquire(ctx, 1, MPROC_FOREVER));
    check("release", mproc_lock_release(ctx));
}

static double lock_pair(long iterations)
{
    mproc_lock_t *l;
    check("mproc_lock_create", mproc_lock_create(&l));
    double t = bench_median_window(iterations, lock_step, l);
    mproc_lock_free(l);
    return t;
}
BENCH_FIGURE("lock_pair", "s", lock_pair)

typedef struct pingpong {
    mproc_event_t *ping, *pong;
} pingpong_t;

/* args: ping, pong, rounds. Answers each ping with a pong. */
static int ponger(const mproc_args_t *args)
{
    pingpong_t pp;
    int64_t rounds;
    if (mproc_args_get_event(args, 0, &pp.ping) || mproc_args_get_event(args, 1, &pp.pong) ||
        mproc_args_get_int(args, 2, &rounds))
        return 1;
    for (int64_t i = 0; i < rounds; i++) {
        if (mproc_event_wait(pp.ping, MPROC_FOREVER))
            return 1;
        mproc_event_clear(pp.ping);
        mproc_event_set(pp.pong);
    }
    mproc_event_free(pp.ping);
    mproc_event_free(pp.pong);
    return 0;
}
MPROC_TARGET(ponger)

static void ping_step(void *ctx)
{
    pingpong_t *pp = ctx;
    check("set", mproc_event_set(pp->ping));
    check("wait", mproc_event_wait(pp->pong, MPROC_FOREVER));
    check("clear", mproc_event_clear(pp->pong));
}

static mproc_process_t *start(mproc_target_fn fn, mproc_args_t *args)
{
    mproc_process_t *p;
    check("mproc_process_create", mproc_process_create(&p, fn, args, NULL));
    check("mproc_process_start", mproc_process_start(p));
    mproc_args_free(args);
    return p;
}

static double event_pingpong(long iterations)
{
    pingpong_t pp;
    mproc_args_t *args;
    check("mproc_event_create", mproc_event_create(&pp.ping));
    check("mproc_event_create", mproc_event_create(&pp.pong));
    check("mproc_args_create", mproc_args_create(&args));
    check("add", mproc_args_add_event(args, pp.ping));
    check("add", mproc_args_add_event(args, pp.pong));
    check("add", mproc_args_add_int(args, iterations));
    mproc_process_t *p = start(ponger, args);
    double rtt = bench_median_window(iterations, ping_step, &pp);
    bench_join_ok(p);
    mproc_event_free(pp.ping);
    mproc_event_free(pp.pong);
    return rtt;
}
BENCH_FIGURE("event_pingpong", "s", event_pingpong)

/* args: value, count. Adds 1 `count` times under the value's lock. */
static int incrementer(const mproc_args_t *args)
{
    mproc_value_t *v;
    int64_t count;
    if (mproc_args_get_value(args, 0, &v) || mproc_args_get_int(args, 1, &count))
        return 1;
    long long *n = mproc_value_ptr(v);
    mproc_lock_t *l = mproc_value_get_lock(v);
    for (int64_t i = 0; i < count; i++) {
        if (mproc_lock_acquire(l, 1, MPROC_FOREVER))
            return 1;
        ++*n;
        mproc_lock_release(l);
    }
    mproc_value_free(v);
    return 0;
}
MPROC_TARGET(incrementer)

static double value_incr(long iterations)
{
    mproc_value_t *v;
    mproc_process_t *p[2];
    check("mproc_value_create", mproc_value_create(&v, 'q', 1));
    double t0 = bench_now();
    for (int i = 0; i < 2; i++) {
        mproc_args_t *args;
        check("mproc_args_create", mproc_args_create(&args));
        check("add", mproc_args_add_value(args, v));
        check("add", mproc_args_add_int(args, iterations / 2));
        p[i] = start(incrementer, args);
    }
    for (int i = 0; i < 2; i++)
        bench_join_ok(p[i]);
    double t = bench_now() - t0;
    if (*(long long *)mproc_value_ptr(v) != iterations / 2 * 2)
        bench_fail("value_incr", "lost increments");
    mproc_value_free(v);
    return (double)(iterations / 2 * 2) / t;
}
BENCH_FIGURE("value_incr", "incr/s", value_incr)
