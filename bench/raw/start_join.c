/* The OS floor under start_join: fork + _exit + waitpid, and posix_spawn of
 * this same executable (which exits at once) + waitpid; median of window
 * means, as the mproc side. */
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

static void fork_one(void *ctx)
{
    (void)ctx;
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    if (pid == 0)
        _exit(0);
    reap(pid);
}

static double start_join_fork(long iterations)
{
    return bench_median_window(iterations, fork_one, NULL);
}
BENCH_FIGURE("start_join_fork", "s", start_join_fork)

static void spawn_one(void *ctx)
{
    char **argv = ctx;
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
    if (err)
        bench_fail("posix_spawn", strerror(err));
    reap(pid);
}

static double start_join_spawn(long iterations)
{
#if defined(__linux__)
    /* The path mproc spawns on Linux, so both pay the same lookup. */
    const char *exe = "/proc/self/exe";
#else
    const char *exe = bench_argv0; /* run.py gives an absolute path */
#endif
    char *argv[] = {(char *)exe, (char *)BENCH_RAW_CHILD_ARG, NULL};
    return bench_median_window(iterations, spawn_one, argv);
}
BENCH_FIGURE("start_join_spawn", "s", start_join_spawn)
