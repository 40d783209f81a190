/*
 * Barrier (sync.h): arrival indexes, the action run once per generation in
 * one process, abort, reset, timeouts, and a waiter's death breaking it.
 */
#include <string.h>

#include "support/test_support.h"

#define ROUNDS 3
#define MAX_CHILDREN 4

/* In shared memory: how many times the action ran, each child's indexes. */
typedef struct board {
    volatile int64_t actions;
    volatile int64_t index[MAX_CHILDREN][ROUNDS];
} board_t;

static board_t *board; /* this process's view, for the action */

static int t_count_action(const mproc_args_t *args)
{
    (void)args;
    board->actions++; /* runs while the others wait: no race */
    return 0;
}
MPROC_TARGET(t_count_action)

static int t_failing_action(const mproc_args_t *args)
{
    (void)args;
    return 1;
}
MPROC_TARGET(t_failing_action)

/* args: barrier, board, child number, rounds. Waits `rounds` times, noting
 * its indexes. Exit 0, or 50 + the status's distance from MPROC_EBROKEN. */
static int t_party(const mproc_args_t *args)
{
    mproc_barrier_t *b;
    int64_t me = 0, rounds = 0;
    if (mproc_args_get_barrier(args, 0, &b) || mproc_args_get_int(args, 2, &me) ||
        mproc_args_get_int(args, 3, &rounds))
        return 100;
    board = test_shared_attach(args, 1, sizeof *board);
    if (!board)
        return 101;
    for (int64_t r = 0; r < rounds; r++) {
        int64_t idx;
        mproc_status_t st = mproc_barrier_wait(b, 30, &idx);
        if (st == MPROC_EBROKEN)
            return 50;
        if (st)
            return 102;
        board->index[me][r] = idx;
    }
    mproc_barrier_free(b);
    return 0;
}
MPROC_TARGET(t_party)

typedef struct party {
    mproc_barrier_t *b;
    test_shared_t shm;
    mproc_process_t *p[MAX_CHILDREN];
    int n;
} party_t;

static void party_open(party_t *pt, int64_t parties, mproc_target_fn action)
{
    memset(pt, 0, sizeof *pt);
    test_shared_create(&pt->shm, sizeof(board_t));
    board = pt->shm.addr;
    assert_int_equal(mproc_barrier_create(&pt->b, parties, action, MPROC_FOREVER), MPROC_OK);
}

static void party_start(party_t *pt, int64_t rounds)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_barrier(a, pt->b), MPROC_OK);
    test_shared_add_arg(&pt->shm, a);
    assert_int_equal(mproc_args_add_int(a, pt->n), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, rounds), MPROC_OK);
    assert_int_equal(mproc_args_type(a, 0), MPROC_ARG_BARRIER);
    pt->p[pt->n++] = test_start(t_party, a);
    mproc_args_free(a);
}

/* Polls the barrier's own count: the test's only way to know who waits. */
static void wait_for_waiting(party_t *pt, int64_t n)
{
    double until = test_now() + 60;
    while (mproc_barrier_n_waiting(pt->b) != n && test_now() < until)
        test_sleep(0.01);
    assert_int_equal(mproc_barrier_n_waiting(pt->b), n);
}

static void party_close(party_t *pt, int64_t expect_exit)
{
    for (int i = 0; i < pt->n; i++) {
        assert_int_equal(test_join(pt->p[i]), expect_exit);
        mproc_process_free(pt->p[i]);
    }
    mproc_barrier_free(pt->b);
    test_shared_release(&pt->shm);
    board = NULL;
}

static void parties_get_distinct_indexes_and_the_action_runs_once(void **state)
{
    (void)state;
    party_t pt;
    party_open(&pt, 3, t_count_action);
    assert_int_equal(mproc_barrier_parties(pt.b), 3);
    party_start(&pt, ROUNDS);
    party_start(&pt, ROUNDS);
    for (int r = 0; r < ROUNDS; r++) {
        int64_t mine = -1;
        assert_int_equal(mproc_barrier_wait(pt.b, 60, &mine), MPROC_OK);
        /* The action ran once, before anyone was released. */
        assert_int_equal(board->actions, r + 1);
        assert_true(mine >= 0 && mine < 3);
    }
    party_close(&pt, 0);
}

static void indexes_are_a_permutation(void **state)
{
    (void)state;
    party_t pt;
    party_open(&pt, 3, NULL);
    for (int c = 0; c < 3; c++)
        party_start(&pt, ROUNDS);
    for (int i = 0; i < pt.n; i++)
        assert_int_equal(test_join(pt.p[i]), 0);
    for (int r = 0; r < ROUNDS; r++) {
        int64_t seen = 0;
        for (int c = 0; c < 3; c++) {
            assert_true(board->index[c][r] >= 0 && board->index[c][r] < 3);
            seen |= (int64_t)1 << board->index[c][r];
        }
        assert_int_equal(seen, 7);
    }
    for (int i = 0; i < pt.n; i++)
        mproc_process_free(pt.p[i]);
    pt.n = 0;
    party_close(&pt, 0);
}

