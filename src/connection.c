/*
 * Connections: whole messages over a pipe pair, framed as a u32 length (host
 * order: both ends run the same executable) followed by the bytes. Reads go
 * through a read-ahead buffer, so a small message costs one system call, and
 * a message whose length is known but not yet taken stays in the buffer, so
 * recv_bytes_into() with a short buffer loses nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define READ_AHEAD ((size_t)64 * 1024)
#define HEADER_BYTES 4
#define SMALL_SEND 4096

enum { FLAG_READABLE = 1, FLAG_WRITABLE = 2 };

struct mproc_connection {
    mproc__os_handle_t rd, wr; /* MPROC__OS_NO_HANDLE where the end cannot */
    int closed;
    unsigned char *buf;
    size_t start, end; /* buffered bytes are buf[start, end) */
    struct mproc_connection *prev, *next; /* every open end, for fork children */
};

static mproc_connection_t *open_ends;

static void track(mproc_connection_t *c)
{
    mproc__lock();
    c->next = open_ends;
    if (open_ends)
        open_ends->prev = c;
    open_ends = c;
    mproc__unlock();
}

static void untrack(mproc_connection_t *c)
{
    mproc__lock();
    if (c->prev)
        c->prev->next = c->next;
    else if (open_ends == c)
        open_ends = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    mproc__unlock();
}

static int passed(mproc__os_handle_t h, const mproc__os_handle_t *keep, size_t nkeep)
{
    for (size_t i = 0; i < nkeep; i++)
        if (keep[i] == h)
            return 1;
    return 0;
}

void mproc__connections_after_fork(const mproc_args_t *args)
{
    mproc__os_handle_t *keep = NULL;
    size_t nkeep = 0;
    if (mproc__args_handles(args, &keep, &nkeep))
        nkeep = 0;
    for (mproc_connection_t *c = open_ends; c; c = c->next) {
        if (c->closed || passed(c->rd, keep, nkeep) || passed(c->wr, keep, nkeep))
            continue;
        mproc__os_close(c->rd);
        if (c->wr != c->rd)
            mproc__os_close(c->wr);
        c->closed = 1;
    }
    free(keep);
}

static mproc_status_t wrap(mproc__os_handle_t rd, mproc__os_handle_t wr, mproc_connection_t **out)
{
    mproc_connection_t *c = calloc(1, sizeof *c);
    if (!c)
        return MPROC_ENOMEM;
    c->rd = rd;
    c->wr = wr;
    if (rd != MPROC__OS_NO_HANDLE && !(c->buf = malloc(READ_AHEAD))) {
        free(c);
        return MPROC_ENOMEM;
    }
    track(c);
    *out = c;
    return MPROC_OK;
}

static void close_handles(mproc__os_handle_t rd, mproc__os_handle_t wr)
{
    mproc__os_close(rd);
    if (wr != rd)
        mproc__os_close(wr);
}

mproc_status_t mproc_pipe(int duplex, mproc_connection_t **end0, mproc_connection_t **end1)
{
    mproc__os_handle_t h0[2], h1[2];
    if (end0)
        *end0 = NULL;
    if (end1)
        *end1 = NULL;
    if (!end0 || !end1)
        return MPROC_EINVAL;
    if (!mproc__g.initialized)
        return MPROC_ENOTINIT;
    mproc_status_t st = mproc__os_pipe(duplex, h0, h1);
    if (st)
        return st;
    st = wrap(h0[0], h0[1], end0);
    if (st) {
        close_handles(h0[0], h0[1]);
    } else if ((st = wrap(h1[0], h1[1], end1)) != MPROC_OK) {
        mproc_connection_free(*end0); /* closes h0 */
        *end0 = NULL;
    }
    if (st)
        close_handles(h1[0], h1[1]);
    return st;
}

static mproc_status_t check(const mproc_connection_t *c, mproc__os_handle_t need)
{
    if (!c)
        return MPROC_EINVAL;
    if (c->closed)
        return MPROC_ECLOSED;
    return need == MPROC__OS_NO_HANDLE ? MPROC_EMODE : MPROC_OK;
}

