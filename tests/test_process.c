/* Process: Python's multiprocessing.Process behaviour, under each start method. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "process_testing.h"
#include "support/test_support.h"

#if defined(_WIN32)
#define SIGTERM_CODE (-15)
#define SIGKILL_CODE (-15) /* Python: kill() is terminate() on Windows */
#else
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#define SIGTERM_CODE (-SIGTERM)
#define SIGKILL_CODE (-SIGKILL)
#endif

/* ---- targets --------------------------------------------------------------- */

static int t_return(const mproc_args_t *args)
{
    int64_t code = 0;
    mproc_args_get_int(args, 0, &code);
    return (int)code;
}
MPROC_TARGET(t_return)

static const unsigned char all_bytes[256] = {
#define B4(n) n, n + 1, n + 2, n + 3
#define B16(n) B4(n), B4(n + 4), B4(n + 8), B4(n + 12)
#define B64(n) B16(n), B16(n + 16), B16(n + 32), B16(n + 48)
    B64(0), B64(64), B64(128), B64(192)};

static mproc_args_t *sample_args(void)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, 42), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, INT64_MIN), MPROC_OK);
    assert_int_equal(mproc_args_add_double(a, 3.5), MPROC_OK);
    assert_int_equal(mproc_args_add_double(a, -1e-300), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, "h\xc3\xa9llo w\xc3\xb6rld"), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, ""), MPROC_OK);
    assert_int_equal(mproc_args_add_bytes(a, all_bytes, sizeof all_bytes), MPROC_OK);
    assert_int_equal(mproc_args_add_bytes(a, NULL, 0), MPROC_OK);
    return a;
}

/* Returns the number of the first check that failed, 0 when all match. */
static int t_check_args(const mproc_args_t *args)
{
    int64_t i;
    double d;
    const char *s;
    const void *b;
    size_t len;
    if (mproc_args_count(args) != 8) return 1;
    if (mproc_args_get_int(args, 0, &i) || i != 42) return 2;
    if (mproc_args_get_int(args, 1, &i) || i != INT64_MIN) return 3;
    if (mproc_args_get_double(args, 2, &d) || d != 3.5) return 4;
    if (mproc_args_get_double(args, 3, &d) || d != -1e-300) return 5;
    if (mproc_args_get_str(args, 4, &s) || strcmp(s, "h\xc3\xa9llo w\xc3\xb6rld") != 0) return 6;
    if (mproc_args_get_str(args, 5, &s) || strcmp(s, "") != 0) return 7;
    if (mproc_args_get_bytes(args, 6, &b, &len) || len != 256 || memcmp(b, all_bytes, 256)) return 8;
    if (mproc_args_get_bytes(args, 7, &b, &len) || len != 0 || !b) return 9;
    if (mproc_args_type(args, 8) != MPROC_ARG_NONE) return 10;
    return 0;
}
MPROC_TARGET(t_check_args)

/* args: expected name, expected daemon, parent pid, parent name. */
static int t_identity(const mproc_args_t *args)
{
    const char *name, *parent_name;
    int64_t daemon, parent_pid, pid;
    mproc_args_get_str(args, 0, &name);
    mproc_args_get_int(args, 1, &daemon);
    mproc_args_get_int(args, 2, &parent_pid);
    mproc_args_get_str(args, 3, &parent_name);
    mproc_process_t *self = mproc_current_process(), *parent = mproc_parent_process();
    int alive = 0;
    if (strcmp(mproc_process_name(self), name) != 0) return 1;
    if (mproc_process_daemon(self) != daemon) return 2;
    if (mproc_process_pid(self, &pid) || pid != test_getpid()) return 3;
    if (!parent) return 4;
    if (mproc_process_pid(parent, &pid) || pid != parent_pid) return 5;
    if (strcmp(mproc_process_name(parent), parent_name) != 0) return 6;
    if (mproc_process_is_alive(parent, &alive) || !alive) return 7;
    if (mproc_process_join(self, 0) != MPROC_ENOTCHILD) return 8;
    if (mproc_process_join(parent, 0.05) != MPROC_ETIMEDOUT) return 9;
    if (mproc_parent_pid(&pid) || pid != parent_pid) return 10;
    return 0;
}
MPROC_TARGET(t_identity)

