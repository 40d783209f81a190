/*
 * Queues under faults: a party killed at each named step (src/fault.h), full
 * or limited memory, peers that die or stall in the middle of a message. The
 * survivors go on; nothing is duplicated or invented; at most the victim's own
 * claimed message is lost; counts stay right; timed calls keep their deadline.
 *
 * Run one test alone: test_queue_faults fork 'pattern'. The randomized test
 * runs MPROC_STRESS_SECONDS (default 3; `make stress` runs longer) from a seed
 * it prints (MPROC_STRESS_SEED repeats it) and names a trial that fails
 * (MPROC_STRESS_TRIAL=n with its seed runs it alone); MPROC_MATRIX_ONLY=i runs
 * one trial of the matrix.
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
#include <signal.h>
#include <sys/resource.h>
#endif

#include "queue_frame.h"
#include "queue_testing.h"
#include "support/test_faults.h"

#define KIB 1024
#define MIB (1024 * 1024)



static mproc_args_t *victim_args(mproc_queue_t *q, const char *point, int64_t nth)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_queue(a, q), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, point), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, nth), MPROC_OK);
    return a;
}

/* A victim's arguments (victim_args): its view of the queue in *q, and the
 * kill point armed. 0, or non-zero if they are not there. */
static int arm_victim(const mproc_args_t *args, mproc_queue_t **q)
{
    const char *point;
    int64_t nth;
    if (mproc_args_get_queue(args, 0, q) || mproc_args_get_str(args, 1, &point) ||
        mproc_args_get_int(args, 2, &nth))
        return 1;
    test_arm(point, nth);
    return 0;
}

/* args: queue, point, nth. Armed, gets until it dies (exit 50 if it does not). */
static int t_get_until_killed(const mproc_args_t *args)
{
    mproc_queue_t *q;
    if (arm_victim(args, &q))
        return 100;
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

/* Gets messages from..from+count-1 (of `size` bytes), in order. */
static void get_n(mproc_queue_t *q, int from, int count, size_t size)
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
}

/* Gets exactly messages from..from+count-1 (of `size` bytes), then nothing. */
static void expect_n(mproc_queue_t *q, int from, int count, size_t size)
{
    get_n(q, from, count, size);
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

/* args: queue, point, nth. Armed, puts and gets in turns: 12 MiB messages
 * (their laps keep cold blocks), then 64 KiB ones until the consumer gives
 * those blocks back at a wrap, holding the producer lock too (exit 50 if it
 * is not killed). */
static int t_shrink_until_killed(const mproc_args_t *args)
{
    size_t sizes[2] = {(size_t)12 * MIB, 64 * KIB};
    int counts[2] = {8, 3 * 16 * 16};
    unsigned char *m = calloc(1, sizes[0]);
    mproc_queue_t *q;
    if (!m || arm_victim(args, &q))
        return 100;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < counts[k]; i++) {
            size_t n;
            if (mproc_queue_put(q, m, sizes[k], 5) || mproc_queue_get_into(q, 5, m, sizes[0], &n))
                return 102;
        }
    return 50;
}
MPROC_TARGET(t_shrink_until_killed)

/* A consumer killed while it gives back the cold blocks shorter laps no
 * longer need, holding both locks: producers and consumers take the locks
 * over and go on, nothing lost or invented. */
static void consumer_killed_giving_back_retained_blocks_blocks_nobody(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    put_n(q, 0, 3, 100);
    expect_n(q, 0, 3, 100);
    run_victim(t_shrink_until_killed, q, "queue.get.after_shrink", 1);
    /* It died in the get after a wrap, before claiming the message it had
     * just put: that message is still there, once. */
    void *d;
    size_t n;
    assert_int_equal(mproc_queue_get(q, 5, &d, &n), MPROC_OK);
    assert_int_equal(n, 64 * KIB);
    mproc_free(d);
    put_n(q, 10, 50, 5000);
    expect_n(q, 10, 50, 5000);
    assert_int_equal(mproc_queue_get(q, 0.1, &d, &n), MPROC_EEMPTY);
    mproc_queue_free(q);
}

/* args: queue, point, nth, first number, size. Armed, puts messages numbered
 * from the first until it dies (exit 50 if it does not). */
static int t_put_from_until_killed(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t from, size;
    if (arm_victim(args, &q) || mproc_args_get_int(args, 3, &from) ||
        mproc_args_get_int(args, 4, &size))
        return 100;
    unsigned char *m = calloc(1, (size_t)size);
    if (!m)
        return 100;
    for (int i = (int)from; i < (int)from + 5000; i++) {
        memcpy(m, &i, sizeof i);
        if (mproc_queue_put(q, m, (size_t)size, 5))
            return 102;
    }
    return 50;
}
MPROC_TARGET(t_put_from_until_killed)

/* Gets messages numbered from `from` on, in order, until none comes: how many. */
static int count_in_order(mproc_queue_t *q, int from, size_t size)
{
    int count = 0;
    void *d;
    size_t n;
    while (mproc_queue_get(q, 0.3, &d, &n) == MPROC_OK) {
        int got;
        assert_int_equal(n, size);
        memcpy(&got, d, sizeof got);
        assert_int_equal(got, from + count);
        mproc_free(d);
        count++;
    }
    return count;
}

/* A producer killed as it jumps past the frames of a lap whose consumer
 * stopped (its mark written, then published): the next producer goes on,
 * nothing lost, duplicated or invented. */
