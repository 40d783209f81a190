/* The OS floor under start_join: fork + _exit + waitpid, and posix_spawn of
 * this same executable (which exits at once) + waitpid. */
#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench.h"

extern char **environ;

static void reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            bench_fail("waitpid", strerror(errno));
}

static double start_join_fork(long iterations)
{
    double t0 = bench_now();
    for (long i = 0; i < iterations; i++) {
        pid_t pid = fork();
        if (pid < 0)
            bench_fail("fork", strerror(errno));
        if (pid == 0)
            _exit(0);
        reap(pid);
    }
    return (bench_now() - t0) / (double)iterations;
}
BENCH_FIGURE("start_join_fork", "s", start_join_fork)

static double start_join_spawn(long iterations)
{
#if defined(__linux__)
    /* The path mproc spawns on Linux, so both pay the same lookup. */
    const char *exe = "/proc/self/exe";
#else
    const char *exe = bench_argv0; /* run.py gives an absolute path */
#endif
    char *argv[] = {(char *)exe, (char *)BENCH_RAW_CHILD_ARG, NULL};
    double t0 = bench_now();
    for (long i = 0; i < iterations; i++) {
        pid_t pid;
        int err = posix_spawn(&pid, exe, NULL, NULL, argv, environ);
        if (err)
            bench_fail("posix_spawn", strerror(err));
        reap(pid);
    }
    return (bench_now() - t0) / (double)iterations;
}
BENCH_FIGURE("start_join_spawn", "s", start_join_spawn)