static mproc_args_t *identity_args(const char *name, int daemon, int64_t ppid, const char *pname)
{
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    mproc_args_add_str(a, name);
    mproc_args_add_int(a, daemon);
    mproc_args_add_int(a, ppid);
    mproc_args_add_str(a, pname);
    return a;
}

/* A child that starts a grandchild and checks what the grandchild sees. */
static int t_nested(const mproc_args_t *args)
{
    (void)args;
    mproc_process_t *self = mproc_current_process(), *g;
    int64_t pid = 0, code = -1;
    char expect[128];
    snprintf(expect, sizeof expect, "%s:1", mproc_process_name(self));
    mproc_process_pid(self, &pid);
    mproc_args_t *a = identity_args(expect, 0, pid, mproc_process_name(self));
    if (mproc_process_create(&g, t_identity, a, NULL) || mproc_process_start(g))
        return 20;
    mproc_args_free(a);
    if (mproc_process_join(g, 60) || mproc_process_exitcode(g, &code))
        return 21;
    mproc_process_free(g);
    return (int)code;
}
MPROC_TARGET(t_nested)

static int t_daemon_spawns(const mproc_args_t *args)
{
    (void)args;
    mproc_process_t *g;
    if (mproc_process_create(&g, t_return, NULL, NULL))
        return 2;
    mproc_status_t st = mproc_process_start(g);
    int64_t pid = -1;
    mproc_process_pid(g, &pid);
    mproc_process_free(g);
    return st == MPROC_EDAEMON && pid == 0 ? 0 : 1;
}
MPROC_TARGET(t_daemon_spawns)

static int t_crash(const mproc_args_t *args)
{
    (void)args;
    test_crash();
    return 0;
}
MPROC_TARGET(t_crash)

static int unregistered(const mproc_args_t *args)
{
    (void)args;
    return 3;
}

static int marker; /* set by the parent before start: a fork child sees it, a spawn child not */
static int t_marker(const mproc_args_t *args)
{
    (void)args;
    return marker;
}
MPROC_TARGET(t_marker)

static int late(const mproc_args_t *args)
{
    (void)args;
    return 4;
}
static mproc_target_entry_t late_entry = {late, "late", NULL};

static mproc_process_t *sibling; /* a fork child sees the parent's copy */
static int t_touch_sibling(const mproc_args_t *args)
{
    (void)args;
    int alive;
    if (!sibling)
        return 0; /* spawn: nothing was copied */
    if (mproc_process_join(sibling, 0) != MPROC_ENOTCHILD) return 1;
    if (mproc_process_is_alive(sibling, &alive) != MPROC_ENOTCHILD) return 2;
    if (mproc_process_terminate(sibling) != MPROC_ENOTCHILD) return 3;
    mproc_process_free(sibling); /* frees the copy; the sibling runs on */
    return 0;
}
MPROC_TARGET(t_touch_sibling)

/* args: a duplex end; waits for "go", answers "done", exits 6. */
static int t_wait_for_go(const mproc_args_t *args)
{
    mproc_connection_t *c = NULL;
    char buf[4];
    size_t len = 0;
    if (mproc_args_unpack(args, "c", &c))
        return 1;
    int code = mproc_connection_recv_bytes_into(c, 60, buf, sizeof buf, &len) ||
                       mproc_connection_send_bytes(c, "done", 4)
                   ? 2
                   : 6;
    mproc_connection_free(c);
    return code;
}
MPROC_TARGET(t_wait_for_go)

/* ---- tests ----------------------------------------------------------------- */