mproc_status_t mproc_connection_send_bytes(mproc_connection_t *c, const void *data, size_t len)
{
    mproc_status_t st = check(c, c ? c->wr : MPROC__OS_NO_HANDLE);
    if (st)
        return st;
    if (!data && len)
        return MPROC_EINVAL;
    if (len > MPROC_MESSAGE_MAX_BYTES)
        return MPROC_ETOOBIG;
    uint32_t header = (uint32_t)len;
    if (len <= SMALL_SEND - HEADER_BYTES) {
        /* One write: a small message must not cost two system calls. */
        unsigned char frame[SMALL_SEND];
        memcpy(frame, &header, HEADER_BYTES);
        if (len)
            memcpy(frame + HEADER_BYTES, data, len);
        return mproc__os_write_all(c->wr, frame, HEADER_BYTES + len);
    }
    st = mproc__os_write_all(c->wr, &header, HEADER_BYTES);
    return st ? st : mproc__os_write_all(c->wr, data, len);
}

static size_t buffered(const mproc_connection_t *c)
{
    return c->end - c->start;
}

/* Read at least one more byte into the buffer, waiting for it until deadline. */
static mproc_status_t read_more(mproc_connection_t *c, double deadline)
{
    if (deadline >= 0) {
        int ready = 0;
        mproc_status_t st = mproc__os_wait_ready(&c->rd, 1, deadline, &ready);
        if (st)
            return st;
    }
    if (c->start) {
        memmove(c->buf, c->buf + c->start, buffered(c));
        c->end -= c->start;
        c->start = 0;
    }
    size_t got = 0;
    mproc_status_t st = mproc__os_read_some(c->rd, c->buf + c->end, READ_AHEAD - c->end, &got);
    if (!st)
        c->end += got;
    return st;
}

/* The length of the next message, leaving it unconsumed. */
static mproc_status_t peek_length(mproc_connection_t *c, double timeout, size_t *len)
{
    double deadline;
    mproc_status_t st = mproc__deadline(timeout, &deadline);
    if (st)
        return st;
    while (buffered(c) < HEADER_BYTES) {
        /* The timeout is for a message to start arriving, not to finish. */
        st = read_more(c, buffered(c) ? -1.0 : deadline);
        if (st)
            return st;
    }
    uint32_t header;
    memcpy(&header, c->buf + c->start, HEADER_BYTES);
    if (header > MPROC_MESSAGE_MAX_BYTES)
        return MPROC_EOS; /* not a frame this library wrote */
    *len = header;
    return MPROC_OK;
}

/* Consume the message whose length peek_length() gave, into dst. */
static mproc_status_t take_message(mproc_connection_t *c, void *dst, size_t len)
{
    c->start += HEADER_BYTES;
    size_t have = buffered(c) < len ? buffered(c) : len;
    if (have)
        memcpy(dst, c->buf + c->start, have);
    c->start += have;
    /* The rest goes straight to its destination: large messages are copied once. */
    return len > have ? mproc__os_read_all(c->rd, (unsigned char *)dst + have, len - have)
                      : MPROC_OK;
}

mproc_status_t mproc_connection_recv_bytes(mproc_connection_t *c, double timeout, void **data,
                                           size_t *len)
{
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (st)
        return st;
    if (!data || !len)
        return MPROC_EINVAL;
    *data = NULL;
    *len = 0;
    size_t n;
    if ((st = peek_length(c, timeout, &n)) != MPROC_OK)
        return st;
    void *msg = malloc(n ? n : 1);
    if (!msg)
        return MPROC_ENOMEM;
    if ((st = take_message(c, msg, n)) != MPROC_OK) {
        free(msg);
        return st;
    }
    *data = msg;
    *len = n;
    return MPROC_OK;
}

mproc_status_t mproc_connection_recv_bytes_into(mproc_connection_t *c, double timeout, void *buf,
                                                size_t cap, size_t *len)
{
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (st)
        return st;
    if (!len || (!buf && cap))
        return MPROC_EINVAL;
    size_t n;
    if ((st = peek_length(c, timeout, &n)) != MPROC_OK)
        return st;
    *len = n;
    return n > cap ? MPROC_ESHORTBUF : take_message(c, buf, n);
}

mproc_status_t mproc_connection_poll(mproc_connection_t *c, double timeout)
{
    double deadline;
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (st || (st = mproc__deadline(timeout, &deadline)) != MPROC_OK)
        return st;
    if (buffered(c))
        return MPROC_OK;
    int ready = 0;
    return mproc__os_wait_ready(&c->rd, 1, deadline, &ready);
}

