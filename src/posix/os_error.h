#ifndef MPROC_POSIX_OS_ERROR_H
#define MPROC_POSIX_OS_ERROR_H

#include "platform.h"

/* The one place errno becomes an mproc status. */
mproc_status_t mproc__os_status_from_errno(int err);

/* A CLOEXEC AF_UNIX stream socketpair that never raises SIGPIPE. */
mproc_status_t mproc__os_socketpair(int sv[2]);

/* Milliseconds until deadline for poll() (-1: forever, 0: passed). */
int mproc__os_poll_ms(double deadline);

#endif