static void producer_killed_jumping_past_a_stopped_lap_loses_nothing(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    static const char *const points[2] = {"queue.put.after_jump_mark", "queue.put.after_jump"};
    for (int k = 0; k < 2; k++) {
        mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
        o.ring_bytes = 64 * KIB;
        mproc_queue_t *q;
        assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
        /* Frames run up to just short of 2 MiB; all but the last are read, so
         * the next put wraps early while the consumer stays in this lap... */
        const size_t size = 4000;
        const int before = (int)(2 * MIB / (size + 8));
        put_n(q, 0, before, size);
        get_n(q, 0, before - 1, size);
        /* ...and the victim fills the next lap up to it (a block short), then
         * jumps past this lap's frames, and dies there. */
        mproc_args_t *a = victim_args(q, points[k], 1);
        assert_int_equal(mproc_args_add_int(a, before), MPROC_OK);
        assert_int_equal(mproc_args_add_int(a, (int64_t)size), MPROC_OK);
        mproc_process_t *p = test_start(t_put_from_until_killed, a);
        mproc_args_free(a);
        int64_t code = test_join(p);
        mproc_process_free(p);
        assert_true(code != 50 && code != 100 && code != 102); /* it died at the point */
        /* The unread one, then the victim's: a lap's worth at least. */
        assert_true(count_in_order(q, before - 1, size) > 200);
        put_n(q, 100000, 300, size); /* takes the dead producer's lock over */
        expect_n(q, 100000, 300, size);
        mproc_queue_free(q);
    }
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
    int fds[256];
    size_t fds_before = test_open_fds(fds, 256);
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
    return test_open_fds(fds, 256) == fds_before ? 0 : 6; /* failures leak no descriptor */
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
    int fds[256];
    size_t fds_before = test_open_fds(fds, 256);
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
    if (test_open_fds(fds, 256) != fds_before) /* failures leak no descriptor */
        return 7;
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
    test_arm(point, nth);
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

/* A small plain ring whose producer was killed in the middle of a 4 MiB
 * message (its first ring's worth is published). */
/* A get with a 1 s deadline finds nothing and returns by it (a dead or
 * stopped peer holds no one up). */
static void expect_empty_by_its_deadline(mproc_queue_t *q)
{
    void *d;
    size_t n;
    double t0 = test_now();
    assert_int_equal(mproc_queue_get(q, 1, &d, &n), MPROC_EEMPTY);
    double took = test_now() - t0;
    assert_true(took >= 0.9 && took < 3.0);
}

static mproc_queue_t *ring_with_a_torn_message_numbered(int64_t frames_before)
{
    mproc_queue_t *q = plain_ring(64 * KIB);
#ifdef MPROC_FAULT_INJECTION
    mproc__queue_test_number_frames_from(q, frames_before);
#else
    (void)frames_before;
#endif
    mproc_args_t *a = victim_args(q, "queue.put.mid_stream", 1);
    mproc_args_add_int(a, 4 * MIB);
    mproc_process_t *p = test_start(t_put_until_killed, a);
    mproc_args_free(a);
    assert_true(test_join(p) != 50);
    mproc_process_free(p);
    return q;
}

static mproc_queue_t *ring_with_a_torn_message(void)
{
    return ring_with_a_torn_message_numbered(0);
}

/* Finding 4: a producer killed in the middle of a message larger than the
 * ring; no other producer comes. get(1) returns by its deadline (with the
 * quarter second a stalled stream is given), and the torn message is never
 * returned. */
static void get_keeps_its_deadline_when_a_streaming_producer_dies(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q = ring_with_a_torn_message();
    expect_empty_by_its_deadline(q);
    put_n(q, 7, 2, 10 * KIB);
    expect_n(q, 7, 2, 10 * KIB);
    mproc_queue_free(q);
}

/* The same after more than 2^32 frames, whose headers carry their numbers'
 * low 32 bits: the torn message was told by its number, which then never
 * matched, and get returned the torn message. */
static void torn_message_is_dropped_after_four_billion_frames(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q = ring_with_a_torn_message_numbered(((int64_t)1 << 32) + 5);
    expect_empty_by_its_deadline(q);
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

/* A JoinableQueue holding `count` messages, whose consumer was killed at
 * `point` during its first get. */
static mproc_queue_t *joinable_after_a_dead_consumer_numbered(int count, const char *point,
                                                              int64_t claims_before)
{
    mproc_queue_t *q;
    assert_int_equal(mproc_joinable_queue_create(&q, 0), MPROC_OK);
#ifdef MPROC_FAULT_INJECTION
    mproc__queue_test_number_claims_from(q, claims_before);
#else
    (void)claims_before;
#endif
    put_n(q, 0, count, 16);
    assert_int_equal(mproc_queue_join(q, 0.1), MPROC_ETIMEDOUT);
    run_victim(t_get_until_killed, q, point, 1);
    return q;
}

static mproc_queue_t *joinable_after_a_dead_consumer(int count, const char *point)
{
    return joinable_after_a_dead_consumer_numbered(count, point, 0);
}

/* join() says a message was lost, within its bound. */
static void join_reports_a_loss(mproc_queue_t *q)
{
    double t0 = test_now();
    assert_int_equal(mproc_queue_join(q, 10), MPROC_ELOST);
    assert_true(test_now() - t0 < 5);
}

/* Finding 9: a JoinableQueue's consumer dies holding a claimed message and
 * nobody else gets: join() stops waiting for it and says a message was lost. */
static void join_returns_elost_after_a_dead_consumer_numbered(int64_t claims_before)
{
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q =
        joinable_after_a_dead_consumer_numbered(3, "queue.get.after_claim", claims_before);
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
    join_reports_a_loss(q);
    mproc_queue_free(q);
}

static void join_returns_elost_when_a_consumer_died_with_a_message(void **state)
{
    (void)state;
    join_returns_elost_after_a_dead_consumer_numbered(0);
}

/* The same when the lost message is claim number 2^32 - 1: losses are told
 * apart by their claims' low 32 bits, and the word began with the tag
 * 0xFFFFFFFF, so this first loss passed for one counted already. */
static void first_loss_is_counted_at_claim_two_to_the_32_less_one(void **state)
{
    (void)state;
    join_returns_elost_after_a_dead_consumer_numbered(((int64_t)1 << 32) - 2);
}

/* The same when the consumer dies holding the lock and only join() is left
 * to notice: it repairs the consumers' state itself. */
static void join_notices_a_dead_consumer_by_itself(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q = joinable_after_a_dead_consumer(1, "queue.get.after_copy");
    join_reports_a_loss(q);
    expect_n(q, 0, 0, 16);
    put_n(q, 5, 1, 16);
    expect_n(q, 5, 1, 16);
    assert_int_equal(mproc_queue_task_done(q), MPROC_OK);
    assert_int_equal(mproc_queue_join(q, 1), MPROC_ELOST); /* sticky: a message was lost */
    mproc_queue_free(q);
}

/* A JoinableQueue holding 2^38 - 1 messages not yet task_done (about 8 hours
 * of puts at full speed whose consumers never call task_done) counts one more
 * put and its task_done: the count's 39 bits (beside a 25-bit tag in its
 * word) overflowed to a negative count, and task_done returned
 * MPROC_ETASKDONE while join() returned at once. */
static void joinable_queue_counts_beyond_two_to_the_38_unfinished(void **state)
{
    (void)state;
#ifdef MPROC_FAULT_INJECTION
    mproc_queue_t *q;
    assert_int_equal(mproc_joinable_queue_create(&q, 0), MPROC_OK);
    mproc__queue_test_add_unfinished(q, ((int64_t)1 << 38) - 1);
    put_n(q, 0, 2, 16);
    expect_n(q, 0, 2, 16);
    assert_int_equal(mproc_queue_task_done(q), MPROC_OK);
    assert_int_equal(mproc_queue_task_done(q), MPROC_OK);
    assert_int_equal(mproc_queue_join(q, 0.1), MPROC_ETIMEDOUT);
    mproc_queue_free(q);
#else
    skip();
#endif
}

/* args: queue, point, nth, size, timeout. Armed, puts one message of `size`
 * bytes with `timeout`; exit 50 if it lives on, 51 if the put did not fail. */
static int t_put_once_armed(const mproc_args_t *args)
{
    mproc_queue_t *q;
    const char *point;
    int64_t nth, size;
    double timeout;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_str(args, 1, &point) ||
        mproc_args_get_int(args, 2, &nth) || mproc_args_get_int(args, 3, &size) ||
        mproc_args_get_double(args, 4, &timeout))
        return 100;
    unsigned char *m = calloc(1, (size_t)size);
    if (!m)
        return 100;
    test_arm(point, nth);
    return mproc_queue_put(q, m, (size_t)size, timeout) == MPROC_OK ? 51 : 50;
}
MPROC_TARGET(t_put_once_armed)

/* A producer gives a streamed message up at its deadline with no reader and
 * dies while taking it back (it holds both locks then): the next producer and
 * consumer take the locks over and see nothing of it. */
static void producer_killed_taking_back_a_given_up_message(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q = plain_ring(64 * KIB);
    mproc_args_t *a = victim_args(q, "queue.put.after_retract", 1);
    mproc_args_add_int(a, 1 * MIB);
    mproc_args_add_double(a, 0.3);
    mproc_process_t *p = test_start(t_put_once_armed, a);
    mproc_args_free(a);
    int64_t code = test_join(p);
    mproc_process_free(p);
    assert_true(code != 50 && code != 51 && code != 100);
    put_n(q, 1, 3, 10 * KIB);
    expect_n(q, 1, 3, 10 * KIB);
    mproc_queue_free(q);
}

/* A producer dies in the middle of a streamed message; the consumer reading
 * it closes the frame and dies right then (holding the producer lock): the
 * next parties finish the repair and the torn message never appears. */
static void consumer_killed_closing_a_dead_producers_frame(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    mproc_queue_t *q = ring_with_a_torn_message();
    run_victim(t_get_until_killed, q, "queue.get.after_close", 1);
    /* The closed frame's rest fills the ring until a consumer skips it. */
    expect_n(q, 0, 0, 10 * KIB);
    put_n(q, 1, 3, 10 * KIB);
    expect_n(q, 1, 3, 10 * KIB);
    mproc_queue_free(q);
}

/* args: queue, size, shared flag. Raises the flag, puts one message of
 * `size` bytes, then "after". */
static int t_put_big_then_small(const mproc_args_t *args)
{
    mproc_queue_t *q;
    int64_t size;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_int(args, 1, &size))
        return 100;
    volatile int64_t *flag = test_shared_attach(args, 2, 4096);
    unsigned char *m = calloc(1, (size_t)size);
    if (!flag || !m)
        return 100;
    *flag = 1;
    if (mproc_queue_put(q, m, (size_t)size, 60) != MPROC_OK)
        return 101;
    return mproc_queue_put(q, "after", 5, 60) == MPROC_OK ? 0 : 102;
}
MPROC_TARGET(t_put_big_then_small)