static void exitcode_is_target_return_value(void **state)
{
    (void)state;
    mproc_args_t *a;
    mproc_args_create(&a);
    mproc_args_add_int(a, 7);
    mproc_process_t *p = test_start(t_return, a);
    assert_int_equal(test_join(p), 7);
    int64_t raw = 0;
    assert_int_equal(mproc_process_raw_status(p, &raw), MPROC_OK);
#if defined(_WIN32)
    assert_int_equal(raw, 7);
#else
    assert_true(WIFEXITED((int)raw));
    assert_int_equal(WEXITSTATUS((int)raw), 7);
#endif
    mproc_process_free(p);
    mproc_args_free(a);

    p = test_start(t_return, NULL); /* no args: get_int fails, target returns 0 */
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
}

static void args_reach_target_identically(void **state)
{
    (void)state;
    mproc_args_t *a = sample_args();
    mproc_process_t *p = test_start(t_check_args, a);
    mproc_args_free(a); /* the process holds its own copy */
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
}

static void join_timeout_then_terminate(void **state)
{
    (void)state;
    mproc_process_t *p = test_start_sleeper(60.0, MPROC_DAEMON_INHERIT);
    assert_non_null(p);

    double t0 = test_now();
    assert_int_equal(mproc_process_join(p, 0.3), MPROC_ETIMEDOUT);
    double waited = test_now() - t0;
    assert_true(waited >= 0.25);
    assert_true(waited < 10.0);

    int alive = 0;
    int64_t code = 0;
    assert_int_equal(mproc_process_is_alive(p, &alive), MPROC_OK);
    assert_int_equal(alive, 1);
    assert_int_equal(mproc_process_exitcode(p, &code), MPROC_OK);
    assert_true(code == MPROC_EXITCODE_NONE);

    t0 = test_now();
    assert_int_equal(mproc_process_join(p, 0), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_process_join(p, -5), MPROC_ETIMEDOUT);
    assert_true(test_now() - t0 < 5.0);
    assert_int_equal(mproc_process_close(p), MPROC_EBUSY);

    assert_int_equal(mproc_process_terminate(p), MPROC_OK);
    assert_int_equal(test_join(p), SIGTERM_CODE);
    assert_int_equal(mproc_process_is_alive(p, &alive), MPROC_OK);
    assert_int_equal(alive, 0);
    assert_int_equal(mproc_process_join(p, MPROC_FOREVER), MPROC_OK); /* joins again */
    assert_int_equal(mproc_process_terminate(p), MPROC_OK);          /* ended: no effect */
    assert_int_equal(test_join(p), SIGTERM_CODE);
    mproc_process_free(p);
}

static void kill_reports_signal(void **state)
{
    (void)state;
    mproc_process_t *p = test_start_sleeper(60.0, MPROC_DAEMON_INHERIT);
    assert_non_null(p);
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    assert_int_equal(test_join(p), SIGKILL_CODE);
    int64_t raw = 0;
    assert_int_equal(mproc_process_raw_status(p, &raw), MPROC_OK);
#if defined(_WIN32)
    assert_int_equal(raw, 0x10000);
#else
    assert_true(WIFSIGNALED((int)raw));
    assert_int_equal(WTERMSIG((int)raw), SIGKILL);
#endif
    mproc_process_free(p);
}

static void crash_exit_status(void **state)
{
    (void)state;
    mproc_process_t *p = test_start(t_crash, NULL);
    int64_t code = test_join(p), raw = 0;
    assert_int_equal(mproc_process_raw_status(p, &raw), MPROC_OK);
#if defined(_WIN32)
    assert_int_equal(code, 3221225477LL); /* Python reports the unsigned NTSTATUS */
    assert_int_equal((uint32_t)raw, 0xC0000005u);
#else
    assert_int_equal(code, -SIGABRT);
    assert_int_equal(WTERMSIG((int)raw), SIGABRT);
#endif
    mproc_process_free(p);
}

