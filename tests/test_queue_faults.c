/*
 * Queues under faults: a party killed at each named step (src/fault.h), full
 * or limited memory, peers that die or stall in the middle of a message. The
 * survivors go on; nothing is duplicated or invented; at most the victim's own
 * claimed message is lost; counts stay right; timed calls keep their deadline.
 */
#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>
#endif
#if !defined(_WIN32)
#include <sys/resource.h>
#endif

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

/* In a child under `ulimit -f` (RLIMIT_FSIZE): creating a queue must not die
 * of SIGXFSZ; it falls back to a smaller ring or fails with a status. Exit
 * codes: 0 as expected, 1-5 which step went wrong. */
static int t_queues_under_file_size_limit(const mproc_args_t *args)
{
    (void)args;
#if defined(_WIN32)
    return 0;
#else
    struct rlimit rl = {100 * MIB, 100 * MIB}; /* below the 16 GiB reservation */
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 1;
    mproc_queue_t *q;
    if (mproc_queue_create(&q, 0) != MPROC_OK) /* a plain ring of the default size */
        return 2;
    void *d;
    size_t n;
    if (mproc_queue_put(q, "fits", 4, 1) || mproc_queue_get(q, 1, &d, &n) || n != 4)
        return 3;
    mproc_free(d);
    mproc_queue_free(q);
    rl.rlim_cur = rl.rlim_max = 1 * MIB; /* below even the default plain ring */
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 1;
    if (mproc_queue_create(&q, 0) != MPROC_ENOMEM)
        return 4;
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = o.limit_bytes = 64 * KIB;
    if (mproc_queue_create_opts(&q, &o) != MPROC_OK)
        return 5;
    mproc_queue_free(q);
    return 0;
#endif
}
MPROC_TARGET(t_queues_under_file_size_limit)

static void file_size_limit_gives_a_smaller_ring_or_a_status_not_a_signal(void **state)
{
    (void)state;
    mproc_process_t *p = test_start(t_queues_under_file_size_limit, NULL);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
}

/* A child in a mount namespace of its own with a /dev/shm of 3 MiB, using
 * the shm_open path (as where memfd_create is missing): the full store must
 * be MPROC_ENOMEM, not SIGBUS, and the queue usable afterwards. Exit codes:
 * 0 as expected, 77 skipped (printed why), others the step that failed. */
static int t_queue_on_a_tiny_dev_shm(const mproc_args_t *args)
{
    (void)args;
#if defined(__linux__) && defined(MPROC_FAULT_INJECTION)
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=3m") != 0)
        return 77;
    setenv("MPROC_FAULT_NO_MEMFD", "1", 1);
    mproc_queue_t *q;
    mproc_status_t st = mproc_queue_create(&q, 0);
    if (st != MPROC_ENOMEM) /* 16 MiB of hot ring cannot be had */
        return st ? 10 - st : 1;
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = 64 * KIB; /* 1 MiB kept, cold blocks reserved as written */
    if (mproc_queue_create_opts(&q, &o) != MPROC_OK)
        return 2;
    static unsigned char big[256 * KIB];
    int put = 0;
    while ((st = mproc_queue_put(q, big, sizeof big, 1)) == MPROC_OK && put < 100)
        put++;
    if (st != MPROC_ENOMEM || put < 4)
        return 3;
    for (int i = 0; i < put; i++) {
        void *d;
        size_t n;
        if (mproc_queue_get(q, 1, &d, &n) || n != sizeof big)
            return 4;
        mproc_free(d);
    }
    for (int i = 0; i < 20; i++) { /* consumed blocks were given back: room again */
        void *d;
        size_t n;
        if (mproc_queue_put(q, big, sizeof big, 1) || mproc_queue_get(q, 1, &d, &n))
            return 5;
        mproc_free(d);
    }
    mproc_queue_free(q);
    o.ring_bytes = o.limit_bytes = 4 * MIB; /* a plain ring larger than the store */
    if (mproc_queue_create_opts(&q, &o) != MPROC_ENOMEM)
        return 6;
    return 0;
#else
    return 77;
#endif
}
MPROC_TARGET(t_queue_on_a_tiny_dev_shm)

static void full_shared_memory_store_is_enomem_not_sigbus(void **state)
{
    (void)state;
    mproc_process_t *p = test_start(t_queue_on_a_tiny_dev_shm, NULL);
    int64_t code = test_join(p);
    mproc_process_free(p);
    if (code == 77) {
        printf("skipped: needs Linux, root (a private mount of a tiny /dev/shm) and kill points\n");
        skip();
    }
    assert_int_equal(code, 0);
}

/* args: queue, point, nth, size. Armed, puts messages of `size` bytes until
 * it dies (exit 50 if it does not). */
static int t_put_until_killed(const mproc_args_t *args)
{
    mproc_queue_t *q;
    const char *point;
    int64_t nth, size;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_str(args, 1, &point) ||
        mproc_args_get_int(args, 2, &nth) || mproc_args_get_int(args, 3, &size))
        return 100;
    unsigned char *m = calloc(1, (size_t)size);
    if (!m)
        return 100;
    arm(point, nth);
    for (int i = 0;; i++) {
        memcpy(m, &i, sizeof i);
        if (mproc_queue_put(q, m, (size_t)size, 30))
            return 50;
    }
}
MPROC_TARGET(t_put_until_killed)

static mproc_queue_t *plain_ring(size_t bytes)
{
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = o.limit_bytes = bytes; /* larger messages stream through */
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    return q;
}

