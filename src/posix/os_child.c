/*
 * Children on POSIX. One socketpair per spawned child is its whole link: the
 * spawn bootstrap travels over it, the parent's end turns readable (EOF) when
 * the child ends (the sentinel), and the child's end turns readable when the
 * parent ends (the parent-death watch). A fork child needs no bootstrap: on
 * Linux it gets no link, and either side's sentinel is a pidfd made when first
 * asked for (most children are only joined, which waitpid does alone); where
 * there are no pidfds it gets the socketpair too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "os_boot.h"
#include "os_coverage.h"
#include "os_error.h"
#include "os_exe.h"
#include "os_pidfd.h"

extern char **environ;

#define CHILD_ARG MPROC__OS_CHILD_ARG
#define FIRST_CHILD_FD MPROC__OS_CHILD_FD

static void fill_child(mproc__os_child_t *child, pid_t pid, int fd)
{
    child->pid = pid;
    child->sentinel = child->to_child = child->from_child = fd;
    child->process = MPROC__OS_NO_HANDLE;
    child->reaped = 0;
    child->raw_status = 0;
}

/*
 * The child receives its link at fd 3 and pass[i] at fd 4 + i, and nothing
 * else above stderr. Sources are first moved above that range so that no
 * dup2 overwrites a source still to be copied.
 */
static mproc_status_t spawn_actions(posix_spawn_file_actions_t *fa, const int *src, size_t n,
                                    int *tmp)
{
    int top = FIRST_CHILD_FD + (int)n;
    for (size_t i = 0; i < n; i++) {
        tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, top);
        if (tmp[i] < 0)
            return mproc__os_status_from_errno(errno);
    }
    for (size_t i = 0; i < n; i++) {
        if (posix_spawn_file_actions_adddup2(fa, tmp[i], FIRST_CHILD_FD + (int)i) != 0)
            return MPROC_ENOMEM;
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Even descriptors someone opened without CLOEXEC stay out of the child. */
    if (posix_spawn_file_actions_addclosefrom_np(fa, top) != 0)
        return MPROC_ENOMEM;
#endif
    return MPROC_OK;
}

static mproc_status_t spawn_with(const int *src, size_t n, pid_t *pid)
{
    const char *exe = mproc__os_exe_path();
    if (!exe)
        return MPROC_ENOENT;
    int *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return MPROC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        tmp[i] = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    short flags = POSIX_SPAWN_SETSIGMASK;
#if defined(POSIX_SPAWN_CLOEXEC_DEFAULT)
    flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
    posix_spawnattr_setflags(&attr, flags);
    mproc_status_t st = spawn_actions(&fa, src, n, tmp);
    if (!st) {
        char fd_arg[16];
        snprintf(fd_arg, sizeof fd_arg, "%d", FIRST_CHILD_FD);
        char *argv[] = {(char *)exe, (char *)CHILD_ARG, fd_arg, NULL};
        int err = posix_spawn(pid, exe, &fa, &attr, argv, environ);
        if (err)
            st = err == ENOENT || err == EACCES || err == ENOEXEC ? MPROC_ESPAWN
                                                                  : mproc__os_status_from_errno(err);
    }
    for (size_t i = 0; i < n; i++)
        if (tmp[i] >= 0)
            close(tmp[i]);
    free(tmp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return st;
}

mproc_status_t mproc__os_spawn(const mproc__os_spawn_req_t *req, mproc__os_child_t *child,
                               mproc__os_handle_t *child_values)
{
    int sv[2];
    mproc_status_t st = mproc__os_socketpair(sv);
    if (st)
        return st;
    size_t n = 1 + req->npass;
    int *src = malloc(n * sizeof *src);
    if (!src) {
        close(sv[0]);
        close(sv[1]);
        return MPROC_ENOMEM;
    }
    src[0] = sv[1];
    for (size_t i = 0; i < req->npass; i++)
        src[1 + i] = (int)req->pass[i];
    pid_t pid = 0;
    st = spawn_with(src, n, &pid);
    free(src);
    close(sv[1]);
    if (st) {
        close(sv[0]);
        return st;
    }
    for (size_t i = 0; i < req->npass; i++)
        child_values[i] = FIRST_CHILD_FD + 1 + (mproc__os_handle_t)i;
    fill_child(child, pid, sv[0]);
    return MPROC_OK;
}

mproc_status_t mproc__os_fork(mproc__os_child_t *child, mproc__os_boot_t *boot, int *is_child)
{
    /* With pidfds no link is needed (each side's sentinel is made when asked
     * for): the start makes no descriptor and the child closes none. */
    int link = !mproc__os_pidfd_works();
    int sv[2] = {MPROC__OS_NO_HANDLE, MPROC__OS_NO_HANDLE};
    *is_child = 0;
    if (link) {
        mproc_status_t st = mproc__os_socketpair(sv);
        if (st)
            return st;
    }
    /* The child's parent is this process: asked here, the child makes no call
     * (getppid would be bound lazily, and so looked up, in every child). */
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        mproc__os_close(sv[0]);
        mproc__os_close(sv[1]);
        return mproc__os_status_from_errno(err);
    }
    if (pid == 0) {
        MPROC__OS_COVERAGE_FORKED();
        if (link)
            close(sv[0]);
        boot->from_parent = boot->to_parent = boot->parent_sentinel = sv[1];
        boot->parent_pid = (int64_t)self;
        *is_child = 1;
        return MPROC_OK;
    }
    if (link)
        close(sv[1]);
    fill_child(child, pid, sv[0]);
    return MPROC_OK;
}

