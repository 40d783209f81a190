/*
 * What the tests need besides mproc: CMocka, the start method each run uses,
 * and a few OS probes (is a pid gone, which descriptors are open) that the
 * public API rightly does not offer. Each test binary is its own child: main()
 * calls mproc_init() first, so the spawn start method works.
 */
#ifndef MPROC_TEST_SUPPORT_H
#define MPROC_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mproc/mproc.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* 1 in a build with AddressSanitizer: it aborts on an impossible allocation
 * (instead of malloc returning NULL) and multiplies the memory used. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#ifndef TEST_UNDER_ASAN
#define TEST_UNDER_ASAN 0
#endif

/* Run `tests` under the start method named in argv[1] ("fork" or "spawn"). */
int test_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests, size_t n);
mproc_start_method_t test_method(void);

double test_now(void);
void test_sleep(double seconds);
int64_t test_getpid(void);
/* End process `pid` outright (a grandchild the test cannot join). */
void test_kill_pid(int64_t pid);
/* 1 once `pid` has ended (a zombie counts as ended), polling up to `timeout` s. */
int test_pid_gone(int64_t pid, double timeout);

/* A handshake for "the child is now blocked": once a child has reached the
 * point where its next step blocks, wait until `pid`'s main thread sleeps.
 * Linux reads its state in /proc; where the OS has no such probe (Windows,
 * macOS) it waits a fixed half second instead. 1 once asleep, 0 on timeout. */
int test_wait_asleep(int64_t pid, double timeout);
/* A flag any process can raise, workers included: wait until `path` exists.
 * 1 once it does, 0 on timeout. */
int test_wait_for_file(const char *path, double timeout);

/* Start `target(args)` with default options and return the process (asserts). */
mproc_process_t *test_start(mproc_target_fn target, const mproc_args_t *args);
/* A started child that sleeps `seconds` and returns 0; daemon: 0, 1 or
 * MPROC_DAEMON_INHERIT. Returns NULL on failure (usable inside children). */
mproc_process_t *test_start_sleeper(double seconds, int daemon);
/* Join with a generous bound and return the exit code (asserts). */
int64_t test_join(mproc_process_t *p);

/* Shared memory a child can write into: travels as a handle argument. */
typedef struct test_shared {
    void *addr;
    size_t size;
    intptr_t handle;
} test_shared_t;
void test_shared_create(test_shared_t *s, size_t size);
void test_shared_add_arg(const test_shared_t *s, mproc_args_t *args);
/* In a child: map the handle argument at `index`. Returns NULL on failure. */
void *test_shared_attach(const mproc_args_t *args, size_t index, size_t size);
void test_shared_release(test_shared_t *s);

/* POSIX: the open descriptors of this process (up to cap). Windows: 0. */
size_t test_open_fds(int *out, size_t cap);
/* Windows: an inheritable handle this process owns. POSIX: an fd without CLOEXEC. */
intptr_t test_leaky_handle(void);
/* Is `h` a valid handle / descriptor in this process? */
int test_handle_valid(intptr_t h);
/* Kill this process outright (POSIX: SIGKILL, exit code -9; Windows: TerminateProcess, 9). */
void test_kill_self(void);
/* Kill this process outright as test_kill_self does, its handles kept open
 * after it, until process `keeper` (a child of the test) ends: POSIX: a
 * child forked here holds every descriptor until then; Windows: each handle
 * is duplicated into `keeper` first. */
void test_die_leaving_handles_open(int64_t keeper);
/* POSIX: ignore SIGTERM from now on (a stubborn task); Windows: nothing to ignore. */
void test_ignore_sigterm(void);
/* The CPUs the OS reports online, counted apart from mproc (POSIX sysconf,
 * Windows GetSystemInfo). */
int test_online_cpus(void);
/* Linux: restrict this process to one of its CPUs and return 1; elsewhere 0. */
int test_pin_to_one_cpu(void);
/* End this process with a crash's status (POSIX: SIGABRT; Windows: 0xC0000005). */
void test_crash(void);

/* A pool behind a transport (its workers cannot be killed): map 12 items of
 * a registered task that naps 0.2 s, one per chunk, terminate at once, check
 * that the chunks the `workers` held kept their results and all the others
 * failed with MPROC_ECLOSED; then join and free the pool. */
void test_terminate_keeps_running(mproc_pool_t *pool, size_t workers);

/* The int64_t at p (a task's input or output, which need not be aligned). */
int64_t test_as_int(const void *p);

#endif
