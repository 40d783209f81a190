#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "os_pidfd.h"

int mproc__os_pidfd_open(long pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0); /* close-on-exec always */
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

int mproc__os_pidfd_works(void)
{
    /* -1: not asked yet. A race only asks twice, with the same answer. */
    static volatile int works = -1;
    if (works < 0) {
        int fd = mproc__os_pidfd_open((long)getpid());
        if (fd >= 0)
            close(fd);
        works = fd >= 0;
    }
    return works;
}

int mproc__os_ended_fd(void)
{
    int p[2];
#if defined(__linux__)
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
#else
    if (pipe(p) != 0)
        return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
#endif
    close(p[1]);
    return p[0];
}
