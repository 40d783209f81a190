#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os_error.h"

mproc_status_t mproc__os_socketpair(int sv[2])
{
#if defined(SOCK_CLOEXEC)
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return mproc__os_status_from_errno(errno);
#else
    /* No atomic CLOEXEC (macOS): spawns use POSIX_SPAWN_CLOEXEC_DEFAULT anyway. */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return mproc__os_status_from_errno(errno);
    fcntl(sv[0], F_SETFD, FD_CLOEXEC);
    fcntl(sv[1], F_SETFD, FD_CLOEXEC);
#endif
#if defined(SO_NOSIGPIPE)
    int one = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    setsockopt(sv[1], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return MPROC_OK;
}
