#ifndef MPROC_POSIX_OS_ERROR_H
#define MPROC_POSIX_OS_ERROR_H

#include <time.h>

#include "platform.h"

/* The one place errno becomes an mproc status. */
mproc_status_t mproc__os_status_from_errno(int err);

/* A CLOEXEC AF_UNIX stream socketpair that never raises SIGPIPE. */
mproc_status_t mproc__os_socketpair(int sv[2]);

/* Where glibc can wait on the monotonic clock (sem_clockwait,
 * pthread_mutex_clocklock); elsewhere only on the wall clock. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
#define MPROC__OS_MONOTONIC_WAITS 1
#else
#define MPROC__OS_MONOTONIC_WAITS 0
#endif

/* A deadline (mproc__os_now() seconds, >= 0) as the absolute time the
 * waits above take: on the monotonic clock where they can, else the wall
 * clock time at which the same amount of time will have passed. */
struct timespec mproc__os_wait_until(double deadline);

/* Milliseconds until deadline for poll() (-1: forever, 0: passed). */
int mproc__os_poll_ms(double deadline);

#endif