static void misuse_returns_documented_errors(void **state)
{
    (void)state;
    mproc_process_t *p;
    mproc_sentinel_t s;
    int64_t v;
    int alive;
    assert_int_equal(mproc_process_create(NULL, t_return, NULL, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_process_create(&p, NULL, NULL, NULL), MPROC_EINVAL);
    mproc_process_options_t bad = MPROC_PROCESS_OPTIONS_INIT;
    bad.daemon = 5;
    assert_int_equal(mproc_process_create(&p, t_return, NULL, &bad), MPROC_EINVAL);

    assert_int_equal(mproc_process_create(&p, t_return, NULL, NULL), MPROC_OK);
    assert_int_equal(mproc_process_join(p, 1), MPROC_ENOTSTARTED);
    assert_int_equal(mproc_process_sentinel(p, &s), MPROC_ENOTSTARTED);
    assert_int_equal(mproc_process_terminate(p), MPROC_ENOTSTARTED);
    assert_int_equal(mproc_process_join(p, NAN), MPROC_EINVAL);
    assert_int_equal(mproc_process_is_alive(p, &alive), MPROC_OK);
    assert_int_equal(alive, 0);
    assert_int_equal(mproc_process_pid(p, &v), MPROC_OK);
    assert_int_equal(v, 0);
    assert_int_equal(mproc_process_exitcode(p, &v), MPROC_OK);
    assert_true(v == MPROC_EXITCODE_NONE);

    assert_int_equal(mproc_process_start(p), MPROC_OK);
    assert_int_equal(mproc_process_start(p), MPROC_ESTARTED);
    assert_int_equal(mproc_process_set_daemon(p, 1), MPROC_ESTARTED);
    assert_int_equal(mproc_process_sentinel(p, &s), MPROC_OK);
    assert_int_equal(test_join(p), 0);

    assert_int_equal(mproc_process_close(p), MPROC_OK);
    assert_int_equal(mproc_process_close(p), MPROC_OK);
    assert_int_equal(mproc_process_start(p), MPROC_ECLOSED);
    assert_int_equal(mproc_process_join(p, 0), MPROC_ECLOSED);
    assert_int_equal(mproc_process_is_alive(p, &alive), MPROC_ECLOSED);
    assert_int_equal(mproc_process_exitcode(p, &v), MPROC_ECLOSED);
    assert_int_equal(mproc_process_pid(p, &v), MPROC_ECLOSED);
    assert_int_equal(mproc_process_sentinel(p, &s), MPROC_ECLOSED);
    assert_int_equal(mproc_process_kill(p), MPROC_ECLOSED);
    assert_string_equal(mproc_process_name(p), mproc_process_name(p)); /* still readable */
    mproc_process_free(p);

    mproc_process_t *self = mproc_current_process();
    assert_int_equal(mproc_process_join(self, 0), MPROC_ENOTCHILD);
    assert_int_equal(mproc_process_terminate(self), MPROC_ENOTCHILD);
    mproc_process_free(self); /* the library's object: ignored */
    assert_int_equal(mproc_process_is_alive(self, &alive), MPROC_OK);
    assert_int_equal(alive, 1);
    assert_null(mproc_parent_process());
    assert_string_equal(mproc_process_name(self), "MainProcess");
    assert_int_equal(mproc_process_daemon(self), 0);
    assert_int_equal(mproc_wait(NULL, 0, MPROC_FOREVER, NULL), MPROC_EINVAL);
}

static void unregistered_spawn_target_fails_before_start(void **state)
{
    (void)state;
    mproc_process_t *p;
    size_t before = 0, after = 0;
    assert_int_equal(mproc_active_children(NULL, 0, &before), MPROC_OK);
    assert_int_equal(mproc_process_create(&p, unregistered, NULL, NULL), MPROC_OK);
    mproc_status_t st = mproc_process_start(p);
    if (test_method() == MPROC_METHOD_SPAWN) {
        assert_int_equal(st, MPROC_ENOTREGISTERED);
        int64_t pid = -1;
        assert_int_equal(mproc_process_pid(p, &pid), MPROC_OK);
        assert_int_equal(pid, 0);
        assert_int_equal(mproc_active_children(NULL, 0, &after), MPROC_OK);
        assert_int_equal(after, before);
        assert_int_equal(mproc_process_join(p, 0), MPROC_ENOTSTARTED);
    } else {
        assert_int_equal(st, MPROC_OK); /* fork copies the function itself */
        assert_int_equal(test_join(p), 3);
    }
    mproc_process_free(p);
}

static void child_that_cannot_boot_fails_start(void **state)
{
    (void)state;
    /* Registered after mproc_init: the parent knows it, a spawned child does not. */
    assert_int_equal(mproc_register_target(&late_entry), MPROC_OK);
    mproc_process_t *p;
    assert_int_equal(mproc_process_create(&p, late, NULL, NULL), MPROC_OK);
    mproc_status_t st = mproc_process_start(p);
    if (test_method() == MPROC_METHOD_SPAWN) {
        assert_int_equal(st, MPROC_ENOTREGISTERED); /* reported by the child, synchronously */
        size_t n = 1;
        assert_int_equal(mproc_active_children(NULL, 0, &n), MPROC_OK);
        assert_int_equal(n, 0);
        assert_int_equal(mproc_process_join(p, 0), MPROC_ENOTSTARTED);
    } else {
        assert_int_equal(st, MPROC_OK);
        assert_int_equal(test_join(p), 4);
    }
    mproc_process_free(p);
}

static void sibling_copy_is_not_a_child(void **state)
{
    (void)state;
    sibling = test_start_sleeper(60.0, 0);
    assert_non_null(sibling);
    mproc_process_t *p = test_start(t_touch_sibling, NULL);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    assert_int_equal(mproc_process_kill(sibling), MPROC_OK);
    test_join(sibling);
    mproc_process_free(sibling);
    sibling = NULL;
}

static void freeing_a_running_child_keeps_it_running(void **state)
{
    (void)state;
    mproc_connection_t *mine, *theirs;
    mproc_args_t *a;
    assert_int_equal(mproc_pipe(1, &mine, &theirs), MPROC_OK);
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_pack(a, "c", theirs), MPROC_OK);
    mproc_connection_free(theirs);
    mproc_process_t *p = test_start(t_wait_for_go, a);
    mproc_args_free(a);
    size_t before = 99;
    assert_int_equal(mproc_active_children(NULL, 0, &before), MPROC_OK);
    assert_int_equal(before, 1);
    /* It is still running: free releases the object all the same. */
    mproc_process_free(p);
    size_t after = 99;
    assert_int_equal(mproc_active_children(NULL, 0, &after), MPROC_OK);
    assert_int_equal(after, 0); /* no object left to hand out */
    /* The child did not notice: it still answers, then ends and is reaped. */
    char buf[8];
    size_t len = 0;
    assert_int_equal(mproc_connection_send_bytes(mine, "go", 2), MPROC_OK);
    assert_int_equal(mproc_connection_recv_bytes_into(mine, 60, buf, sizeof buf, &len), MPROC_OK);
    assert_int_equal(len, 4);
    assert_int_equal(mproc_connection_recv_bytes_into(mine, 60, buf, sizeof buf, &len),
                     MPROC_EEOF);
    mproc_connection_free(mine);
}

