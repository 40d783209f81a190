#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#endif
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args_internal.h"
#include "platform.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#endif

static mproc_start_method_t method = MPROC_METHOD_SPAWN;

mproc_start_method_t test_method(void)
{
    return method;
}

int test_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests, size_t n)
{
    mproc_status_t st = mproc_init(argc, argv);
    if (st) {
        fprintf(stderr, "mproc_init: %s\n", mproc_strerror(st));
        return 2;
    }
    method = argc > 1 && strcmp(argv[1], "fork") == 0 ? MPROC_METHOD_FORK : MPROC_METHOD_SPAWN;
    st = mproc_set_start_method(method, 1);
    if (st) {
        fprintf(stderr, "start method %s: %s\n", mproc_start_method_name(method),
                mproc_strerror(st));
        return 2;
    }
    char name[128];
    snprintf(name, sizeof name, "%s/%s", group, mproc_start_method_name(method));
    return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

double test_now(void)
{
    return mproc__os_now();
}

int64_t test_getpid(void)
{
    return mproc__os_getpid();
}

void test_sleep(double seconds)
{
#if defined(_WIN32)
    Sleep((DWORD)(seconds * 1000));
#else
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
#endif
}

void test_kill_pid(int64_t pid)
{
#if defined(_WIN32)
    HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
    if (h) {
        TerminateProcess(h, 9);
        CloseHandle(h);
    }
#else
    kill((pid_t)pid, SIGKILL);
#endif
}

#if defined(__linux__)
/* The scheduler state of `pid`'s main thread ('R', 'S', 'D'...), or 0. */
static char main_thread_state(int64_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *close = strrchr(line, ')'); /* the name may hold spaces and parentheses */
    return close && close[1] == ' ' ? close[2] : 0;
}
#endif

static int pid_running(int64_t pid)
{
#if defined(_WIN32)
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h)
        return 0;
    DWORD code = 0;
    BOOL ok = GetExitCodeProcess(h, &code);
    CloseHandle(h);
    return ok && code == STILL_ACTIVE;
#else
    if (kill((pid_t)pid, 0) != 0)
        return 0;
#if defined(__linux__)
    /* An orphan's zombie may wait for a PID 1 that never reaps: ended all the same. */
    char state = main_thread_state(pid);
    return state && state != 'Z' && state != 'X';
#else
    return 1;
#endif
#endif
}

int test_pid_gone(int64_t pid, double timeout)
{
    double end = test_now() + timeout;
    while (pid_running(pid)) {
        if (test_now() > end)
            return 0;
        test_sleep(0.02);
    }
    return 1;
}

int test_wait_asleep(int64_t pid, double timeout)
{
#if defined(__linux__)
    double end = test_now() + timeout;
    for (;;) {
        char state = main_thread_state(pid);
        if (state == 'S')
            return 1;
        if (!state || state == 'Z' || test_now() > end)
            return 0;
        test_sleep(0.005);
    }
#else
    (void)pid;
    (void)timeout;
    test_sleep(0.5); /* no portable probe of a thread's wait state */
    return 1;
#endif
}

int test_wait_for_file(const char *path, double timeout)
{
    double end = test_now() + timeout;
    for (;;) {
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            return 1;
        }
        if (test_now() > end)
            return 0;
        test_sleep(0.005);
    }
}

mproc_process_t *test_start(mproc_target_fn target, const mproc_args_t *args)
{
    mproc_process_t *p = NULL;
    assert_int_equal(mproc_process_create(&p, target, args, NULL), MPROC_OK);
    assert_int_equal(mproc_process_start(p), MPROC_OK);
    return p;
}

static int test_sleeper(const mproc_args_t *args)
{
    double seconds = 0;
    mproc_args_get_double(args, 0, &seconds);
    test_sleep(seconds);
    return 0;
}
MPROC_TARGET(test_sleeper)

mproc_process_t *test_start_sleeper(double seconds, int daemon)
{
    mproc_args_t *a;
    mproc_process_t *p = NULL;
    mproc_process_options_t o = MPROC_PROCESS_OPTIONS_INIT;
    o.daemon = daemon;
    if (mproc_args_create(&a))
        return NULL;
    mproc_status_t st = mproc_args_add_double(a, seconds);
    if (!st)
        st = mproc_process_create(&p, test_sleeper, a, &o);
    mproc_args_free(a);
    if (!st && (st = mproc_process_start(p)) != MPROC_OK)
        mproc_process_free(p);
    return st ? NULL : p;
}

int64_t test_join(mproc_process_t *p)
{
    int64_t code = 0;
    assert_int_equal(mproc_process_join(p, 60.0), MPROC_OK);
    assert_int_equal(mproc_process_exitcode(p, &code), MPROC_OK);
    return code;
}