mproc_status_t mproc_connection_waitable(const mproc_connection_t *c, mproc_sentinel_t *out)
{
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (!st && !out)
        st = MPROC_EINVAL;
    if (!st)
        *out = c->rd;
    return st;
}

int mproc_connection_readable(const mproc_connection_t *c)
{
    return c && c->rd != MPROC__OS_NO_HANDLE;
}

int mproc_connection_writable(const mproc_connection_t *c)
{
    return c && c->wr != MPROC__OS_NO_HANDLE;
}

mproc_status_t mproc_connection_close(mproc_connection_t *c)
{
    if (!c)
        return MPROC_EINVAL;
    if (!c->closed) {
        close_handles(c->rd, c->wr);
        c->closed = 1;
    }
    return MPROC_OK;
}

void mproc_connection_free(mproc_connection_t *c)
{
    if (!c)
        return;
    mproc_connection_close(c);
    untrack(c);
    free(c->buf);
    free(c);
}

mproc_status_t mproc_args_add_connection(mproc_args_t *args, const mproc_connection_t *c)
{
    if (!args || !c)
        return MPROC_EINVAL;
    if (c->closed)
        return MPROC_ECLOSED;
    mproc__obj_t obj = {MPROC__OBJ_CONNECTION, 0, 0, {MPROC__OS_NO_HANDLE, MPROC__OS_NO_HANDLE}};
    if (c->rd != MPROC__OS_NO_HANDLE) {
        obj.flags |= FLAG_READABLE;
        obj.handles[obj.nhandles++] = c->rd;
    }
    if (c->wr != MPROC__OS_NO_HANDLE) {
        obj.flags |= FLAG_WRITABLE;
        if (c->wr != c->rd)
            obj.handles[obj.nhandles++] = c->wr;
    }
    return mproc__args_add_object(args, &obj);
}

/* One handle per direction, or one for both: what mproc_args_add_connection() writes. */
static int handles_match_flags(const mproc__obj_t *obj)
{
    unsigned dirs = obj->flags & (FLAG_READABLE | FLAG_WRITABLE);
    size_t most = dirs == (FLAG_READABLE | FLAG_WRITABLE) ? 2 : 1;
    return dirs && obj->flags == dirs && obj->nhandles >= 1 && obj->nhandles <= most;
}

mproc_status_t mproc_args_get_connection(const mproc_args_t *args, size_t index,
                                         mproc_connection_t **out)
{
    mproc__obj_t obj = {MPROC__OBJ_CONNECTION, 0, 0, {MPROC__OS_NO_HANDLE, MPROC__OS_NO_HANDLE}};
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc_status_t st = mproc__args_get_object(args, index, MPROC__OBJ_CONNECTION, &obj);
    if (st)
        return st;
    if (!handles_match_flags(&obj))
        return MPROC_ETYPE; /* not what mproc_args_add_connection() wrote */
    /* Each call owns fresh duplicates, so two objects never close one handle. */
    mproc__os_handle_t own[2] = {MPROC__OS_NO_HANDLE, MPROC__OS_NO_HANDLE};
    for (size_t i = 0; i < obj.nhandles && !st; i++)
        st = mproc__os_dup(obj.handles[i], &own[i]);
    mproc__os_handle_t rd = MPROC__OS_NO_HANDLE, wr = MPROC__OS_NO_HANDLE;
    if (!st) {
        size_t k = 0;
        if (obj.flags & FLAG_READABLE)
            rd = own[k++];
        if (obj.flags & FLAG_WRITABLE)
            wr = k < obj.nhandles ? own[k] : rd;
        st = wrap(rd, wr, out);
    }
    if (st) {
        mproc__os_close(own[0]);
        mproc__os_close(own[1]);
    }
    return st;
}

void mproc_free(void *p)
{
    free(p);
}

mproc_status_t mproc__connection_recv_reuse(mproc_connection_t *c, double timeout,
                                            mproc__wbuf_t *buf)
{
    size_t n = 0;
    mproc_status_t st =
        mproc_connection_recv_bytes_into(c, timeout, buf->data, buf->cap, &n);
    if (st == MPROC_ESHORTBUF) {
        size_t at;
        buf->len = 0;
        if ((st = mproc__wbuf_reserve(buf, n, &at)) != MPROC_OK)
            return st;
        st = mproc_connection_recv_bytes_into(c, 0, buf->data, buf->cap, &n);
    }
    buf->len = st ? 0 : n;
    return st;
}