static void names_count_up_and_can_be_set(void **state)
{
    (void)state;
    mproc_process_t *a, *b, *c;
    mproc_process_options_t named = MPROC_PROCESS_OPTIONS_INIT;
    named.name = "worker";
    assert_int_equal(mproc_process_create(&a, t_return, NULL, NULL), MPROC_OK);
    assert_int_equal(mproc_process_create(&b, t_return, NULL, NULL), MPROC_OK);
    assert_int_equal(mproc_process_create(&c, t_return, NULL, &named), MPROC_OK);
    unsigned na = 0, nb = 0;
    assert_int_equal(sscanf(mproc_process_name(a), "Process-%u", &na), 1);
    assert_int_equal(sscanf(mproc_process_name(b), "Process-%u", &nb), 1);
    assert_int_equal(nb, na + 1);
    assert_string_equal(mproc_process_name(c), "worker");
    assert_int_equal(mproc_process_set_name(c, "renamed"), MPROC_OK);
    assert_string_equal(mproc_process_name(c), "renamed");
    mproc_process_free(a);
    mproc_process_free(b);
    mproc_process_free(c);
}

/* Names keep counting past 2^32 process objects (weeks of a program that
 * starts a thousand a second): the number was an unsigned int, and names
 * began again at Process-0, as Python's never do. Run last: it leaves the
 * count high. */
