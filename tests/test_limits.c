/*
 * Resource limits (POSIX): with no descriptor left (RLIMIT_NOFILE) or no
 * process left (RLIMIT_NPROC), pipe creation, process start and pool creation
 * fail with a status, leave their objects usable or freeable and leak no
 * descriptor. Each case runs in a child, which lowers its own limits; the
 * descriptor-starved cases try every number of free descriptors from none up
 * to enough, so each allocation on the way fails once.
 *
 * mproc-lanes: posix-only (tests/CMakeLists.txt builds it if(UNIX))
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "posix/os_error.h"
#include "support/test_support.h"

#define SKIPPED 77 /* a child's exit code: the case cannot run here */
#define MAX_FDS 1024

/* In a child: report the failed condition and end the case with code 1. */
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "test_limits:%d: failed: %s\n", __LINE__, #cond);         \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

typedef struct fdset {
    int fds[MAX_FDS];
    size_t n;
} fdset_t;

static void fds_now(fdset_t *s)
{
    s->n = test_open_fds(s->fds, MAX_FDS);
}

static int fds_same(const fdset_t *a, const fdset_t *b)
{
    if (a->n != b->n || memcmp(a->fds, b->fds, a->n * sizeof a->fds[0]) != 0) {
        fprintf(stderr, "test_limits: %zu descriptors before, %zu after\n", a->n, b->n);
        return 0;
    }
    return 1;
}

static int exits_7(const mproc_args_t *args)
{
    (void)args;
    return 7;
}
MPROC_TARGET(exits_7)

/* ---- no descriptor left ------------------------------------------------------ */

static int fillers[MAX_FDS];
static size_t nfillers;

