/*
 * A signal during a blocking call (POSIX): with a handler installed without
 * SA_RESTART, SIGALRM arrives every 20 ms while the call waits. The call must
 * neither return early (EINTR is not a status) nor wait past its deadline, and
 * data that arrives meanwhile is delivered whole.
 *
 * mproc-lanes: posix-only (tests/CMakeLists.txt builds it if(UNIX))
 */
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "support/test_support.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* Armed only while no child is being started: a spawned child keeps the timer. */
static void alarms_every_20ms(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on ? on_alarm : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: every blocking system call sees EINTR */
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval t = {{0, on ? 20000 : 0}, {0, on ? 20000 : 0}};
    assert_int_equal(setitimer(ITIMER_REAL, &t, NULL), 0);
    if (on)
        alarms = 0;
}

/* The call took its whole timeout (not less), within a generous bound, and was interrupted. */
static void took_its_timeout(double t0, double timeout)
{
    double took = test_now() - t0;
    assert_true(took >= timeout - 0.01);
    assert_true(took < timeout + 10.0);
    assert_true(alarms > 3);
}

static void timed_waits_hold_their_deadline_under_signals(void **state)
{
    (void)state;
    mproc_connection_t *r, *w;
    mproc_queue_t *q;
    void *msg = NULL;
    size_t len = 0;
    assert_int_equal(mproc_pipe(0, &r, &w), MPROC_OK);
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    mproc_process_t *p = test_start_sleeper(30, 0);
    assert_non_null(p);

    alarms_every_20ms(1);
    double t0 = test_now();
    assert_int_equal(mproc_connection_recv_bytes(r, 0.5, &msg, &len), MPROC_ETIMEDOUT);
    took_its_timeout(t0, 0.5);
    alarms = 0;
    t0 = test_now();
    assert_int_equal(mproc_connection_poll(r, 0.5), MPROC_ETIMEDOUT);
    took_its_timeout(t0, 0.5);
    alarms = 0;
    t0 = test_now();
    assert_int_equal(mproc_queue_get(q, 0.5, &msg, &len), MPROC_EEMPTY);
    took_its_timeout(t0, 0.5);
    alarms = 0;
    t0 = test_now();
    assert_int_equal(mproc_process_join(p, 0.5), MPROC_ETIMEDOUT);
    took_its_timeout(t0, 0.5);
    alarms_every_20ms(0);

    assert_int_equal(mproc_process_terminate(p), MPROC_OK);
    assert_int_equal(mproc_process_join(p, 60), MPROC_OK);
    mproc_process_free(p);
    mproc_queue_free(q);
    mproc_connection_free(r);
    mproc_connection_free(w);
}

/* args: connection (write end), queue. Waits 0.3 s, then sends on both. */
static int late_sender(const mproc_args_t *args)
{
    mproc_connection_t *w = NULL;
    mproc_queue_t *q = NULL;
    if (mproc_args_get_connection(args, 0, &w) || mproc_args_get_queue(args, 1, &q))
        return 2;
    test_sleep(0.3);
    static char big[200000];
    memset(big, 'x', sizeof big);
    if (mproc_connection_send_bytes(w, big, sizeof big) || mproc_queue_put(q, "late", 4, 10))
        return 3;
    mproc_connection_free(w);
    mproc_queue_free(q);
    return 0;
}
MPROC_TARGET(late_sender)

static void data_arriving_under_signals_is_delivered_whole(void **state)
{
    (void)state;
    mproc_connection_t *r, *w;
    mproc_queue_t *q;
    mproc_args_t *a;
    void *msg = NULL;
    size_t len = 0;
    assert_int_equal(mproc_pipe(0, &r, &w), MPROC_OK);
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_connection(a, w), MPROC_OK);
    assert_int_equal(mproc_args_add_queue(a, q), MPROC_OK);
    mproc_process_t *p = test_start(late_sender, a);
    mproc_connection_free(w);

    alarms_every_20ms(1);
    assert_int_equal(mproc_connection_recv_bytes(r, 30, &msg, &len), MPROC_OK);
    assert_int_equal(len, 200000);
    assert_int_equal(((char *)msg)[0], 'x');
    assert_int_equal(((char *)msg)[len - 1], 'x');
    mproc_free(msg);
    assert_int_equal(mproc_queue_get(q, 30, &msg, &len), MPROC_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(msg, "late", 4);
    mproc_free(msg);
    assert_int_equal(mproc_process_join(p, 30), MPROC_OK);
    alarms_every_20ms(0);
    int64_t code = -1;
    assert_int_equal(mproc_process_exitcode(p, &code), MPROC_OK);
    assert_int_equal(code, 0);
    mproc_process_free(p);
    mproc_args_free(a);
    mproc_queue_free(q);
    mproc_connection_free(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timed_waits_hold_their_deadline_under_signals),
        cmocka_unit_test(data_arriving_under_signals_is_delivered_whole),
    };
    return test_main(argc, argv, "signals", tests, ARRAY_LEN(tests));
}
