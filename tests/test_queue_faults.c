/*
 * Queues under faults: a party killed at each named step (src/fault.h), full
 * or limited memory, peers that die or stall in the middle of a message. The
 * survivors go on; nothing is duplicated or invented; at most the victim's own
 * claimed message is lost; counts stay right; timed calls keep their deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "support/test_support.h"

#define KIB 1024
#define MIB (1024 * 1024)

#ifdef MPROC_FAULT_INJECTION
#define SKIP_WITHOUT_KILL_POINTS() ((void)0)
#else
#define SKIP_WITHOUT_KILL_POINTS()                                                                 \
    do {                                                                                           \
        printf("skipped: built without MPROC_FAULT_INJECTION\n");                                  \
        skip();                                                                                    \
    } while (0)
#endif

/* Arm this process to die at `point` the nth time it passes it. */
static void arm(const char *point, int64_t nth)
{
#ifdef MPROC_FAULT_INJECTION
    mproc__fault_arm(point, (long)nth);
#else
    (void)point;
    (void)nth;
#endif
}

static mproc_args_t *victim_args(mproc_queue_t *q, const char *point, int64_t nth)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_queue(a, q), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, point), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, nth), MPROC_OK);
    return a;
}

/* args: queue, point, nth. Armed, gets until it dies (exit 50 if it does not). */
static int t_get_until_killed(const mproc_args_t *args)
{
    mproc_queue_t *q;
    const char *point;
    int64_t nth;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_str(args, 1, &point) ||
        mproc_args_get_int(args, 2, &nth))
        return 100;
    arm(point, nth);
    for (;;) {
        void *d;
        size_t n;
        if (mproc_queue_get(q, 30, &d, &n))
            return 50;
        mproc_free(d);
    }
}
MPROC_TARGET(t_get_until_killed)

static void run_victim(mproc_target_fn target, mproc_queue_t *q, const char *point, int64_t nth)
{
    mproc_args_t *a = victim_args(q, point, nth);
    mproc_process_t *p = test_start(target, a);
    mproc_args_free(a);
    int64_t code = test_join(p);
    mproc_process_free(p);
    assert_true(code != 50 && code != 100); /* it died at the point */
}

static void put_n(mproc_queue_t *q, int from, int count, size_t size)
{
    unsigned char *m = calloc(1, size);
    assert_non_null(m);
    for (int i = from; i < from + count; i++) {
        memcpy(m, &i, sizeof i);
        assert_int_equal(mproc_queue_put(q, m, size, 5), MPROC_OK);
    }
    free(m);
}

/* Gets exactly messages from..from+count-1 (of `size` bytes), then nothing. */
static void expect_n(mproc_queue_t *q, int from, int count, size_t size)
{
    for (int i = from; i < from + count; i++) {
        void *d;
        size_t n;
        assert_int_equal(mproc_queue_get(q, 5, &d, &n), MPROC_OK);
        assert_int_equal(n, size);
        int got;
        memcpy(&got, d, sizeof got);
        assert_int_equal(got, i);
        mproc_free(d);
    }
    void *d;
    size_t n, left = 99;
    assert_int_equal(mproc_queue_get(q, 0.2, &d, &n), MPROC_EEMPTY);
    assert_int_equal(mproc_queue_qsize(q, &left), MPROC_OK);
    assert_int_equal(left, 0);
}

/* Finding 1: a consumer dies after giving back the cold block that holds a
 * wrap mark and before publishing the head that passes it. The next consumer
 * must not read the zeroed mark as messages. */
static void consumer_killed_after_giving_back_a_mark_invents_nothing(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = 64 * KIB; /* a small hot part: marks fall in blocks given back */
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    /* Unread, frames run on into the cold part, up to just short of 2 MiB... */
    const size_t size = 4000;
    const int before = (int)(2 * MIB / (size + 8)); /* the next one would cross 2 MiB */
    put_n(q, 0, before, size);
    expect_n(q, 0, before, size);
    /* ...then, all read, the next frame crosses the block end and wraps early:
     * the wrap mark sits in the cold block [1 MiB, 2 MiB). */
    put_n(q, before, 5, size);
    run_victim(t_get_until_killed, q, "queue.get.after_give_back", 1);
    expect_n(q, before, 5, size);
    put_n(q, 1000, 3, 10);
    expect_n(q, 1000, 3, 10);
    mproc_queue_free(q);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consumer_killed_after_giving_back_a_mark_invents_nothing),
    };
    return test_main(argc, argv, "queue_faults", tests, ARRAY_LEN(tests));
}