/* POSIX: a producer stopped (SIGSTOP) in the middle of a streamed message.
 * get(1) gives the message up by its deadline (and a quarter second); once
 * the producer goes on, the next get skips the rest, the producer finishes,
 * and join() counts the given-up message as lost. */
static void get_gives_up_a_message_whose_live_producer_stalls(void **state)
{
    (void)state;
#if defined(_WIN32)
    printf("skipped: stopping a process is POSIX's SIGSTOP\n");
    skip();
#else
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.ring_bytes = o.limit_bytes = 64 * KIB;
    o.joinable = 1;
    mproc_queue_t *q;
    assert_int_equal(mproc_queue_create_opts(&q, &o), MPROC_OK);
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    mproc_args_add_queue(a, q);
    mproc_args_add_int(a, 4 * MIB);
    test_shared_t flag;
    test_shared_create(&flag, 4096);
    test_shared_add_arg(&flag, a);
    mproc_process_t *p = test_start(t_put_big_then_small, a);
    mproc_args_free(a);
    int64_t pid = 0;
    assert_int_equal(mproc_process_pid(p, &pid), MPROC_OK);
    for (double until = test_now() + 60; !*(volatile int64_t *)flag.addr && test_now() < until;)
        test_sleep(0.01);
    /* Its first copy (a ring's worth, microseconds) is surely done by then. */
    test_sleep(0.3);
    assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
    expect_empty_by_its_deadline(q);
    assert_int_equal(kill((pid_t)pid, SIGCONT), 0);
    void *d;
    size_t n;
    assert_int_equal(mproc_queue_get(q, 30, &d, &n), MPROC_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "after", 5);
    mproc_free(d);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    assert_int_equal(mproc_queue_task_done(q), MPROC_OK);
    assert_int_equal(mproc_queue_join(q, 5), MPROC_ELOST);
    test_shared_release(&flag);
    mproc_queue_free(q);
#endif
}

