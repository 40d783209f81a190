#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#if defined(__GLIBC__)
#include <stdio_ext.h>
#endif
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

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(mproc__os_mutex_t), "mutex storage");

mproc_status_t mproc__os_mutex_init(mproc__os_mutex_t *m)
{
    return pthread_mutex_init((pthread_mutex_t *)(void *)m, NULL) == 0 ? MPROC_OK : MPROC_EOS;
}

void mproc__os_mutex_lock(mproc__os_mutex_t *m)
{
    pthread_mutex_lock((pthread_mutex_t *)(void *)m);
}

void mproc__os_mutex_unlock(mproc__os_mutex_t *m)
{
    pthread_mutex_unlock((pthread_mutex_t *)(void *)m);
}

_Static_assert(sizeof(pthread_cond_t) <= sizeof(mproc__os_cond_t), "condition storage");

mproc_status_t mproc__os_cond_init(mproc__os_cond_t *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return MPROC_EOS;
    int rc = 0;
#if !defined(__APPLE__)
    /* Deadlines are on mproc__os_now()'s clock (macOS waits relative instead). */
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
#endif
    if (!rc)
        rc = pthread_cond_init((pthread_cond_t *)(void *)c, &attr);
    pthread_condattr_destroy(&attr);
    return rc ? MPROC_EOS : MPROC_OK;
}

void mproc__os_cond_destroy(mproc__os_cond_t *c)
{
    pthread_cond_destroy((pthread_cond_t *)(void *)c);
}

mproc_status_t mproc__os_cond_wait(mproc__os_cond_t *c, mproc__os_mutex_t *m, double deadline)
{
    pthread_cond_t *cv = (pthread_cond_t *)(void *)c;
    pthread_mutex_t *mx = (pthread_mutex_t *)(void *)m;
    if (deadline < 0) {
        pthread_cond_wait(cv, mx);
        return MPROC_OK;
    }
    double left = deadline - mproc__os_now();
    if (left <= 0)
        return MPROC_ETIMEDOUT;
    struct timespec ts;
#if defined(__APPLE__)
    ts.tv_sec = (time_t)left;
    ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait_relative_np(cv, mx, &ts);
#else
    ts.tv_sec = (time_t)deadline;
    ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait(cv, mx, &ts);
#endif
    return MPROC_OK; /* a wake-up or a timeout alike: the caller looks again */
}

void mproc__os_cond_broadcast(mproc__os_cond_t *c)
{
    pthread_cond_broadcast((pthread_cond_t *)(void *)c);
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

/* Only children call these, so a lazily bound call would be resolved again in
 * every fork child (a symbol lookup and a copy-on-write fault each time). A
 * pointer in data is bound once, when the program loads. */
static void (*volatile exit_now)(int) = _exit;
#if defined(__GLIBC__)
static size_t (*volatile pending_bytes)(FILE *) = __fpending;
#endif

/* As CPython's child flushes sys.stdout and sys.stderr before os._exit. The
 * start flushed every stream, so the others hold only what the target wrote
 * and left open, which a C program's _exit drops as Python's does. A stream
 * with nothing to write is left untouched: flushing it would take its lock,
 * a write to a page shared with the parent until then (a copy-on-write fault). */
static void flush_std(FILE *f)
{
#if defined(__GLIBC__)
    if (pending_bytes(f) == 0)
        return;
#endif
    fflush(f);
}

void mproc__os_exit(int code)
{
    flush_std(stdout);
    flush_std(stderr);
    MPROC__OS_COVERAGE_EXITING();
    exit_now(code);
    _exit(code); /* not reached; tells the compiler this function does not return */
}