static void names_keep_counting_past_two_to_the_32(void **state)
{
    (void)state;
#ifdef MPROC_FAULT_INJECTION
    mproc__process_test_number_children_from(((uint64_t)1 << 32) - 1);
    mproc_process_t *a, *b;
    assert_int_equal(mproc_process_create(&a, t_return, NULL, NULL), MPROC_OK);
    assert_int_equal(mproc_process_create(&b, t_return, NULL, NULL), MPROC_OK);
    assert_string_equal(mproc_process_name(a), "Process-4294967295");
    assert_string_equal(mproc_process_name(b), "Process-4294967296");
    mproc_process_free(a);
    mproc_process_free(b);
#else
    skip();
#endif
}

static void child_sees_its_identity_and_parent(void **state)
{
    (void)state;
    mproc_process_options_t o = MPROC_PROCESS_OPTIONS_INIT;
    o.name = "identity-check";
    mproc_args_t *a = identity_args(o.name, 0, test_getpid(), "MainProcess");
    mproc_process_t *p;
    assert_int_equal(mproc_process_create(&p, t_identity, a, &o), MPROC_OK);
    mproc_args_free(a);
    assert_int_equal(mproc_process_start(p), MPROC_OK);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
}

static void nested_children_are_named_n_colon_m(void **state)
{
    (void)state;
    mproc_process_t *p = test_start(t_nested, NULL);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
}

static void daemon_inherits_and_may_not_have_children(void **state)
{
    (void)state;
    mproc_process_t *p;
    assert_int_equal(mproc_process_create(&p, t_daemon_spawns, NULL, NULL), MPROC_OK);
    assert_int_equal(mproc_process_daemon(p), 0); /* inherited from MainProcess */
    assert_int_equal(mproc_process_set_daemon(p, 1), MPROC_OK);
    assert_int_equal(mproc_process_daemon(p), 1);
    assert_int_equal(mproc_process_start(p), MPROC_OK);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
}

typedef struct orphan {
    volatile int64_t waiting; /* the grandchild holds its parent's sentinel */
    volatile int64_t result;  /* 1: it turned ready, and the parent is not alive */
} orphan_t;

/* args: shared orphan_t. Waits for its parent to end, through the parent's sentinel. */
static int t_orphan(const mproc_args_t *args)
{
    orphan_t *o = test_shared_attach(args, 0, sizeof *o);
    mproc_process_t *parent = mproc_parent_process();
    mproc_sentinel_t s;
    int alive = 0;
    if (!o)
        return 10;
    if (!parent || mproc_process_sentinel(parent, &s) || mproc_process_is_alive(parent, &alive) ||
        !alive) {
        o->result = 11;
        return 11;
    }
    o->waiting = 1;
    mproc_status_t st = mproc_wait(&s, 1, 30.0, NULL);
    if (!st)
        st = mproc_process_join(parent, 0);
    if (!st)
        st = mproc_process_is_alive(parent, &alive);
    o->result = !st && !alive ? 1 : 100 + st;
    return 0;
}
MPROC_TARGET(t_orphan)

/* args: shared orphan_t. Starts t_orphan, then waits to be killed. */
static int t_orphan_parent(const mproc_args_t *args)
{
    orphan_t *o = test_shared_attach(args, 0, sizeof *o);
    if (!o || !test_start(t_orphan, args))
        return 10;
    test_sleep(120.0);
    return 0;
}
MPROC_TARGET(t_orphan_parent)