/* Take every descriptor below the limit but `left`. */
static void leave_free(size_t left)
{
    int fd;
    while (nfillers < MAX_FDS && (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0)
        fillers[nfillers++] = fd;
    for (; left && nfillers; left--)
        close(fillers[--nfillers]);
}

static void release_all(void)
{
    while (nfillers)
        close(fillers[--nfillers]);
}

/* A limit a little above what is open now: filling it stays cheap. */
static int lower_nofile(void)
{
    fdset_t now;
    fds_now(&now);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    rl.rlim_cur = (rlim_t)now.fds[now.n - 1] + 64;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

typedef mproc_status_t (*attempt_fn)(void);

/* A fork start on Linux makes no descriptor (posix/os_child.c). */
static int may_need_none;

/* Run `attempt` with 0, 1, 2... free descriptors until it succeeds: each
 * failure is MPROC_EMFILE and leaves the descriptors as they were. */
static int with_fewer_descriptors(attempt_fn attempt, const char *what)
{
    fdset_t before, after;
    for (size_t left = 0; left < 40; left++) {
        fds_now(&before);
        leave_free(left);
        mproc_status_t st = attempt();
        release_all();
        fds_now(&after);
        if (st == MPROC_OK) {
            printf("test_limits: %s needs %zu free descriptors\n", what, left);
            CHECK(left > 0 || may_need_none);
            return 0;
        }
        if (st != MPROC_EMFILE)
            fprintf(stderr, "test_limits: %s with %zu free: %s\n", what, left,
                    mproc_err_name(st));
        CHECK(st == MPROC_EMFILE);
        CHECK(fds_same(&before, &after));
    }
    CHECK(!"never succeeded");
    return 1;
}

static int duplex_flag;

static mproc_status_t try_pipe(void)
{
    mproc_connection_t *a = (mproc_connection_t *)&a, *b = (mproc_connection_t *)&b;
    mproc_status_t st = mproc_pipe(duplex_flag, &a, &b);
    if (st == MPROC_OK) {
        release_all(); /* the descriptors it took are its own: a message goes through */
        st = mproc_connection_send_bytes(duplex_flag ? a : b, "x", 1);
        size_t len = 0;
        char got = 0;
        if (!st)
            st = mproc_connection_recv_bytes_into(duplex_flag ? b : a, 10, &got, 1, &len);
        if (!st && got != 'x')
            st = MPROC_EOS;
        mproc_connection_free(a);
        mproc_connection_free(b);
        return st;
    }
    return a || b ? MPROC_EINVAL : st; /* out-parameters are NULL on failure */
}

static mproc_process_t *victim;

/* A failed start leaves the process startable. */
static mproc_status_t try_start(void)
{
    mproc_status_t st = mproc_process_start(victim);
    if (st == MPROC_OK) {
        release_all();
        int64_t code = -1;
        if (mproc_process_join(victim, 60) || mproc_process_exitcode(victim, &code) || code != 7)
            return MPROC_EOS;
    }
    return st;
}

static mproc_status_t try_pool(void)
{
    mproc_pool_t *pool = (mproc_pool_t *)&pool;
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 2;
    mproc_status_t st = mproc_pool_create(&pool, &o);
    if (st)
        return pool ? MPROC_EINVAL : st;
    release_all();
    mproc_pool_close(pool);
    st = mproc_pool_join(pool, 60);
    mproc_pool_free(pool);
    return st;
}

static int starved_of_descriptors(const mproc_args_t *args)
{
    (void)args;
    CHECK(lower_nofile() == 0);
    duplex_flag = 0;
    if (with_fewer_descriptors(try_pipe, "a one-way pipe"))
        return 1;
    duplex_flag = 1;
    if (with_fewer_descriptors(try_pipe, "a duplex pipe"))
        return 1;
    CHECK(mproc_process_create(&victim, exits_7, NULL, NULL) == MPROC_OK);
    may_need_none = mproc_get_start_method() == MPROC_METHOD_FORK;
    if (with_fewer_descriptors(try_start, "a process start"))
        return 1;
    may_need_none = 0;
    mproc_process_free(victim);
    return with_fewer_descriptors(try_pool, "a pool of 2");
}
MPROC_TARGET(starved_of_descriptors)

static int sleeps_then_exits_7(const mproc_args_t *args)
{
    (void)args;
    test_sleep(0.3);
    return 7;
}
MPROC_TARGET(sleeps_then_exits_7)

/* A fork start needs no descriptor where there are pidfds, and neither does a
 * timed join: with none left to make the sentinel it polls, and still keeps
 * its deadline and gets the exit code. */
static int joined_without_descriptors(const mproc_args_t *args)
{
    (void)args;
    if (mproc_get_start_method() != MPROC_METHOD_FORK)
        return SKIPPED;
    CHECK(lower_nofile() == 0);
    mproc_process_t *p = NULL;
    CHECK(mproc_process_create(&p, sleeps_then_exits_7, NULL, NULL) == MPROC_OK);
    leave_free(0);
    mproc_status_t started = mproc_process_start(p);
    if (started == MPROC_EMFILE) { /* no pidfds here: a fork child has a link */
        release_all();
        mproc_process_free(p);
        return SKIPPED;
    }
    double t0 = test_now();
    mproc_status_t early = started ? started : mproc_process_join(p, 0.05);
    double waited = test_now() - t0;
    mproc_status_t late = started ? started : mproc_process_join(p, 30);
    int64_t code = -1;
    mproc_status_t got = mproc_process_exitcode(p, &code);
    release_all();
    CHECK(started == MPROC_OK);
    CHECK(early == MPROC_ETIMEDOUT);
    CHECK(waited >= 0.04 && waited < 10.0);
    CHECK(late == MPROC_OK);
    CHECK(got == MPROC_OK && code == 7);
    mproc_process_free(p);
    return 0;
}
MPROC_TARGET(joined_without_descriptors)

/* ---- no process left ----------------------------------------------------------- */

/* The limit does not bind root: become nobody first (in this child only). */
static int unprivileged(void)
{
    if (geteuid() != 0)
        return 1;
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        printf("test_limits: skipped: cannot drop root to uid 65534: %s\n", strerror(errno));
        return 0;
    }
    return 1;
}

static int set_nproc(rlim_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NPROC, &rl) != 0)
        return -1;
    rl.rlim_cur = n < rl.rlim_max ? n : rl.rlim_max;
    return setrlimit(RLIMIT_NPROC, &rl);
}