/* Finding 4: a producer killed in the middle of a message larger than the
 * ring; no other producer comes. get(1) returns by its deadline (with the
 * quarter second a stalled stream is given), and the torn message is never
 * returned. */
static void get_keeps_its_deadline_when_a_streaming_producer_dies(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q = plain_ring(64 * KIB);
    mproc_args_t *a = victim_args(q, "queue.put.mid_stream", 1);
    mproc_args_add_int(a, 4 * MIB);
    mproc_process_t *p = test_start(t_put_until_killed, a);
    mproc_args_free(a);
    assert_true(test_join(p) != 50);
    mproc_process_free(p);
    void *d;
    size_t n;
    double t0 = test_now();
    assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_EEMPTY);
    double took = test_now() - t0;
    assert_true(took >= 0.9 && took < 3.0);
    put_n(q, 7, 2, 10 * KIB);
    expect_n(q, 7, 2, 10 * KIB);
    mproc_queue_free(q);
}

/* Finding 4: put(1) of a message larger than the ring with no reader returns
 * by its deadline, and no half message is ever returned by a later get. */
static void streamed_put_keeps_its_deadline_and_leaves_no_half_message(void **state)
{
    (void)state;
    mproc_queue_t *q = plain_ring(64 * KIB);
    unsigned char *big = calloc(1, 1 * MIB);
    assert_non_null(big);
    double t0 = test_now();
    assert_int_equal(mproc_queue_put(q, big, 1 * MIB, 1), MPROC_EFULL);
    double took = test_now() - t0;
    assert_true(took >= 0.9 && took < 3.0);
    void *d;
    size_t n;
    t0 = test_now();
    assert_int_equal(mproc_queue_get(q, 0.5, &d, &n), MPROC_EEMPTY);
    assert_true(test_now() - t0 < 2.5);
    put_n(q, 1, 3, 10);
    expect_n(q, 1, 3, 10);
    /* Given up with nobody reading, it was taken back: later puts have the room. */
    t0 = test_now();
    assert_int_equal(mproc_queue_put(q, big, 1 * MIB, 0.5), MPROC_EFULL);
    assert_true(test_now() - t0 < 2.5);
    put_n(q, 4, 1, 30 * KIB);
    expect_n(q, 4, 1, 30 * KIB);
    free(big);
    mproc_queue_free(q);
}

/* Finding 9: a JoinableQueue's consumer dies holding a claimed message and
 * nobody else gets: join() stops waiting for it and says a message was lost. */
static void join_returns_elost_when_a_consumer_died_with_a_message(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q;
    assert_int_equal(mproc_joinable_queue_create(&q, 0), MPROC_OK);
    put_n(q, 0, 3, 16);
    assert_int_equal(mproc_queue_join(q, 0.1), MPROC_ETIMEDOUT);
    run_victim(t_get_until_killed, q, "queue.get.after_claim", 1);
    size_t left = 0;
    assert_int_equal(mproc_queue_qsize(q, &left), MPROC_OK);
    assert_int_equal(left, 2);
    for (int i = 1; i < 3; i++) {
        void *d;
        size_t n;
        assert_int_equal(mproc_queue_get(q, 5, &d, &n), MPROC_OK);
        int got;
        memcpy(&got, d, sizeof got);
        assert_int_equal(got, i); /* the victim's message is the one lost */
        mproc_free(d);
        assert_int_equal(mproc_queue_task_done(q), MPROC_OK);
    }
    assert_int_equal(mproc_queue_task_done(q), MPROC_ETASKDONE);
    double t0 = test_now();
    assert_int_equal(mproc_queue_join(q, 10), MPROC_ELOST);
    assert_true(test_now() - t0 < 5);
    mproc_queue_free(q);
}

/* The same when the consumer dies holding the lock and only join() is left
 * to notice: it repairs the consumers' state itself. */
static void join_notices_a_dead_consumer_by_itself(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q;
    assert_int_equal(mproc_joinable_queue_create(&q, 0), MPROC_OK);
    put_n(q, 0, 1, 16);
    run_victim(t_get_until_killed, q, "queue.get.after_copy", 1);
    double t0 = test_now();
    assert_int_equal(mproc_queue_join(q, 10), MPROC_ELOST);
    assert_true(test_now() - t0 < 5);
    expect_n(q, 0, 0, 16);
    put_n(q, 5, 1, 16);
    expect_n(q, 5, 1, 16);
    assert_int_equal(mproc_queue_task_done(q), MPROC_OK);
    assert_int_equal(mproc_queue_join(q, 1), MPROC_ELOST); /* sticky: a message was lost */
    mproc_queue_free(q);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consumer_killed_after_giving_back_a_mark_invents_nothing),
        cmocka_unit_test(file_size_limit_gives_a_smaller_ring_or_a_status_not_a_signal),
        cmocka_unit_test(full_shared_memory_store_is_enomem_not_sigbus),
        cmocka_unit_test(get_keeps_its_deadline_when_a_streaming_producer_dies),
        cmocka_unit_test(streamed_put_keeps_its_deadline_and_leaves_no_half_message),
        cmocka_unit_test(join_returns_elost_when_a_consumer_died_with_a_message),
        cmocka_unit_test(join_notices_a_dead_consumer_by_itself),
    };
    if (argc > 2)
        cmocka_set_test_filter(argv[2]); /* one test by name (a pattern), to run it alone */
    return test_main(argc, argv, "queue_faults", tests, ARRAY_LEN(tests));
}
