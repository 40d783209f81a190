/*
 * What happens around a child's life: a normal exit terminates daemonic
 * children and joins the others, a killed parent takes its daemonic children
 * along, and a child holds no descriptor or handle it was not given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

typedef struct pids {
    volatile int64_t daemon_pid;
    volatile int64_t worker_pid;
    volatile int64_t ready;
} pids_t;

/* args: shared pids, then "return", "exit" or "hang". Children are never joined by hand. */
static int t_parent_of_two(const mproc_args_t *args)
{
    pids_t *pids = test_shared_attach(args, 0, sizeof(pids_t));
    const char *mode = "";
    mproc_args_get_str(args, 1, &mode);
    if (!pids)
        return 10;
    mproc_process_t *d = test_start_sleeper(120.0, 1), *w = test_start_sleeper(0.5, 0);
    if (!d || !w)
        return 11;
    int64_t pid;
    mproc_process_pid(d, &pid);
    pids->daemon_pid = pid;
    mproc_process_pid(w, &pid);
    pids->worker_pid = pid;
    pids->ready = 1;
    if (strcmp(mode, "hang") == 0)
        test_sleep(120.0);
    if (strcmp(mode, "exit") == 0)
        exit(0); /* as a main() that returns: the atexit handler of mproc_init() acts */
    return 0; /* leaving the target is a normal exit: the library handles d and w */
}
MPROC_TARGET(t_parent_of_two)

static mproc_process_t *start_parent_of_two(test_shared_t *shm, const char *mode)
{
    mproc_args_t *a;
    mproc_args_create(&a);
    test_shared_create(shm, sizeof(pids_t));
    test_shared_add_arg(shm, a);
    mproc_args_add_str(a, mode);
    mproc_process_t *p = test_start(t_parent_of_two, a);
    mproc_args_free(a);
    return p;
}

static void check_exit_rule(const char *mode)
{
    test_shared_t shm;
    mproc_process_t *p = start_parent_of_two(&shm, mode);
    double t0 = test_now();
    assert_int_equal(test_join(p), 0);
    pids_t *pids = shm.addr;
    assert_int_equal(pids->ready, 1);
    /* The parent waited for its non-daemonic child (0.5 s) before it ended. */
    assert_true(test_now() - t0 >= 0.4);
    assert_true(test_pid_gone(pids->worker_pid, 0.0));
    assert_true(test_pid_gone(pids->daemon_pid, 10.0));
    mproc_process_free(p);
    test_shared_release(&shm);
}

static void normal_exit_terminates_daemons_and_joins_others(void **state)
{
    (void)state;
    check_exit_rule("return");
}

static void exit_call_terminates_daemons_and_joins_others(void **state)
{
    (void)state;
    check_exit_rule("exit");
}

static void killed_parent_takes_daemonic_children_along(void **state)
{
    (void)state;
    test_shared_t shm;
    mproc_process_t *p = start_parent_of_two(&shm, "hang");
    pids_t *pids = shm.addr;
    double end = test_now() + 60;
    while (!pids->ready && test_now() < end)
        test_sleep(0.01);
    assert_int_equal(pids->ready, 1);
    assert_false(test_pid_gone(pids->daemon_pid, 0.0));
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    test_join(p);
    assert_true(test_pid_gone(pids->daemon_pid, 15.0));
    mproc_process_free(p);
    test_shared_release(&shm);
}

/* args: shared pids. Starts a non-daemonic grandchild, then waits to be killed. */
static int t_parent_of_sleeper(const mproc_args_t *args)
{
    pids_t *pids = test_shared_attach(args, 0, sizeof(pids_t));
    if (!pids)
        return 10;
    mproc_process_t *w = test_start_sleeper(60.0, 0);
    int64_t pid = 0;
    if (!w || mproc_process_pid(w, &pid))
        return 11;
    pids->worker_pid = pid;
    pids->ready = 1;
    test_sleep(120.0);
    return 0;
}
MPROC_TARGET(t_parent_of_sleeper)

static void sentinel_is_ready_when_child_ends_before_grandchild(void **state)
{
    (void)state;
    test_shared_t shm;
    mproc_args_t *a;
    mproc_args_create(&a);
    test_shared_create(&shm, sizeof(pids_t));
    test_shared_add_arg(&shm, a);
    mproc_process_t *p = test_start(t_parent_of_sleeper, a);
    mproc_args_free(a);
    pids_t *pids = shm.addr;
    double end = test_now() + 60;
    while (!pids->ready && test_now() < end)
        test_sleep(0.01);
    assert_int_equal(pids->ready, 1);
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    /* The sentinel alone (no waitpid shortcut): a grandchild holding a copy of
     * the child's link would keep it from turning ready for 60 s. */
    mproc_sentinel_t sentinel;
    assert_int_equal(mproc_process_sentinel(p, &sentinel), MPROC_OK);
    mproc_status_t st = mproc_wait(&sentinel, 1, 20.0, NULL);
    test_kill_pid(pids->worker_pid);
    assert_int_equal(st, MPROC_OK);
    test_join(p);
    mproc_process_free(p);
    test_shared_release(&shm);
}