/* ---- the kill matrix and the randomized stress ------------------------------ */

enum { PROD, CONS };
enum { DEFAULT_RING, SPARSE_SMALL, PLAIN_SMALL, BOUNDED, JOINABLE, KINDS };
enum { ID_PREFILL, ID_PRODUCER, ID_VICTIM, ID_PRE_VICTIM, ID_END, IDS };
#define MAX_SEQ 4096
#define BOUND 8
#define VICTIM_QUOTA 2000 /* a victim whose point never comes stops after this */

typedef struct item {
    int32_t id, seq, size, check;
} item_t;

/* The bytes of message (id, seq) in a queue of `kind`: large ones stream
 * through the plain ring, 4000-byte ones run through the cold blocks. */
static size_t item_size(int kind, int32_t seq)
{
    if (kind == PLAIN_SMALL)
        return seq % 3 == 0 ? 100 * KIB + (size_t)seq : sizeof(item_t) + (size_t)(seq % 200);
    if (kind == SPARSE_SMALL)
        return 4000;
    return sizeof(item_t) + (size_t)(seq * 37 % 500);
}

static unsigned char item_byte(int32_t id, int32_t seq, size_t k)
{
    return (unsigned char)(id * 7 + seq * 13 + (int32_t)k);
}

static unsigned char *make_item(int kind, int32_t id, int32_t seq, size_t *len)
{
    *len = item_size(kind, seq);
    unsigned char *m = malloc(*len);
    if (!m)
        return NULL;
    item_t it = {id, seq, (int32_t)*len, id ^ seq};
    for (size_t k = sizeof it; k < *len; k++)
        m[k] = item_byte(id, seq, k);
    memcpy(m, &it, sizeof it);
    return m;
}

/* 1 if `m` is a message some producer made, whole. */
static int item_valid(const unsigned char *m, size_t len, item_t *it)
{
    if (len < sizeof *it)
        return 0;
    memcpy(it, m, sizeof *it);
    if (it->size != (int32_t)len || it->check != (it->id ^ it->seq) || it->id < 0 ||
        it->id >= IDS || it->seq < 0 || it->seq >= MAX_SEQ)
        return 0;
    for (size_t k = sizeof *it; k < len; k++)
        if (m[k] != item_byte(it->id, it->seq, k))
            return 0;
    return 1;
}

/* What a consumer reports on the results queue for each message it got. */
typedef struct report {
    int32_t id, seq, valid;
} report_t;

/* args: queue, results, point ("" unarmed), nth, role, id, quota, kind,
 * shared counters. A producer puts `quota` messages, counting each put that
 * returned in counters[id]; a consumer gets and reports until the end marker
 * or, armed, until nothing comes for a while. Exit 0, or 101+ on failure. */
static int t_party(const mproc_args_t *args)
{
    mproc_queue_t *q, *r;
    const char *point;
    int64_t nth, role, id, quota, kind;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_queue(args, 1, &r) ||
        mproc_args_get_str(args, 2, &point) || mproc_args_get_int(args, 3, &nth) ||
        mproc_args_get_int(args, 4, &role) || mproc_args_get_int(args, 5, &id) ||
        mproc_args_get_int(args, 6, &quota) || mproc_args_get_int(args, 7, &kind))
        return 100;
    volatile int64_t *counters = test_shared_attach(args, 8, 4096);
    if (!counters)
        return 100;
    if (*point)
        test_arm(point, nth);
    for (int32_t seq = 0; role == PROD && seq < quota; seq++) {
        size_t len;
        unsigned char *m = make_item((int)kind, (int32_t)id, seq, &len);
        if (!m || mproc_queue_put(q, m, len, 20) != MPROC_OK)
            return 101;
        free(m);
        counters[id] = seq + 1;
    }
    while (role == CONS) {
        void *d;
        size_t n;
        mproc_status_t st = mproc_queue_get(q, *point ? 1 : 30, &d, &n);
        if (st == MPROC_EEMPTY && *point)
            return 0; /* armed, and its point never came */
        if (st || (kind == JOINABLE && mproc_queue_task_done(q) != MPROC_OK))
            return 102;
        item_t it = {0, 0, 0, 0};
        int valid = item_valid(d, n, &it);
        report_t rep = {it.id, it.seq, valid};
        mproc_free(d);
        if (rep.valid && it.id == ID_END)
            break;
        if (mproc_queue_put(r, &rep, sizeof rep, 20))
            return 103;
    }
    return 0;
}
MPROC_TARGET(t_party)

typedef struct trial {
    const char *point;
    int role, kind, nth;
    const char *pre_point; /* a first victim of the same role, or NULL */
    int pre_nth;
} trial_t;

typedef struct tally {
    int kills, consumer_kills, lost, duplicates, invented;
} tally_t;

typedef struct world {
    mproc_queue_t *q, *r;
    test_shared_t counters;
    int kind;
} world_t;