static void parent_sentinel_turns_ready_when_parent_ends(void **state)
{
    (void)state;
    test_shared_t shm;
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    test_shared_create(&shm, sizeof(orphan_t));
    test_shared_add_arg(&shm, a);
    mproc_process_t *p = test_start(t_orphan_parent, a);
    mproc_args_free(a);
    orphan_t *o = shm.addr;
    double end = test_now() + 60;
    while (!o->waiting && !o->result && test_now() < end)
        test_sleep(0.01);
    assert_int_equal(o->waiting, 1);
    assert_int_equal(o->result, 0); /* still waiting while the parent lives */
    assert_int_equal(mproc_process_kill(p), MPROC_OK);
    test_join(p);
    end = test_now() + 30;
    while (!o->result && test_now() < end)
        test_sleep(0.01);
    assert_int_equal(o->result, 1);
    mproc_process_free(p);
    test_shared_release(&shm);
}

static void active_children_lists_running_and_reaps(void **state)
{
    (void)state;
    mproc_process_t *slow = test_start_sleeper(60.0, 0), *quick = test_start(t_return, NULL);
    assert_non_null(slow);
    mproc_sentinel_t s;
    assert_int_equal(mproc_process_sentinel(quick, &s), MPROC_OK);
    assert_int_equal(mproc_wait(&s, 1, 30, NULL), MPROC_OK);

    mproc_process_t *list[8];
    size_t n = 0;
    assert_int_equal(mproc_active_children(list, ARRAY_LEN(list), &n), MPROC_OK);
    int found_slow = 0, found_quick = 0;
    for (size_t i = 0; i < n && i < ARRAY_LEN(list); i++) {
        found_slow |= list[i] == slow;
        found_quick |= list[i] == quick;
    }
    assert_true(found_slow);
    assert_false(found_quick);

    mproc_process_kill(slow);
    test_join(slow);
    assert_int_equal(mproc_active_children(list, ARRAY_LEN(list), &n), MPROC_OK);
    for (size_t i = 0; i < n; i++)
        assert_ptr_not_equal(list[i], slow);
    assert_int_equal(mproc_active_children(NULL, 1, &n), MPROC_EINVAL);
    mproc_process_free(slow);
    mproc_process_free(quick);
}

static void wait_on_several_sentinels(void **state)
{
    (void)state;
    mproc_process_t *slow = test_start_sleeper(60.0, 0), *quick = test_start_sleeper(0.2, 0);
    assert_non_null(slow);
    assert_non_null(quick);
    mproc_sentinel_t s[2];
    int ready[2] = {-1, -1};
    assert_int_equal(mproc_process_sentinel(slow, &s[0]), MPROC_OK);
    assert_int_equal(mproc_process_sentinel(quick, &s[1]), MPROC_OK);
    assert_int_equal(mproc_wait(s, 2, 30, ready), MPROC_OK);
    assert_int_equal(ready[0], 0);
    assert_int_equal(ready[1], 1);
    double t0 = test_now();
    assert_int_equal(mproc_wait(s, 1, 0.2, ready), MPROC_ETIMEDOUT);
    assert_true(test_now() - t0 >= 0.15);
    assert_int_equal(ready[0], 0);
    mproc_process_terminate(slow);
    assert_int_equal(mproc_wait(s, 1, 30, ready), MPROC_OK);
    assert_int_equal(test_join(slow), SIGTERM_CODE);
    assert_int_equal(test_join(quick), 0);
    mproc_process_free(slow);
    mproc_process_free(quick);
}