/* args: file path. Appends "child" once the file holds something, or after 30 s. */
static int t_append_after_parent(const mproc_args_t *args)
{
    const char *path = "";
    mproc_args_get_str(args, 0, &path);
    double end = test_now() + 30.0;
    for (;;) {
        FILE *f = fopen(path, "r");
        int empty = !f || fgetc(f) == EOF;
        if (f)
            fclose(f);
        if (!empty || test_now() > end)
            break;
        test_sleep(0.01);
    }
    FILE *f = fopen(path, "a");
    if (!f)
        return 1;
    fputs("child\n", f);
    return fclose(f) != 0;
}
MPROC_TARGET(t_append_after_parent)

/* args: file path. Its stdout goes to the file, fully buffered; the line it
 * prints last is still in the buffer when it calls exit(). */
static int t_buffered_parent(const mproc_args_t *args)
{
    const char *path = "";
    mproc_args_get_str(args, 0, &path);
    if (!freopen(path, "a", stdout))
        return 10;
    static char buf[4096];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    mproc_args_t *a;
    mproc_process_t *c = NULL;
    if (mproc_args_create(&a) || mproc_args_add_str(a, path) ||
        mproc_process_create(&c, t_append_after_parent, a, NULL) || mproc_process_start(c))
        return 11;
    mproc_args_free(a);
    printf("parent\n");
    exit(0);
}
MPROC_TARGET(t_buffered_parent)

static void exit_flushes_output_before_joining(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "lifecycle-flush-%lld.txt", (long long)test_getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    mproc_args_t *a;
    mproc_args_create(&a);
    mproc_args_add_str(a, path);
    mproc_process_t *p = test_start(t_buffered_parent, a);
    mproc_args_free(a);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    char text[64] = "";
    f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    remove(path);
    text[n] = '\0';
    /* As CPython flushes stdout when the main module ends, before its exit
     * handlers wait for the children: what was printed first comes first. */
    assert_string_equal(text, "parent\nchild\n");
}

typedef struct fd_report {
    volatile int64_t done;
    volatile int64_t count;
    volatile int64_t fds[64];
    volatile int64_t leaky_visible;
} fd_report_t;

/* args: shared report, the parent's leaky handle value, a sibling's sentinel value. */
static int t_report_handles(const mproc_args_t *args)
{
    fd_report_t *r = test_shared_attach(args, 0, sizeof(fd_report_t));
    int64_t leaky = -1, sibling = -1;
    mproc_args_get_int(args, 1, &leaky);
    mproc_args_get_int(args, 2, &sibling);
    if (!r)
        return 10;
    int fds[64];
    size_t n = test_open_fds(fds, 64);
    for (size_t i = 0; i < n; i++)
        r->fds[i] = fds[i];
    r->count = (int64_t)n;
    r->leaky_visible = test_handle_valid((intptr_t)leaky) + 2 * test_handle_valid((intptr_t)sibling);
    r->done = 1;
    return 0;
}
MPROC_TARGET(t_report_handles)

static void child_receives_only_what_it_is_given(void **state)
{
    (void)state;
    intptr_t leaky = test_leaky_handle();
    assert_true(test_handle_valid(leaky));
    mproc_process_t *sibling = test_start_sleeper(60.0, 0);
    assert_non_null(sibling);
    mproc_sentinel_t sibling_sentinel;
    assert_int_equal(mproc_process_sentinel(sibling, &sibling_sentinel), MPROC_OK);

    test_shared_t shm;
    test_shared_create(&shm, sizeof(fd_report_t));
    mproc_args_t *a;
    mproc_args_create(&a);
    test_shared_add_arg(&shm, a);
    mproc_args_add_int(a, (int64_t)leaky);
    mproc_args_add_int(a, (int64_t)sibling_sentinel);
    mproc_process_t *p = test_start(t_report_handles, a);
    mproc_args_free(a);
    assert_int_equal(test_join(p), 0);
    fd_report_t *r = shm.addr;
    assert_int_equal(r->done, 1);

    if (test_method() == MPROC_METHOD_FORK) {
        /* Fork copies the caller's own descriptors, as Python's fork does, but
         * never a sibling's link. */
        assert_int_equal(r->leaky_visible, 1);
    } else {
#if defined(_WIN32)
        /* Spawn: neither the stray inheritable handle nor the sibling's. */
        assert_int_equal(r->leaky_visible, 0);
#else
        /* Spawn: stdio, the bootstrap link (3) and the shared memory passed on
         * purpose (4); descriptor numbers are per process, so the list says it all. */
        assert_true(r->count >= 5);
        for (int64_t i = 0; i < r->count; i++)
            assert_true(r->fds[i] <= 4);
#endif
    }
    mproc_process_free(p);
    mproc_process_kill(sibling);
    test_join(sibling);
    mproc_process_free(sibling);
    test_shared_release(&shm);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_exit_terminates_daemons_and_joins_others),
        cmocka_unit_test(exit_call_terminates_daemons_and_joins_others),
        cmocka_unit_test(exit_flushes_output_before_joining),
        cmocka_unit_test(killed_parent_takes_daemonic_children_along),
        cmocka_unit_test(sentinel_is_ready_when_child_ends_before_grandchild),
        cmocka_unit_test(child_receives_only_what_it_is_given),
    };
    return test_main(argc, argv, "lifecycle", tests, ARRAY_LEN(tests));
}
