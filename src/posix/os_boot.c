/*
 * The child's side of the spawn command line on POSIX: is the descriptor in
 * argv really a link from this process's mproc parent? It must be the
 * descriptor spawn uses (never a standard stream), a Unix stream socket, and
 * its peer must be the parent process, with this process's effective user and
 * group (the kernel records them when the parent creates the socketpair, so a
 * program started by another user -- setuid, sudo -- cannot be handed a
 * socket of that user's making). The random challenge that follows is the
 * core's (see spawned.c); this file only checks what the kernel attests.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif
#if defined(__APPLE__)
#include <sys/un.h>
#endif

#include "os_boot.h"
#include "os_error.h"

/* The peer's pid, uid and gid; 0 when the OS cannot tell. */
static int peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid)
{
#if defined(SO_PEERCRED) && defined(__linux__)
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
        return 0;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 1;
#elif defined(__APPLE__) && defined(LOCAL_PEERPID)
    pid_t p = 0;
    socklen_t len = sizeof p;
    if (getpeereid(fd, uid, gid) != 0 || getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &p, &len) != 0)
        return 0;
    *pid = p;
    return 1;
#else
    (void)fd;
    (void)pid;
    (void)uid;
    (void)gid;
    return 0;
#endif
}

static const char *check_channel(int fd)
{
    struct stat sb;
    int type = 0;
    socklen_t len = sizeof type;
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    if (fstat(fd, &sb) != 0)
        return "the bootstrap descriptor is not open";
    if (!S_ISSOCK(sb.st_mode) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
        type != SOCK_STREAM)
        return "the bootstrap descriptor is not a stream socket";
    if (!peer_credentials(fd, &pid, &uid, &gid))
        return "the bootstrap socket's peer cannot be identified";
    if (pid != getppid() || pid <= 1)
        return "the bootstrap socket does not come from the parent process";
    if (uid != geteuid() || gid != getegid())
        return "the bootstrap socket belongs to another user";
    return NULL;
}

mproc__boot_check_t mproc__os_spawned_boot(int argc, char **argv, mproc__os_boot_t *boot,
                                           const char **why)
{
    char expected[16];
    *why = NULL;
    if (argc < 2 || !argv || !argv[1] || strcmp(argv[1], MPROC__OS_CHILD_ARG) != 0)
        return MPROC__BOOT_NONE;
    snprintf(expected, sizeof expected, "%d", MPROC__OS_CHILD_FD);
    /* Only the one descriptor spawn uses: never a standard stream. */
    if (argc != 3 || !argv[2] || strcmp(argv[2], expected) != 0) {
        *why = "usage: " MPROC__OS_CHILD_ARG " 3 (and nothing else)";
        return MPROC__BOOT_BAD_ARGV;
    }
    *why = check_channel(MPROC__OS_CHILD_FD);
    if (*why)
        return MPROC__BOOT_BAD_CHANNEL;
    /* The link arrived without CLOEXEC (dup2); the child's own spawns must not inherit it. */
    fcntl(MPROC__OS_CHILD_FD, F_SETFD, FD_CLOEXEC);
    boot->from_parent = boot->to_parent = boot->parent_sentinel = MPROC__OS_CHILD_FD;
    boot->parent_pid = (int64_t)getppid();
    return MPROC__BOOT_CHILD;
}

#if defined(__linux__)
/* Kernels before 3.17 have no getrandom(): the same generator through its file. */
static mproc_status_t urandom(unsigned char *p, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mproc__os_status_from_errno(errno);
    mproc_status_t st = mproc__os_read_all(fd, p, len);
    close(fd);
    return st;
}
#endif

mproc_status_t mproc__os_random(void *buf, size_t len)
{
    unsigned char *p = buf;
#if defined(__linux__)
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ENOSYS)
            return urandom(p, len);
        if (n <= 0)
            return mproc__os_status_from_errno(n < 0 ? errno : EIO);
        p += n;
        len -= (size_t)n;
    }
    return MPROC_OK;
#else
    arc4random_buf(p, len);
    return MPROC_OK;
#endif
}