static mproc_process_t *start_party(world_t *w, const char *point, int nth, int role, int id,
                                    int quota)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    mproc_args_add_queue(a, w->q);
    mproc_args_add_queue(a, w->r);
    mproc_args_add_str(a, point ? point : "");
    mproc_args_add_int(a, nth);
    mproc_args_add_int(a, role);
    mproc_args_add_int(a, id);
    mproc_args_add_int(a, quota);
    mproc_args_add_int(a, w->kind);
    test_shared_add_arg(&w->counters, a);
    mproc_process_t *p = test_start(t_party, a);
    mproc_args_free(a);
    return p;
}

static void put_item(world_t *w, int32_t id, int32_t seq)
{
    size_t len;
    unsigned char *m = make_item(w->kind, id, seq, &len);
    assert_non_null(m);
    double t0 = test_now();
    mproc_status_t st = mproc_queue_put(w->q, m, len, 20);
    if (st) {
        size_t qs = 0;
        mproc_queue_qsize(w->q, &qs);
        printf("put (%d, %d): %s after %.2f s, qsize %zu\n", id, seq, mproc_err_name(st),
               test_now() - t0, qs);
    }
    assert_int_equal(st, MPROC_OK);
    free(m);
}

/* Wait for a victim; 1 if its point killed it, 0 if it ended by itself. */
static int victim_killed(mproc_process_t *v)
{
    int64_t code = test_join(v);
    mproc_process_free(v);
    assert_true(code == 0 || code < 0 || code == 9); /* killed: -9 (POSIX), 9 (Windows) */
    return code != 0;
}

/* Count what the results queue says against what was confirmed put. */
static void check_results(world_t *w, int prefill, int quota, tally_t *t)
{
    static unsigned char seen[IDS][MAX_SEQ];
    memset(seen, 0, sizeof seen);
    report_t rep;
    size_t n;
    while (mproc_queue_get_into(w->r, 0, &rep, sizeof rep, &n) == MPROC_OK) { /* all have ended */
        if (!rep.valid) {
            t->invented++;
            continue;
        }
        if (seen[rep.id][rep.seq]++)
            t->duplicates++;
    }
    volatile int64_t *confirmed = w->counters.addr;
    int64_t want[IDS] = {prefill, quota, confirmed[ID_VICTIM], confirmed[ID_PRE_VICTIM], 0};
    for (int id = 0; id < IDS; id++)
        for (int64_t seq = 0; seq < MAX_SEQ; seq++) {
            if (seq < want[id] && !seen[id][seq])
                t->lost++;
            if (seq > want[id] && seen[id][seq]) /* seq == want: a put cut short may land */
                t->invented++;
        }
}

/* After the trial: the counts are right and timed calls keep their deadline. */
static void check_counts(world_t *w)
{
    size_t left = 99;
    void *d;
    size_t n;
    double t0 = test_now();
    assert_int_equal(mproc_queue_get(w->q, 0.05, &d, &n), MPROC_EEMPTY);
    assert_true(test_now() - t0 < 2.5);
    assert_int_equal(mproc_queue_qsize(w->q, &left), MPROC_OK);
    assert_int_equal(left, 0);
    int fill = w->kind == BOUNDED ? BOUND : 5;
    for (int i = 0; i < fill; i++)
        assert_int_equal(mproc_queue_put(w->q, "count me", 8, 5), MPROC_OK);
    if (w->kind == BOUNDED)
        assert_int_equal(mproc_queue_put_nowait(w->q, "one more", 8), MPROC_EFULL);
    assert_int_equal(mproc_queue_qsize(w->q, &left), MPROC_OK);
    assert_int_equal(left, (size_t)fill);
    for (int i = 0; i < fill; i++) {
        assert_int_equal(mproc_queue_get(w->q, 5, &d, &n), MPROC_OK);
        mproc_free(d);
        if (w->kind == JOINABLE)
            assert_int_equal(mproc_queue_task_done(w->q), MPROC_OK);
    }
}

static void world_create(world_t *w, int kind)
{
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    if (kind == SPARSE_SMALL)
        o.ring_bytes = 64 * KIB;
    if (kind == PLAIN_SMALL)
        o.ring_bytes = o.limit_bytes = 64 * KIB;
    if (kind == BOUNDED)
        o.maxsize = BOUND;
    o.joinable = kind == JOINABLE;
    w->kind = kind;
    assert_int_equal(mproc_queue_create_opts(&w->q, &o), MPROC_OK);
    assert_int_equal(mproc_queue_create(&w->r, 0), MPROC_OK);
    test_shared_create(&w->counters, 4096);
}

static void world_free(world_t *w)
{
    mproc_queue_free(w->q);
    mproc_queue_free(w->r);
    test_shared_release(&w->counters);
}

/* A consumer killed at this point had taken its message whole: for the
 * queue it was delivered, as if get had returned, so a JoinableQueue's join
 * cannot count it and waits for its task_done (as in CPython). */
static int after_delivery(const char *point)
{
    return point && strcmp(point, "lock.release.after_bias") == 0;
}

/* One trial: the victim (after a first victim, if any) dies at its point
 * while a party of the other role runs; then survivors of both roles finish.
 * `must_die`: the victim's point must be reached. */
