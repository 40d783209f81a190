#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "os_error.h"

#include <errno.h>

mproc_status_t mproc__os_status_from_errno(int err)
{
    switch (err) {
    case ENOMEM:
        return MPROC_ENOMEM;
    case EMFILE:
    case ENFILE:
        return MPROC_EMFILE;
    case EACCES:
    case EPERM:
        return MPROC_EACCES;
    case ENOENT:
        return MPROC_ENOENT;
    case EAGAIN:
        return MPROC_EAGAIN;
    case EPIPE:
    case ECONNRESET:
        return MPROC_EEOF;
    case EINVAL:
    case EBADF:
        return MPROC_EINVAL;
    case ETIMEDOUT:
        return MPROC_ETIMEDOUT;
    default:
        return MPROC_EOS;
    }
}

int mproc__os_poll_ms(double deadline)
{
    if (deadline < 0)
        return -1;
    double left = deadline - mproc__os_now();
    if (left <= 0)
        return 0;
    /* Round up so a wait never ends just before its deadline. */
    double ms = left * 1000.0 + 1.0;
    return ms > 2147483647.0 ? 2147483647 : (int)ms;
}