static void a_timeout_breaks_the_barrier_and_reset_mends_it(void **state)
{
    (void)state;
    mproc_barrier_t *b;
    int64_t idx = 5;
    assert_int_equal(mproc_barrier_create(&b, 0, NULL, 1), MPROC_EINVAL);
    assert_int_equal(mproc_barrier_create(&b, 2, NULL, 0.0 / 0.0), MPROC_EINVAL);
    assert_int_equal(mproc_barrier_create(&b, 1, NULL, MPROC_FOREVER), MPROC_OK);
    assert_int_equal(mproc_barrier_wait(b, 1, &idx), MPROC_OK);
    assert_int_equal(idx, 0);
    mproc_barrier_free(b);

    assert_int_equal(mproc_barrier_create(&b, 2, NULL, 0.3), MPROC_OK);
    double t0 = test_now();
    assert_int_equal(mproc_barrier_wait(b, MPROC_BARRIER_DEFAULT_TIMEOUT, &idx), MPROC_ETIMEDOUT);
    assert_true(test_now() - t0 >= 0.25 && test_now() - t0 < 10);
    assert_int_equal(idx, -1);
    assert_true(mproc_barrier_broken(b));
    assert_int_equal(mproc_barrier_wait(b, 1, &idx), MPROC_EBROKEN);
    assert_int_equal(mproc_barrier_n_waiting(b), 0);
    assert_int_equal(mproc_barrier_reset(b), MPROC_OK);
    assert_false(mproc_barrier_broken(b));
    assert_int_equal(mproc_barrier_wait(b, 0.1, NULL), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_barrier_abort(b), MPROC_OK);
    assert_true(mproc_barrier_broken(b));
    assert_int_equal(mproc_barrier_reset(b), MPROC_OK);
    assert_int_equal(mproc_barrier_wait(NULL, 1, &idx), MPROC_EINVAL);
    assert_int_equal(mproc_barrier_abort(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_barrier_parties(NULL), 0);
    mproc_barrier_free(b);
}

static void abort_and_reset_release_waiting_processes_broken(void **state)
{
    (void)state;
    for (int reset = 0; reset < 2; reset++) {
        party_t pt;
        party_open(&pt, 3, NULL);
        party_start(&pt, 1);
        party_start(&pt, 1);
        wait_for_waiting(&pt, 2);
        assert_int_equal(reset ? mproc_barrier_reset(pt.b) : mproc_barrier_abort(pt.b), MPROC_OK);
        for (int i = 0; i < pt.n; i++)
            assert_int_equal(test_join(pt.p[i]), 50);
        /* Reset: usable again once they left; abort: broken until reset. */
        assert_int_equal(mproc_barrier_broken(pt.b), !reset);
        assert_int_equal(mproc_barrier_wait(pt.b, 0.05, NULL),
                         reset ? MPROC_ETIMEDOUT : MPROC_EBROKEN);
        party_close(&pt, 50);
    }
}

static void a_failing_action_breaks_the_barrier(void **state)
{
    (void)state;
    party_t pt;
    party_open(&pt, 2, t_failing_action);
    party_start(&pt, 1);
    assert_int_equal(mproc_barrier_wait(pt.b, 60, NULL), MPROC_EBROKEN);
    assert_true(mproc_barrier_broken(pt.b));
    party_close(&pt, 50);
}

static void a_killed_waiter_breaks_the_barrier(void **state)
{
    (void)state;
    party_t pt;
    party_open(&pt, 3, NULL);
    party_start(&pt, 1);
    wait_for_waiting(&pt, 1);
    party_start(&pt, 1);
    wait_for_waiting(&pt, 2);
    assert_int_equal(mproc_process_kill(pt.p[1]), MPROC_OK);
    assert_int_equal(test_join(pt.p[0]), 50);
    assert_int_equal(mproc_barrier_wait(pt.b, 30, NULL), MPROC_EBROKEN);
    test_join(pt.p[1]);
    for (int i = 0; i < pt.n; i++)
        mproc_process_free(pt.p[i]);
    pt.n = 0;
    /* Reset forgets the dead: the barrier works again. */
    assert_int_equal(mproc_barrier_reset(pt.b), MPROC_OK);
    assert_false(mproc_barrier_broken(pt.b));
    party_start(&pt, 1);
    party_start(&pt, 1);
    assert_int_equal(mproc_barrier_wait(pt.b, 60, NULL), MPROC_OK);
    party_close(&pt, 0);
}

static int not_registered(const mproc_args_t *args)
{
    (void)args;
    return 0;
}

static void an_unregistered_action_is_refused(void **state)
{
    (void)state;
    mproc_barrier_t *b = (mproc_barrier_t *)&b;
    assert_int_equal(mproc_barrier_create(&b, 2, t_failing_action, 1), MPROC_OK);
    mproc_barrier_free(b);
    assert_int_equal(mproc_barrier_create(&b, 2, not_registered, 1),
                     MPROC_ENOTREGISTERED);
    assert_null(b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parties_get_distinct_indexes_and_the_action_runs_once),
        cmocka_unit_test(indexes_are_a_permutation),
        cmocka_unit_test(a_timeout_breaks_the_barrier_and_reset_mends_it),
        cmocka_unit_test(abort_and_reset_release_waiting_processes_broken),
        cmocka_unit_test(a_failing_action_breaks_the_barrier),
        cmocka_unit_test(a_killed_waiter_breaks_the_barrier),
        cmocka_unit_test(an_unregistered_action_is_refused),
    };
    return test_main(argc, argv, "barrier", tests, ARRAY_LEN(tests));
}