static void run_trial(const trial_t *tr, int must_die, tally_t *t)
{
    world_t w;
    world_create(&w, tr->kind);
    /* Both locks biased to this process (where the OS has the heavy fence), to
     * be revoked by the victim; then a prefill: enough to run into the cold
     * blocks of a small sparse ring. */
    for (int i = 0; i < 100; i++) {
        void *d;
        size_t n;
        assert_int_equal(mproc_queue_put(w.q, "warm", 4, 5), MPROC_OK);
        assert_int_equal(mproc_queue_get(w.q, 5, &d, &n), MPROC_OK);
        mproc_free(d);
        if (w.kind == JOINABLE)
            assert_int_equal(mproc_queue_task_done(w.q), MPROC_OK);
    }
    int prefill = tr->kind == SPARSE_SMALL ? 800 : tr->kind == BOUNDED ? BOUND
                : tr->kind == PLAIN_SMALL ? 0 /* large ones wait for a reader */ : 100;
    int quota = tr->kind == PLAIN_SMALL ? 60 : 300;
    for (int i = 0; i < prefill; i++)
        put_item(&w, ID_PREFILL, i);
    int other = tr->role == PROD ? CONS : PROD;
    mproc_process_t *peer = start_party(&w, NULL, 0, other, ID_PRODUCER, quota);
    int victims[2] = {0, 0};
    for (int stage = 0; stage < 2; stage++) {
        const char *point = stage == 0 ? tr->pre_point : tr->point;
        if (!point)
            continue;
        int id = stage == 0 ? ID_PRE_VICTIM : ID_VICTIM;
        mproc_process_t *v = start_party(&w, point, stage == 0 ? tr->pre_nth : tr->nth,
                                         tr->role, id,
                                         tr->kind == PLAIN_SMALL ? VICTIM_QUOTA / 10 : VICTIM_QUOTA);
        victims[stage] = victim_killed(v);
        if (must_die && !victims[stage])
            fail_msg("point %s (nth %d) was never reached", point, stage ? tr->nth : tr->pre_nth);
    }
    /* The survivor of the victim's role, then the end of the stream. */
    mproc_process_t *same = start_party(&w, NULL, 0, tr->role, ID_PRODUCER, quota);
    mproc_process_t *prod = tr->role == PROD ? same : peer, *cons = tr->role == PROD ? peer : same;
    assert_int_equal(test_join(prod), 0);
    put_item(&w, ID_END, 0);
    assert_int_equal(test_join(cons), 0);
    mproc_process_free(peer);
    mproc_process_free(same);
    tally_t before = *t;
    check_results(&w, prefill, quota, t);
    check_counts(&w);
    int deaths = victims[0] + victims[1];
    if (w.kind == JOINABLE) { /* join ends: what a dead consumer took counts as lost */
        int delivered = tr->role == CONS && ((victims[0] && after_delivery(tr->pre_point)) ||
                                             (victims[1] && after_delivery(tr->point)));
        double t0 = test_now();
        mproc_status_t st = mproc_queue_join(w.q, delivered ? 1 : 10);
        assert_true(st == MPROC_OK || (st == MPROC_ELOST && tr->role == CONS && deaths) ||
                    (st == MPROC_ETIMEDOUT && delivered && t->lost > before.lost));
        assert_true(test_now() - t0 < 5);
    }
    t->kills += deaths;
    if (tr->role == CONS)
        t->consumer_kills += deaths;
    /* At most each dead consumer's claimed message is lost. */
    assert_true(t->lost - before.lost <= (tr->role == CONS ? deaths : 0));
    assert_int_equal(t->duplicates, before.duplicates);
    assert_int_equal(t->invented, before.invented);
    world_free(&w);
}

/* Every kill point of the queue and lock paths, with a party of each role
 * killed there: see the file-top comment for what must hold. */
static const trial_t matrix[] = {
    {"queue.put.after_lock", PROD, DEFAULT_RING, 3, NULL, 0},
    {"queue.put.after_begin", PROD, DEFAULT_RING, 3, NULL, 0},
    {"queue.put.after_copy", PROD, DEFAULT_RING, 3, NULL, 0},
    {"queue.put.after_publish", PROD, DEFAULT_RING, 3, NULL, 0},
    {"queue.put.after_count", PROD, DEFAULT_RING, 3, NULL, 0},
    {"queue.put.after_publish", PROD, BOUNDED, 2, NULL, 0},
    {"queue.put.after_count", PROD, BOUNDED, 2, NULL, 0},
    {"queue.put.after_begin", PROD, PLAIN_SMALL, 1, NULL, 0},
    {"queue.put.mid_stream", PROD, PLAIN_SMALL, 2, NULL, 0},
    {"queue.put.after_count", PROD, PLAIN_SMALL, 1, NULL, 0},
    {"queue.put.after_wrap_mark", PROD, SPARSE_SMALL, 1, NULL, 0},
    {"queue.put.after_wrap", PROD, SPARSE_SMALL, 1, NULL, 0},
    {"lock.take.after_cas", PROD, DEFAULT_RING, 2, NULL, 0},
    {"lock.revoke.after_mark", PROD, DEFAULT_RING, 1, NULL, 0},
    {"lock.release.after_bias", PROD, DEFAULT_RING, 1, NULL, 0},
    {"queue.get.after_lock", CONS, DEFAULT_RING, 3, NULL, 0},
    {"queue.get.after_claim", CONS, DEFAULT_RING, 3, NULL, 0},
    {"queue.get.after_copy", CONS, DEFAULT_RING, 3, NULL, 0},
    {"queue.get.after_head", CONS, DEFAULT_RING, 3, NULL, 0},
    {"queue.get.after_claim", CONS, BOUNDED, 2, NULL, 0},
    {"queue.get.after_head", CONS, BOUNDED, 2, NULL, 0},
    {"queue.get.after_claim", CONS, JOINABLE, 2, NULL, 0},
    {"queue.get.after_head", CONS, JOINABLE, 2, NULL, 0},
    {"queue.put.after_begin", PROD, JOINABLE, 2, NULL, 0},
    {"queue.put.after_publish", PROD, JOINABLE, 2, NULL, 0},
    {"queue.get.after_give_back", CONS, SPARSE_SMALL, 1, NULL, 0},
    {"queue.get.after_claim", CONS, PLAIN_SMALL, 1, NULL, 0},
    {"queue.get.mid_stream", CONS, PLAIN_SMALL, 2, NULL, 0},
    {"lock.take.after_cas", CONS, DEFAULT_RING, 2, NULL, 0},
    {"lock.revoke.after_mark", CONS, DEFAULT_RING, 1, NULL, 0},
    {"lock.release.after_bias", CONS, DEFAULT_RING, 1, NULL, 0},
    /* Recovery itself interrupted: a second victim dies repairing the first. */
    {"lock.takeover.after_cas", CONS, DEFAULT_RING, 1, "queue.get.after_claim", 2},
    {"queue.recover_consumer.after_skip", CONS, DEFAULT_RING, 1, "queue.get.after_copy", 2},
    {"queue.recover_consumer.after_skip", CONS, PLAIN_SMALL, 1, "queue.get.mid_stream", 1},
    {"lock.takeover.after_cas", PROD, DEFAULT_RING, 1, "queue.put.after_copy", 2},
};