static int starved_of_processes(const mproc_args_t *args)
{
    (void)args;
    if (!unprivileged())
        return SKIPPED;
    fdset_t before, after;
    mproc_process_t *p = NULL;
    mproc_pool_t *pool = (mproc_pool_t *)&pool;
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 2;
    CHECK(mproc_process_create(&p, exits_7, NULL, NULL) == MPROC_OK);
    fds_now(&before);
    CHECK(set_nproc(1) == 0); /* this user already has a process: this one */
    mproc_status_t st = mproc_process_start(p);
    if (st != MPROC_EAGAIN)
        fprintf(stderr, "test_limits: start with no process left: %s\n", mproc_err_name(st));
    CHECK(st == MPROC_EAGAIN);
    st = mproc_pool_create(&pool, &o);
    if (st != MPROC_EAGAIN)
        fprintf(stderr, "test_limits: pool with no process left: %s\n", mproc_err_name(st));
    CHECK(st == MPROC_EAGAIN);
    CHECK(pool == NULL);
    fds_now(&after);
    CHECK(fds_same(&before, &after));
    CHECK(set_nproc(RLIM_INFINITY) == 0);
    CHECK(mproc_process_start(p) == MPROC_OK); /* the failed start left it usable */
    int64_t code = -1;
    CHECK(mproc_process_join(p, 60) == MPROC_OK);
    CHECK(mproc_process_exitcode(p, &code) == MPROC_OK && code == 7);
    mproc_process_free(p);
    return 0;
}
MPROC_TARGET(starved_of_processes)

static void run_case(mproc_target_fn target)
{
    mproc_process_t *p = test_start(target, NULL);
    int64_t code = test_join(p);
    mproc_process_free(p);
    if (code == SKIPPED)
        skip();
    assert_int_equal(code, 0);
}

static void no_descriptor_left_gives_emfile_and_leaks_nothing(void **state)
{
    (void)state;
    run_case(starved_of_descriptors);
}

static void fork_child_is_joined_with_no_descriptor_left(void **state)
{
    (void)state;
    run_case(joined_without_descriptors);
}

static void no_process_left_gives_eagain_and_leaks_nothing(void **state)
{
    (void)state;
    run_case(starved_of_processes);
}

/* What callers test for: each limit or refusal the OS reports has its own status. */
static void errno_values_map_to_documented_statuses(void **state)
{
    (void)state;
    static const struct {
        int err;
        mproc_status_t st;
    } map[] = {
        {ENOMEM, MPROC_ENOMEM}, {EMFILE, MPROC_EMFILE},     {ENFILE, MPROC_EMFILE},
        {EACCES, MPROC_EACCES}, {EPERM, MPROC_EACCES},      {ENOENT, MPROC_ENOENT},
        {EAGAIN, MPROC_EAGAIN}, {EPIPE, MPROC_EEOF},        {ECONNRESET, MPROC_EEOF},
        {EINVAL, MPROC_EINVAL}, {EBADF, MPROC_EINVAL},      {ETIMEDOUT, MPROC_ETIMEDOUT},
        {EIO, MPROC_EOS},       {0, MPROC_EOS},
    };
    for (size_t i = 0; i < ARRAY_LEN(map); i++)
        assert_int_equal(mproc__os_status_from_errno(map[i].err), map[i].st);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_descriptor_left_gives_emfile_and_leaks_nothing),
        cmocka_unit_test(fork_child_is_joined_with_no_descriptor_left),
        cmocka_unit_test(no_process_left_gives_eagain_and_leaks_nothing),
        cmocka_unit_test(errno_values_map_to_documented_statuses),
    };
    return test_main(argc, argv, "limits", tests, ARRAY_LEN(tests));
}