static void context_selects_start_method(void **state)
{
    (void)state;
    const mproc_context_t *spawn_ctx, *ctx;
    assert_int_equal(mproc_get_context(MPROC_METHOD_SPAWN, &spawn_ctx), MPROC_OK);
    assert_int_equal(mproc_context_start_method(spawn_ctx), MPROC_METHOD_SPAWN);
    assert_int_equal(mproc_get_context(MPROC_METHOD_DEFAULT, &ctx), MPROC_OK);
    assert_int_equal(mproc_context_start_method(ctx), test_method());
    assert_int_equal(mproc_set_start_method(test_method(), 0), MPROC_ECONTEXT);
    assert_int_equal(mproc_get_start_method(), test_method());
    assert_int_equal(mproc_get_context((mproc_start_method_t)99, &ctx), MPROC_EINVAL);
#if defined(_WIN32)
    assert_int_equal(mproc_get_context(MPROC_METHOD_FORK, &ctx), MPROC_ENOTSUP);
    assert_int_equal(mproc_set_start_method(MPROC_METHOD_FORK, 1), MPROC_ENOTSUP);
#endif

    /* A fork child sees the parent's memory, a spawn child starts afresh. */
    marker = 9;
    mproc_process_options_t o = MPROC_PROCESS_OPTIONS_INIT;
    o.context = spawn_ctx;
    mproc_process_t *p;
    assert_int_equal(mproc_process_create(&p, t_marker, NULL, &o), MPROC_OK);
    assert_int_equal(mproc_process_start(p), MPROC_OK);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    if (mproc_start_method_supported(MPROC_METHOD_FORK)) {
        assert_int_equal(mproc_get_context(MPROC_METHOD_FORK, &o.context), MPROC_OK);
        assert_int_equal(mproc_process_create(&p, t_marker, NULL, &o), MPROC_OK);
        assert_int_equal(mproc_process_start(p), MPROC_OK);
        assert_int_equal(test_join(p), 9);
        mproc_process_free(p);
    }
    marker = 0;
}

static void parent_pid_is_the_os_parent(void **state)
{
    (void)state;
    int64_t ppid = -1;
    assert_int_equal(mproc_parent_pid(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_parent_pid(&ppid), MPROC_OK);
#if defined(_WIN32)
    /* The test runner's pid, or 0 under Wine (started by a Unix process). */
    assert_true(ppid >= 0 && ppid != test_getpid());
#else
    assert_int_equal(ppid, (int64_t)getppid());
#endif
    /* In a child it is the starter's pid: child_sees_its_identity_and_parent. */
}


enum { NO_AFFINITY = 100 };
static int t_cpu_count_pinned(const mproc_args_t *args)
{
    (void)args;
    return test_pin_to_one_cpu() ? mproc_cpu_count() : NO_AFFINITY;
}
MPROC_TARGET(t_cpu_count_pinned)

static void cpu_count_is_what_this_process_may_use(void **state)
{
    (void)state;
    int n = mproc_cpu_count();
    assert_true(n >= 1);
    assert_true(n <= test_online_cpus());
    /* Pinned to one CPU (in a child, to leave this process alone), it counts one
     * even where the machine has more: the count follows the affinity. */
    mproc_process_t *p = test_start(t_cpu_count_pinned, NULL);
    int64_t code = test_join(p);
    mproc_process_free(p);
    if (code != NO_AFFINITY)
        assert_int_equal(code, 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exitcode_is_target_return_value),
        cmocka_unit_test(args_reach_target_identically),
        cmocka_unit_test(join_timeout_then_terminate),
        cmocka_unit_test(kill_reports_signal),
        cmocka_unit_test(crash_exit_status),
        cmocka_unit_test(misuse_returns_documented_errors),
        cmocka_unit_test(unregistered_spawn_target_fails_before_start),
        cmocka_unit_test(child_that_cannot_boot_fails_start),
        cmocka_unit_test(sibling_copy_is_not_a_child),
        cmocka_unit_test(freeing_a_running_child_keeps_it_running),
        cmocka_unit_test(names_count_up_and_can_be_set),
        cmocka_unit_test(child_sees_its_identity_and_parent),
        cmocka_unit_test(nested_children_are_named_n_colon_m),
        cmocka_unit_test(daemon_inherits_and_may_not_have_children),
        cmocka_unit_test(parent_sentinel_turns_ready_when_parent_ends),
        cmocka_unit_test(active_children_lists_running_and_reaps),
        cmocka_unit_test(wait_on_several_sentinels),
        cmocka_unit_test(context_selects_start_method),
        cmocka_unit_test(parent_pid_is_the_os_parent),
        cmocka_unit_test(cpu_count_is_what_this_process_may_use),
        cmocka_unit_test(names_keep_counting_past_two_to_the_32),
    };
    return test_main(argc, argv, "process", tests, ARRAY_LEN(tests));
}