/* Points that only some platforms reach: lock bias needs the heavy fence. */
static int may_be_unreached(const char *point)
{
    return strncmp(point, "lock.revoke", 11) == 0 || strncmp(point, "lock.release.after_bias", 23) == 0;
}

static void each_role_killed_at_each_point(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    tally_t t = {0, 0, 0, 0, 0};
    const char *only = getenv("MPROC_MATRIX_ONLY"); /* one trial by index, to debug it */
    for (size_t i = 0; i < ARRAY_LEN(matrix); i++) {
        if (only && (size_t)atoi(only) != i)
            continue;
        int kills = t.kills;
        double t0 = test_now();
        run_trial(&matrix[i], !may_be_unreached(matrix[i].point), &t);
        printf("  %-36s %s %-6s %s %.1f s\n", matrix[i].point,
               matrix[i].role == PROD ? "producer" : "consumer",
               t.kills > kills ? "killed" : "(not reached here)",
               matrix[i].pre_point ? "after a first victim" : "", test_now() - t0);
    }
    printf("matrix: %zu trials, %d kills, %d lost (of %d consumer kills), %d duplicates, "
           "%d invented\n",
           ARRAY_LEN(matrix), t.kills, t.lost, t.consumer_kills, t.duplicates, t.invented);
}

/* The points a producer and a consumer pass, for the randomized stress:
 * every point of the queue's and the lock's paths each role can reach. */
static const char *const put_points[] = {
    "queue.put.after_lock", "queue.put.after_begin", "queue.put.after_copy",
    "queue.put.after_publish", "queue.put.after_count", "queue.put.mid_stream",
    "queue.put.after_wrap_mark", "queue.put.after_wrap", "queue.put.after_jump_mark",
    "queue.put.after_jump", "queue.put.after_retract", "queue.recover_producer.after_zeros",
    "lock.take.after_cas", "lock.takeover.after_cas", "lock.revoke.after_mark",
    "lock.release.after_bias", "lock.wait.after_count", "lock.wait.after_post"};
static const char *const get_points[] = {
    "queue.get.after_lock", "queue.get.after_claim", "queue.get.after_copy",
    "queue.get.after_head", "queue.get.after_give_back", "queue.get.after_shrink",
    "queue.get.mid_stream", "queue.get.after_close", "queue.recover_consumer.after_skip",
    "lock.take.after_cas", "lock.takeover.after_cas", "lock.revoke.after_mark",
    "lock.release.after_bias", "lock.wait.after_count", "lock.wait.after_post"};

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static const char *random_point(uint64_t *x, int role)
{
    uint64_t r = next_random(x);
    return role == PROD ? put_points[r % ARRAY_LEN(put_points)]
                        : get_points[r % ARRAY_LEN(get_points)];
}

static const char *const kind_names[KINDS] = {"default", "sparse-small", "plain-small", "bounded",
                                              "joinable"};

/* The randomized stress's trial under way, for its teardown to name if it
 * fails (number 0: none). */
static struct {
    uint64_t seed;
    int number;
    trial_t trial;
} stress_now;

static trial_t random_trial(uint64_t *x)
{
    int role = (int)(next_random(x) % 2);
    trial_t tr = {random_point(x, role), role, (int)(next_random(x) % KINDS),
                  1 + (int)(next_random(x) % 20), NULL, 0};
    if (next_random(x) % 4 == 0) {
        tr.pre_point = random_point(x, role);
        tr.pre_nth = 1 + (int)(next_random(x) % 20);
    }
    return tr;
}

/* Seeded random trials for MPROC_STRESS_SECONDS (default 3): a random point,
 * pass, role and queue, sometimes after a first victim. Prints the seed first
 * and the tally at the end; a trial that fails is named by the teardown, and
 * MPROC_STRESS_SEED with MPROC_STRESS_TRIAL=n runs that trial alone. */
