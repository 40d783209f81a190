#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "os_coverage.h"
#include "platform.h"

double mproc__os_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mproc__os_cpu_count(void)
{
#if defined(__linux__)
    /* Python's cpu_count() counts the machine; affinity is what this process may use. */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int64_t mproc__os_getpid(void)
{
    return (int64_t)getpid();
}

int64_t mproc__os_getppid(void)
{
    return (int64_t)getppid();
}

int mproc__os_fork_supported(void)
{
    return 1;
}

void mproc__os_die(void)
{
    kill(getpid(), SIGKILL);
    _exit(137); /* not reached: SIGKILL cannot be caught */
}

/* Only children call _exit, so a lazily bound call would be resolved again in
 * every fork child (a symbol lookup and a copy-on-write fault each time). A
 * pointer in data is bound once, when the program loads. */
static void (*volatile exit_now)(int) = _exit;

void mproc__os_exit(int code)
{
    fflush(NULL);
    MPROC__OS_COVERAGE_EXITING();
    exit_now(code);
    _exit(code); /* not reached; tells the compiler this function does not return */
}