/* waitpid() once; `block` waits for a child that is already on its way out. */
static int reap(mproc__os_child_t *child, int block)
{
    int status;
    pid_t r;
    do
        r = waitpid((pid_t)child->pid, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    /* r < 0 (ECHILD): someone else reaped it; report a plain failure exit. */
    child->raw_status = r > 0 ? status : (1 << 8);
    child->reaped = 1;
    return 1;
}

/* A sentinel from a pidfd just opened (fd < 0: there was no process to open),
 * or an always-ready descriptor when the process is `gone`: it has ended, or
 * its pid may name another process by now. */
static mproc_status_t pidfd_or_ended(int fd, int gone, mproc__os_handle_t *out)
{
    if (fd >= 0 && gone) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        fd = mproc__os_ended_fd();
    if (fd < 0)
        return mproc__os_status_from_errno(errno);
    *out = fd;
    return MPROC_OK;
}

mproc_status_t mproc__os_child_sentinel(mproc__os_child_t *child, mproc__os_handle_t *out)
{
    *out = child->sentinel;
    if (child->sentinel != MPROC__OS_NO_HANDLE)
        return MPROC_OK;
    int fd = -1, gone = 1;
    if (!child->reaped) {
        fd = mproc__os_pidfd_open((long)child->pid);
        if (fd < 0 && errno != ESRCH)
            return mproc__os_status_from_errno(errno);
        /* Ended, or reaped by someone else (ECHILD): then the pid is free. */
        gone = reap(child, 0);
    }
    mproc_status_t st = pidfd_or_ended(fd, gone, out);
    if (!st)
        child->sentinel = *out;
    return st;
}

/* No sentinel (no descriptor left to make one): look every few milliseconds. */
static mproc_status_t poll_reap(mproc__os_child_t *child, double deadline)
{
    long ns = 1000000;
    while (!reap(child, 0)) {
        if (mproc__os_now() >= deadline)
            return MPROC_ETIMEDOUT;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        if (ns < 16000000)
            ns *= 2;
    }
    return MPROC_OK;
}

mproc_status_t mproc__os_child_wait(mproc__os_child_t *child, double deadline)
{
    if (child->reaped)
        return MPROC_OK;
    if (deadline < 0) {
        reap(child, 1);
        return MPROC_OK;
    }
    if (reap(child, 0))
        return MPROC_OK;
    /* A poll (is_alive) of a child nobody asked the sentinel of: waitpid has
     * answered, no pidfd is made for it. (A ready sentinel may come a moment
     * before the child is waitable: then the wait below blocks for that.) */
    if (deadline == 0.0 && child->sentinel == MPROC__OS_NO_HANDLE)
        return MPROC_ETIMEDOUT;
    mproc__os_handle_t h;
    mproc_status_t st = mproc__os_child_sentinel(child, &h);
    if (st)
        return poll_reap(child, deadline);
    if (child->reaped)
        return MPROC_OK;
    int ready = 0;
    st = mproc__os_wait_ready(&h, 1, deadline, &ready);
    if (st)
        return st;
    /* The child has ended and becomes waitable in a moment (as CPython's
     * popen_fork, block for that moment rather than poll). */
    reap(child, 1);
    return MPROC_OK;
}

mproc_status_t mproc__os_child_signal(mproc__os_child_t *child, int force)
{
    if (child->reaped)
        return MPROC_OK;
    /* Not yet reaped, so the pid cannot have been reused. */
    if (kill((pid_t)child->pid, force ? SIGKILL : SIGTERM) != 0 && errno != ESRCH)
        return mproc__os_status_from_errno(errno);
    return MPROC_OK;
}

int64_t mproc__os_exitcode(int64_t raw_status)
{
    int s = (int)raw_status;
    if (WIFEXITED(s))
        return WEXITSTATUS(s);
    if (WIFSIGNALED(s))
        return -WTERMSIG(s);
    return s;
}

void mproc__os_child_release(mproc__os_child_t *child)
{
    mproc__os_close(child->sentinel);
    child->sentinel = child->to_child = child->from_child = MPROC__OS_NO_HANDLE;
}

mproc_status_t mproc__os_parent_sentinel(int64_t parent_pid, mproc__os_handle_t *out)
{
    *out = MPROC__OS_NO_HANDLE;
    int fd = mproc__os_pidfd_open((long)parent_pid);
    if (fd < 0 && errno != ESRCH)
        return mproc__os_status_from_errno(errno);
    /* Asked after the pidfd: a child whose parent has ended has been adopted. */
    return pidfd_or_ended(fd, (int64_t)getppid() != parent_pid, out);
}

/* The link's end turns readable (EOF) when the parent ends; a pidfd is only
 * ever readable then, and reading it fails, so it is polled instead. */
static void *watch_parent(void *arg)
{
    int fd = (int)((intptr_t)arg >> 1), is_pidfd = (int)((intptr_t)arg & 1);
    struct pollfd pfd = {fd, POLLIN, 0};
    char c;
    for (;;) {
        ssize_t n = is_pidfd ? poll(&pfd, 1, -1) : read(fd, &c, 1);
        if (is_pidfd ? n > 0 : n == 0)
            break;
        if (n < 0 && errno != EINTR)
            break;
    }
    kill(getpid(), SIGKILL);
    return NULL;
}

mproc_status_t mproc__os_watch_parent(const mproc__os_boot_t *boot)
{
    mproc__os_handle_t fd = boot->from_parent;
    int is_pidfd = fd == MPROC__OS_NO_HANDLE;
    if (is_pidfd) {
        mproc_status_t st = mproc__os_parent_sentinel(boot->parent_pid, &fd);
        if (st)
            return st;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    int err = pthread_create(&t, &attr, watch_parent, (void *)(intptr_t)((fd << 1) | is_pidfd));
    pthread_attr_destroy(&attr);
    if (err && is_pidfd)
        close((int)fd);
    return err ? mproc__os_status_from_errno(err) : MPROC_OK;
}

void mproc__os_boot_release(mproc__os_boot_t *boot)
{
    mproc__os_close(boot->from_parent);
    boot->from_parent = boot->to_parent = boot->parent_sentinel = MPROC__OS_NO_HANDLE;
}