void test_shared_create(test_shared_t *s, size_t size)
{
    mproc__os_shm_t shm;
    assert_int_equal(mproc__os_shm_create(size, &shm), MPROC_OK);
    memset(shm.addr, 0, size);
    s->addr = shm.addr;
    s->size = shm.size;
    s->handle = shm.handle;
}

void test_shared_add_arg(const test_shared_t *s, mproc_args_t *args)
{
    assert_int_equal(mproc__args_add_handle(args, s->handle), MPROC_OK);
}

void *test_shared_attach(const mproc_args_t *args, size_t index, size_t size)
{
    mproc__os_handle_t h;
    mproc__os_shm_t shm;
    if (mproc__args_get_handle(args, index, &h) != MPROC_OK)
        return NULL;
    return mproc__os_shm_attach(h, size, &shm) == MPROC_OK ? shm.addr : NULL;
}

void test_shared_release(test_shared_t *s)
{
    mproc__os_shm_t shm = {s->addr, s->size, s->handle, 0};
    mproc__os_shm_release(&shm);
}

size_t test_open_fds(int *out, size_t cap)
{
    size_t n = 0;
#if !defined(_WIN32)
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1 && n < cap)
            out[n++] = fd;
#else
    (void)out;
    (void)cap;
#endif
    return n;
}

intptr_t test_leaky_handle(void)
{
#if defined(_WIN32)
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    return (intptr_t)CreateEventW(&sa, TRUE, FALSE, NULL);
#else
    /* No O_CLOEXEC, as careless code does; numbered above what a child gets on purpose. */
    int fd = open("/dev/null", O_RDONLY);
    int high = fcntl(fd, F_DUPFD, 100);
    close(fd);
    return high;
#endif
}

int test_handle_valid(intptr_t h)
{
#if defined(_WIN32)
    DWORD flags;
    return GetHandleInformation((HANDLE)h, &flags) != 0;
#else
    return fcntl((int)h, F_GETFD) != -1;
#endif
}

void test_crash(void)
{
#if defined(_WIN32)
    TerminateProcess(GetCurrentProcess(), 0xC0000005u);
#else
    abort();
#endif
}

void test_kill_self(void)
{
#if defined(_WIN32)
    TerminateProcess(GetCurrentProcess(), 9);
#else
    kill(getpid(), SIGKILL);
#endif
}

void test_die_leaving_handles_open(int64_t keeper)
{
#if defined(_WIN32)
    HANDLE to = OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)keeper);
    /* Handle values are multiples of 4; a young process has few. */
    for (ULONG_PTR h = 4; to != NULL && h < 0x4000; h += 4) {
        HANDLE dup;
        (void)DuplicateHandle(GetCurrentProcess(), (HANDLE)h, to, &dup, 0, FALSE,
                              DUPLICATE_SAME_ACCESS);
    }
#else
    if (fork() == 0) {
        double end = test_now() + 300;
        while (kill((pid_t)keeper, 0) == 0 && test_now() < end)
            test_sleep(0.01);
        _exit(0);
    }
#endif
    test_kill_self();
}

void test_ignore_sigterm(void)
{
#if !defined(_WIN32)
    signal(SIGTERM, SIG_IGN);
#endif
}

int test_online_cpus(void)
{
#if defined(_WIN32)
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return (int)info.dwNumberOfProcessors;
#else
    return (int)sysconf(_SC_NPROCESSORS_ONLN);
#endif
}

int test_pin_to_one_cpu(void)
{
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            return sched_setaffinity(0, sizeof set, &set) == 0;
        }
    }
    return 0;
#else
    return 0;
#endif
}

int64_t test_as_int(const void *p)
{
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A task slow enough to be running when terminate comes. */
static int test_naps(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    test_sleep(0.2);
    return 0;
}
MPROC_TASK(test_naps)

void test_terminate_keeps_running(mproc_pool_t *pool, size_t workers)
{
    enum { N = 12 };
    const void *items[N] = {0};
    size_t lens[N] = {0};
    mproc_async_result_t *r = NULL;
    assert_int_equal(mproc_pool_map_async(pool, test_naps, items, lens, N, 1, NULL, &r), MPROC_OK);
    assert_int_equal(mproc_pool_terminate(pool), MPROC_OK);
    assert_int_equal(mproc_async_result_get(r, 5), MPROC_ECLOSED);
    size_t ok = 0, closed = 0;
    for (size_t i = 0; i < N; i++) {
        const void *p;
        size_t len;
        mproc_status_t st = mproc_async_result_item(r, i, &p, &len);
        ok += st == MPROC_OK;
        closed += st == MPROC_ECLOSED;
    }
    assert_int_equal(ok + closed, N);
    assert_true(ok <= workers); /* at most the chunk each worker was running */
    assert_int_equal(mproc_pool_join(pool, 5), MPROC_OK);
    mproc_async_result_free(r);
    mproc_pool_free(pool);
}
