/*
 * Process tokens: a pid with the low 32 bits of the process's start time, so
 * that a lock held by a process that died is recognised even once its pid has
 * been given to another process. Linux reads both from /proc; elsewhere the
 * start time is not known and a zombie still counts as running.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

/* Fields 3 (state) and 22 (start time) of /proc/<pid>/stat; 0 when unreadable. */
static int read_stat(long pid, char *state, unsigned long long *start)
{
#if defined(__linux__)
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: fields follow the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                            "%*d %*d %llu", state, start) != 2)
        return 0;
    return 1;
#else
    (void)pid;
    (void)state;
    (void)start;
    return 0;
#endif
}

static int64_t make_token(long pid)
{
    char state;
    unsigned long long start = 0;
    if (!read_stat(pid, &state, &start))
        start = 0;
    return (int64_t)(((uint64_t)pid << 32) | (start & 0xFFFFFFFFu));
}

volatile int64_t mproc__os_token_known;

static void forget_token(void)
{
    mproc__os_token_known = 0; /* a fork child computes its own */
}

static void reset_in_fork_children(void)
{
    (void)pthread_atfork(NULL, NULL, forget_token);
}

int64_t mproc__os_self_token(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int64_t t = __atomic_load_n(&mproc__os_token_known, __ATOMIC_RELAXED);
    if (!t) {
        (void)pthread_once(&once, reset_in_fork_children);
        t = make_token((long)getpid());
        __atomic_store_n(&mproc__os_token_known, t, __ATOMIC_RELAXED);
    }
    return t;
}

uintptr_t mproc__os_self_thread(void)
{
    return (uintptr_t)pthread_self();
}

int mproc__os_token_alive(int64_t token)
{
    long pid = (long)((uint64_t)token >> 32);
    char state;
    unsigned long long start;
    if (read_stat(pid, &state, &start))
        return state != 'Z' && state != 'X' && (uint32_t)start == (uint32_t)token;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}
