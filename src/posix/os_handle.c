#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "os_error.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: sockets are created with SO_NOSIGPIPE instead */
#endif

/* At most this much per system call: macOS refuses counts above INT_MAX. */
#define IO_CHUNK ((size_t)1 << 30)

static size_t chunk(size_t len)
{
    return len < IO_CHUNK ? len : IO_CHUNK;
}

void mproc__os_close(mproc__os_handle_t h)
{
    if (h >= 0)
        close((int)h); /* EINTR: the descriptor is gone anyway on Linux and macOS */
}

mproc_status_t mproc__os_write_all(mproc__os_handle_t h, const void *buf, size_t len)
{
    const char *p = buf;
    int use_send = 1;
    while (len) {
        /* send() with MSG_NOSIGNAL: a dead peer is an error code, not SIGPIPE. */
        ssize_t n = use_send ? send((int)h, p, chunk(len), MSG_NOSIGNAL)
                             : write((int)h, p, chunk(len));
        if (n < 0 && errno == ENOTSOCK && use_send) {
            use_send = 0;
            continue;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mproc__os_status_from_errno(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return MPROC_OK;
}

typedef struct pending {
    const char *p[2];
    size_t len[2];
    int first; /* p[first..1] are left to write */
} pending_t;

/* The iovecs for the next call, at most IO_CHUNK bytes in all; their count. */
static int next_iovecs(const pending_t *w, struct iovec iov[2])
{
    size_t total = 0;
    int n = 0;
    for (int i = w->first; i < 2 && total < IO_CHUNK; i++) {
        iov[n].iov_base = (void *)w->p[i];
        iov[n].iov_len = w->len[i] < IO_CHUNK - total ? w->len[i] : IO_CHUNK - total;
        total += iov[n++].iov_len;
    }
    return n;
}

/* Skip `done` written bytes, and the empty parts. */
static void advance(pending_t *w, size_t done)
{
    while (w->first < 2 && (done || !w->len[w->first])) {
        size_t take = done < w->len[w->first] ? done : w->len[w->first];
        if (take) { /* an empty part may be NULL: no arithmetic on it */
            w->p[w->first] += take;
            w->len[w->first] -= take;
            done -= take;
        }
        if (!w->len[w->first])
            w->first++;
    }
}

mproc_status_t mproc__os_write_pair(mproc__os_handle_t h, const void *head, size_t head_len,
                                    const void *body, size_t body_len)
{
    pending_t w = {{head, body}, {head_len, body_len}, 0};
    int use_send = 1;
    advance(&w, 0);
    while (w.first < 2) {
        struct iovec iov[2];
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = next_iovecs(&w, iov);
        /* As write_all: MSG_NOSIGNAL, and writev where h is no socket. */
        ssize_t n = use_send ? sendmsg((int)h, &m, MSG_NOSIGNAL)
                             : writev((int)h, iov, (int)m.msg_iovlen);
        if (n < 0 && errno == ENOTSOCK && use_send) {
            use_send = 0;
            continue;
        }
        if (n < 0 && errno != EINTR)
            return mproc__os_status_from_errno(errno);
        if (n > 0)
            advance(&w, (size_t)n);
    }
    return MPROC_OK;
}

mproc_status_t mproc__os_read_all(mproc__os_handle_t h, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = read((int)h, p, chunk(len));
        if (n == 0)
            return MPROC_EEOF;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mproc__os_status_from_errno(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return MPROC_OK;
}

size_t mproc__os_wait_limit(void)
{
    return (size_t)1 << 20; /* poll() has no limit of its own; descriptors run out first */
}

mproc_status_t mproc__os_wait_ready(const mproc__os_handle_t *hs, size_t n, double deadline,
                                    int *ready)
{
    struct pollfd stack[16];
    struct pollfd *fds = n <= 16 ? stack : calloc(n, sizeof *fds);
    if (!fds)
        return MPROC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        fds[i].fd = (int)hs[i];
        fds[i].events = POLLIN;
        fds[i].revents = 0;
    }
    mproc_status_t st;
    for (;;) {
        int r = poll(fds, (nfds_t)n, mproc__os_poll_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = mproc__os_status_from_errno(errno);
            break;
        }
        st = r > 0 ? MPROC_OK : MPROC_ETIMEDOUT;
        for (size_t i = 0; i < n; i++) {
            if (fds[i].revents & POLLNVAL)
                st = MPROC_EINVAL;
            ready[i] = (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        }
        break;
    }
    if (fds != stack)
        free(fds);
    return st;
}

mproc_status_t mproc__os_dup(mproc__os_handle_t h, mproc__os_handle_t *out)
{
    int fd = fcntl((int)h, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return mproc__os_status_from_errno(errno);
    *out = fd;
    return MPROC_OK;
}

mproc_status_t mproc__os_pipe(int duplex, mproc__os_handle_t end0[2], mproc__os_handle_t end1[2])
{
    /* A socketpair even for simplex: send() with MSG_NOSIGNAL turns a gone
     * reader into an error code where a pipe would raise SIGPIPE. */
    int sv[2];
    mproc_status_t st = mproc__os_socketpair(sv);
    if (st)
        return st;
    end0[0] = end0[1] = sv[0];
    end1[0] = end1[1] = sv[1];
    if (!duplex) {
        shutdown(sv[0], SHUT_WR);
        shutdown(sv[1], SHUT_RD);
        end0[1] = MPROC__OS_NO_HANDLE;
        end1[0] = MPROC__OS_NO_HANDLE;
    }
    return MPROC_OK;
}

mproc_status_t mproc__os_read_some(mproc__os_handle_t h, void *buf, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t n = read((int)h, buf, chunk(cap));
        if (n > 0) {
            *got = (size_t)n;
            return MPROC_OK;
        }
        if (n == 0)
            return MPROC_EEOF;
        if (errno != EINTR)
            return mproc__os_status_from_errno(errno);
    }
}