static void randomized_kills(void **state)
{
    (void)state;
    SKIP_WITHOUT_KILL_POINTS();
    const char *e = getenv("MPROC_STRESS_SECONDS");
    double seconds = e ? atof(e) : 3.0;
    e = getenv("MPROC_STRESS_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 10) : (uint64_t)(test_now() * 1e6) | 1;
    e = getenv("MPROC_STRESS_TRIAL");
    int only = e ? atoi(e) : 0;
    printf("stress: seed %llu\n", (unsigned long long)seed);
    fflush(stdout);
    uint64_t x = seed;
    tally_t t = {0, 0, 0, 0, 0};
    int trials = 0;
    double end = test_now() + seconds;
    for (int n = 1; only ? n <= only : test_now() < end; n++) {
        trial_t tr = random_trial(&x);
        if (n < only)
            continue;
        stress_now.seed = seed;
        stress_now.number = n;
        stress_now.trial = tr;
        run_trial(&tr, 0, &t);
        stress_now.number = 0;
        trials++;
    }
    printf("stress: seed %llu, %d trials, %d kills, %d lost (of %d consumer kills), "
           "%d duplicates, %d invented\n",
           (unsigned long long)seed, trials, t.kills, t.lost, t.consumer_kills, t.duplicates,
           t.invented);
}

/* After randomized_kills: the trial it failed in, if any, and how to run it again. */
static int name_failed_stress_trial(void **state)
{
    (void)state;
    const trial_t *tr = &stress_now.trial;
    if (stress_now.number) {
        char first[96] = "";
        if (tr->pre_point)
            snprintf(first, sizeof first, ", after a first victim at %s (nth %d)", tr->pre_point,
                     tr->pre_nth);
        printf("stress: failed in trial %d: %s killed at %s (nth %d), %s queue%s; "
               "MPROC_STRESS_SEED=%llu MPROC_STRESS_TRIAL=%d runs it alone\n",
               stress_now.number, tr->role == PROD ? "producer" : "consumer", tr->point, tr->nth,
               kind_names[tr->kind], first, (unsigned long long)stress_now.seed,
               stress_now.number);
    }
    stress_now.number = 0;
    return 0;
}

/* Headers no producer writes, as a consumer may find them in a ring that
 * another process wrote over: a status, never a frame that moves the head
 * backwards, out of its lap, or past the longest message. A long message's
 * header is 16 bytes: LONG_MARK (0xFFFFFFFD), its sequence number, a u64
 * length (two u32 words here, low first). */
static void corrupted_frame_headers_are_refused(void **state)
{
    (void)state;
    const int64_t ring = 1 << 24;
    const uint32_t cases[][4] = {
        {0xFFFFFFF1u, 0, 0, 0},              /* a first word no producer writes */
        {0xFFFFFFFEu, 0, 0, 0},              /* a jump backwards */
        {0xFFFFFFFEu, 1, 0, 0},              /* a jump to where it is */
        {0xFFFFFFFEu, 16, 0, 0},             /* a jump out of the lap */
        {0xFFFFFFFDu, 0, 5, 0},              /* a long message that is short */
        {0xFFFFFFFDu, 0, 0xFFFFFFF0u, 0},    /* ...by one byte */
        {0xFFFFFFFDu, 0, 1, 1u << 28},       /* longer than any message */
        {0xFFFFFFFDu, 0, 0xFFFFFFFFu, 0xFFFFFFFFu}, /* a length that overflows */
    };
    mproc__frame_t f;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t bytes = (size_t)mproc__queue_frame_header_bytes(cases[i]);
        assert_int_equal(mproc__queue_frame_decode(cases[i], bytes, 1 << 20, ring, &f), MPROC_ECORRUPT);
        assert_int_equal(f.advance, 0);
        assert_true(f.len == 0);
    }
    assert_int_equal(mproc__queue_frame_decode(cases[0], 7, 0, ring, &f), MPROC_EINVAL);
    assert_int_equal(mproc__queue_frame_decode(cases[0], 8, 4, ring, &f), MPROC_EINVAL);
    assert_int_equal(mproc__queue_frame_decode(cases[0], 8, 0, ring + 8, &f), MPROC_EINVAL);
    assert_int_equal(mproc__queue_frame_decode(cases[4], 8, 0, ring, &f), MPROC_EINVAL); /* cut */
    const uint32_t good[][4] = {{0, 9, 0, 0},
                                {0xFFFFFFFFu, 0, 0, 0},
                                {0xFFFFFFFEu, 2, 0, 0},
                                {(uint32_t)257 << 20, 3, 0, 0}, /* above the old 256 MiB cap */
                                {0xFFFFFFF0u, 4, 0, 0},         /* the longest short length */
                                {0xFFFFFFFDu, 5, 0xFFFFFFF1u, 0},
                                {0xFFFFFFFDu, 6, 9, 3}};        /* 12 GiB + 9 */
    const int64_t advance[] = {8,
                               ring - (1 << 20),
                               1 << 20,
                               8 + ((int64_t)257 << 20),
                               8 + 0xFFFFFFF0LL,
                               16 + 0xFFFFFFF8LL,
                               16 + ((int64_t)3 << 32) + 16};
    const uint64_t len[] = {0, 0, 0, (uint64_t)257 << 20, 0xFFFFFFF0u, 0xFFFFFFF1u,
                            ((uint64_t)3 << 32) + 9};
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        size_t bytes = (size_t)mproc__queue_frame_header_bytes(good[i]);
        assert_int_equal(mproc__queue_frame_decode(good[i], bytes, 1 << 20, ring, &f), MPROC_OK);
        assert_int_equal(f.advance, advance[i]);
        assert_true(f.len == len[i]);
        assert_true(f.kind != MPROC__FRAME_MESSAGE || f.header == (int64_t)bytes);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consumer_killed_after_giving_back_a_mark_invents_nothing),
        cmocka_unit_test(consumer_killed_giving_back_retained_blocks_blocks_nobody),
        cmocka_unit_test(producer_killed_jumping_past_a_stopped_lap_loses_nothing),
        cmocka_unit_test(file_size_limit_gives_a_smaller_ring_or_a_status_not_a_signal),
        cmocka_unit_test(full_shared_memory_store_is_enomem_not_sigbus),
        cmocka_unit_test(get_keeps_its_deadline_when_a_streaming_producer_dies),
        cmocka_unit_test(torn_message_is_dropped_after_four_billion_frames),
        cmocka_unit_test(streamed_put_keeps_its_deadline_and_leaves_no_half_message),
        cmocka_unit_test(join_returns_elost_when_a_consumer_died_with_a_message),
        cmocka_unit_test(first_loss_is_counted_at_claim_two_to_the_32_less_one),
        cmocka_unit_test(join_notices_a_dead_consumer_by_itself),
        cmocka_unit_test(joinable_queue_counts_beyond_two_to_the_38_unfinished),
        cmocka_unit_test(producer_killed_taking_back_a_given_up_message),
        cmocka_unit_test(consumer_killed_closing_a_dead_producers_frame),
        cmocka_unit_test(get_gives_up_a_message_whose_live_producer_stalls),
        cmocka_unit_test(each_role_killed_at_each_point),
        cmocka_unit_test_teardown(randomized_kills, name_failed_stress_trial),
        cmocka_unit_test(corrupted_frame_headers_are_refused),
    };
    if (argc > 2)
        cmocka_set_test_filter(argv[2]); /* one test by name (a pattern), to run it alone */
    return test_main(argc, argv, "queue_faults", tests, ARRAY_LEN(tests));
}
