/*
 * Connections: whole messages over a pipe pair, framed as a u32 length (host
 * order: both ends run the same executable) followed by the bytes; a length
 * of LONG_FRAME or more is the u32 LONG_FRAME followed by a u64 length, so
 * a message of any size fits and one below 4 GiB still costs 4 bytes (as
 * CPython's Connection, whose escape is -1). Reads go through a read-ahead
 * buffer, so a small message costs one system call, and a message whose
 * length is known but not yet taken stays in the buffer, so recv_bytes_into()
 * with a short buffer loses nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "fault.h"

#define READ_AHEAD ((size_t)64 * 1024)
#define HEADER_BYTES 4
#define LONG_FRAME UINT32_MAX
#define LONG_HEADER_BYTES (HEADER_BYTES + 8)
/* Frames up to this size are joined on the stack and sent with one plain
 * write: cheaper than a gather write of two parts (sendmsg) at this size. */
#define SMALL_SEND 4096
/* After a message above this size, the next read into the buffer asks for
 * SMALL_SEND bytes only (see read_more). Below it, copying the payload out of
 * the buffer costs less than the extra read that avoids it. */
#define LARGE_MESSAGE (READ_AHEAD / 2)
/* No object is longer (malloc refuses more): a longer length is refused
 * before anything is allocated. Below SIZE_MAX, so frame sizes never wrap. */
#define LARGEST_MESSAGE ((uint64_t)PTRDIFF_MAX)

enum { FLAG_READABLE = 1, FLAG_WRITABLE = 2 };

struct mproc_connection {
    mproc__os_handle_t rd, wr; /* MPROC__OS_NO_HANDLE where the end cannot */
    int closed;
    unsigned char *buf;
    size_t cap;        /* READ_AHEAD, or more while it holds a large partial frame */
    size_t start, end; /* buffered bytes are buf[start, end) */
    int after_large;   /* the last message taken was above LARGE_MESSAGE bytes */
    int said_ready;    /* mproc__connection_said_ready, and nothing read since */
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
    if (!open_ends)
        return; /* the common start: no allocation, no page touched in the child */
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

int mproc__connection_has_buffered(mproc__os_handle_t h)
{
    int found = 0;
    if (h == MPROC__OS_NO_HANDLE)
        return 0;
    mproc__lock();
    for (mproc_connection_t *c = open_ends; c && !found; c = c->next)
        found = !c->closed && c->rd == h && c->end > c->start;
    mproc__unlock();
    return found;
}

static mproc_status_t wrap(mproc__os_handle_t rd, mproc__os_handle_t wr, mproc_connection_t **out)
{
    mproc_connection_t *c = calloc(1, sizeof *c);
    if (!c)
        return MPROC_ENOMEM;
    c->rd = rd;
    c->wr = wr;
    if (rd != MPROC__OS_NO_HANDLE) {
        c->buf = malloc(READ_AHEAD);
        if (!c->buf) {
            free(c);
            return MPROC_ENOMEM;
        }
    }
    c->cap = READ_AHEAD;
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

/* The header of a frame of `len` bytes into h; its size. */
static size_t put_header(unsigned char h[LONG_HEADER_BYTES], size_t len)
{
    uint32_t n = len < LONG_FRAME ? (uint32_t)len : LONG_FRAME;
    uint64_t full = len;
    memcpy(h, &n, HEADER_BYTES);
    if (n != LONG_FRAME)
        return HEADER_BYTES;
    memcpy(h + HEADER_BYTES, &full, sizeof full);
    return LONG_HEADER_BYTES;
}

#ifdef MPROC_FAULT_INJECTION
/* An armed process writes the header alone, so that a kill point can cut the
 * frame after it: a sender dying there leaves a frame cut short, and its peer
 * must see the connection end, not wait for the rest (a dead pool worker
 * mid-result). */
static mproc_status_t send_cut_after_header(mproc_connection_t *c, const unsigned char *head,
                                            size_t head_len, const void *data, size_t len)
{
    mproc_status_t st = mproc__os_write_all(c->wr, head, head_len);
    MPROC_KILL_POINT("connection.send.after_header");
    return st ? st : mproc__os_write_all(c->wr, data, len);
}
#endif

mproc_status_t mproc_connection_send_bytes(mproc_connection_t *c, const void *data, size_t len)
{
    return mproc__connection_send_two(c, NULL, 0, data, len);
}

mproc_status_t mproc__connection_send_two(mproc_connection_t *c, const void *first,
                                          size_t first_len, const void *second, size_t second_len)
{
    mproc_status_t st = check(c, c ? c->wr : MPROC__OS_NO_HANDLE);
    if (st)
        return st;
    if ((!first && first_len) || (!second && second_len))
        return MPROC_EINVAL;
    if (first_len > SMALL_SEND - LONG_HEADER_BYTES)
        return MPROC_EINVAL; /* the first part goes with the header, on the stack */
    if ((uint64_t)second_len > LARGEST_MESSAGE - first_len)
        return MPROC_ETOOBIG; /* no receiver could take it */
    unsigned char frame[SMALL_SEND];
    size_t head_len = put_header(frame, first_len + second_len);
    if (first_len)
        memcpy(frame + head_len, first, first_len);
    size_t joined = head_len + first_len;
    /* Header and payload in one call: the reader wakes once per message. */
    if (second_len <= SMALL_SEND - joined) {
        if (second_len)
            memcpy(frame + joined, second, second_len);
        return mproc__os_write_all(c->wr, frame, joined + second_len);
    }
#ifdef MPROC_FAULT_INJECTION
    /* Only larger frames pass the point: a pool worker's results do, its
     * small status messages do not (tests/test_pool_faults.c). */
    if (mproc__fault_armed)
        return send_cut_after_header(c, frame, joined, second, second_len);
#endif
    return mproc__os_write_pair(c->wr, frame, joined, second, second_len);
}

static size_t buffered(const mproc_connection_t *c)
{
    return c->end - c->start;
}

/* Move the buffered bytes to the buffer's start, making room at its end. */
static void compact(mproc_connection_t *c)
{
    if (c->start) {
        memmove(c->buf, c->buf + c->start, buffered(c));
        c->end -= c->start;
        c->start = 0;
    }
}

void mproc__connection_said_ready(mproc_connection_t *c)
{
    c->said_ready = 1;
}

/* Before a timed read: wait until the read end is ready, unless the caller's
 * own wait just said so (under Wine each ask is a wineserver round trip). */
static mproc_status_t await_readable(mproc_connection_t *c, double deadline)
{
    int ready = 0;
    if (c->said_ready) {
        c->said_ready = 0;
        return MPROC_OK;
    }
    return mproc__os_wait_ready(&c->rd, 1, deadline, &ready);
}

/* Read at least one more byte into the buffer, waiting for it until deadline. */
static mproc_status_t read_more(mproc_connection_t *c, double deadline)
{
    mproc_status_t st;
    if (deadline >= 0) { /* forever: the read itself waits, one system call */
        st = await_readable(c, deadline);
        if (st)
            return st;
    }
    compact(c);
    /* After a large message the next is likely large too: ask for little,
     * so that its payload goes straight to its destination, not through
     * the buffer (a copy as long as the read). Small ones bring this back. */
    size_t want = c->cap - c->end;
    if (c->after_large && want > SMALL_SEND)
        want = SMALL_SEND;
    size_t got = 0;
    st = mproc__os_read_some(c->rd, c->buf + c->end, want, &got);
    if (!st)
        c->end += got;
    return st;
}

/* A frame's header as read: its size and the message's length. */
typedef struct frame {
    size_t head;
    size_t len;
} frame_t;

/* Python's _bad_message_length: the message is not read, and the end cannot
 * receive again (the rest of the stream has no known frame boundary): a
 * duplex end keeps only its sending side, a receive-only end is closed. */
static void stop_receiving(mproc_connection_t *c)
{
    if (c->wr == MPROC__OS_NO_HANDLE) {
        mproc_connection_close(c);
    } else {
        if (c->rd != c->wr)
            mproc__os_close(c->rd);
        c->rd = MPROC__OS_NO_HANDLE;
    }
}

static mproc_status_t fill(mproc_connection_t *c, size_t want, double deadline)
{
    while (buffered(c) < want) {
        mproc_status_t st = read_more(c, deadline);
        if (st)
            return st;
    }
    return MPROC_OK;
}

/* The next frame's header, leaving the frame unconsumed. A message longer
 * than `maxlength` (or than any object) is refused: MPROC_ETOOBIG, and the
 * end stops receiving. */
static mproc_status_t peek_frame(mproc_connection_t *c, double deadline, size_t maxlength,
                                 frame_t *f)
{
    uint32_t n;
    uint64_t full;
    mproc_status_t st = fill(c, HEADER_BYTES, deadline);
    if (st)
        return st;
    memcpy(&n, c->buf + c->start, HEADER_BYTES);
    full = n;
    f->head = HEADER_BYTES;
    if (n == LONG_FRAME) {
        if ((st = fill(c, LONG_HEADER_BYTES, deadline)) != MPROC_OK)
            return st;
        memcpy(&full, c->buf + c->start + HEADER_BYTES, sizeof full);
        f->head = LONG_HEADER_BYTES;
    }
    if (full > LARGEST_MESSAGE || full > (uint64_t)maxlength) {
        stop_receiving(c);
        return MPROC_ETOOBIG;
    }
    f->len = (size_t)full;
    return MPROC_OK;
}

/* A receive timed out with the frame's first `have` bytes taken: the buffered
 * ones, then those read since, at `rest`. Keep the whole frame so far in the
 * buffer, grown to hold the frame, for the next receive to continue. */
static mproc_status_t keep_partial(mproc_connection_t *c, const unsigned char *rest, size_t have,
                                   const frame_t *f)
{
    size_t in_buf = buffered(c) - f->head;
    if (f->head + f->len > c->cap) {
        unsigned char *b = realloc(c->buf, f->head + f->len);
        if (!b) {
            /* The bytes read are lost: the stream is out of step for good. */
            stop_receiving(c);
            return MPROC_ENOMEM;
        }
        c->buf = b;
        c->cap = f->head + f->len;
    }
    memmove(c->buf, c->buf + c->start, f->head + in_buf);
    memcpy(c->buf + f->head + in_buf, rest, have - in_buf);
    c->start = 0;
    c->end = f->head + have;
    return MPROC_ETIMEDOUT;
}

/* An emptied buffer grown for one large partial frame goes back to its size. */
static void shrink_if_empty(mproc_connection_t *c)
{
    if (c->start != c->end || c->cap <= READ_AHEAD)
        return;
    unsigned char *b = realloc(c->buf, READ_AHEAD);
    if (b) {
        c->buf = b;
        c->cap = READ_AHEAD;
    }
    c->start = c->end = 0;
}

/* A timed receive continuing a frame that an earlier one kept (the buffer
 * grown past READ_AHEAD by keep_partial) reads the rest into the buffer and
 * takes the frame only once it is whole. Taking the part kept into the
 * caller's memory and keeping it again at each timeout copied a large
 * message once per receive: quadratic for the pool's handler, which takes
 * results with timeout 0 as their bytes arrive. */
static mproc_status_t gather_kept_frame(mproc_connection_t *c, const frame_t *f, double deadline)
{
    size_t whole = f->head + f->len;
    if (buffered(c) >= whole)
        return MPROC_OK;
    compact(c);
    if (whole > c->cap) {
        unsigned char *b = realloc(c->buf, whole);
        if (!b)
            return MPROC_ENOMEM; /* nothing taken: the message is still next */
        c->buf = b;
        c->cap = whole;
    }
    while (c->end < whole) {
        size_t got = 0;
        mproc_status_t st = await_readable(c, deadline);
        if (!st)
            st = mproc__os_read_some(c->rd, c->buf + c->end, whole - c->end, &got);
        if (st)
            return st;
        c->end += got;
    }
    return MPROC_OK;
}

/* Consume the message whose header peek_frame() gave by deadline: its first
 * `head_len` bytes (all buffered already) into `head`, the rest into `tail`. */
static mproc_status_t take_message(mproc_connection_t *c, void *head, size_t head_len,
                                   void *tail, const frame_t *f, double deadline)
{
    if (deadline >= 0 && c->cap > READ_AHEAD) {
        mproc_status_t st = gather_kept_frame(c, f, deadline);
        if (st)
            return st;
    }
    unsigned char *d = tail;
    size_t len = f->len - head_len;
    size_t in_buf = buffered(c) - f->head - head_len;
    size_t have = in_buf < len ? in_buf : len;
    const unsigned char *from = c->buf + c->start + f->head;
    if (head_len)
        memcpy(head, from, head_len);
    if (have)
        memcpy(d, from + head_len, have);
    /* The rest goes straight to its destination: large messages are copied once. */
    if (have < len && deadline < 0) {
        mproc_status_t st = mproc__os_read_all(c->rd, d + have, len - have);
        if (st)
            return st;
        have = len;
    }
    while (have < len) {
        size_t got = 0;
        mproc_status_t st = await_readable(c, deadline);
        if (st == MPROC_ETIMEDOUT)
            return keep_partial(c, d + in_buf, head_len + have, f);
        if (!st)
            st = mproc__os_read_some(c->rd, d + have, len - have, &got);
        if (st)
            return st;
        have += got;
    }
    c->after_large = f->len > LARGE_MESSAGE;
    if (in_buf <= len)
        c->start = c->end = 0; /* the buffer held this message's start and nothing else */
    else
        c->start += f->head + f->len;
    shrink_if_empty(c);
    return MPROC_OK;
}

static mproc_status_t recv_into_by(mproc_connection_t *c, double deadline, void *buf, size_t cap,
                                   size_t *len)
{
    frame_t f;
    mproc_status_t st = peek_frame(c, deadline, SIZE_MAX, &f);
    if (st)
        return st;
    *len = f.len;
    return f.len > cap ? MPROC_ESHORTBUF : take_message(c, NULL, 0, buf, &f, deadline);
}

mproc_status_t mproc_connection_recv_bytes(mproc_connection_t *c, double timeout, void **data,
                                           size_t *len)
{
    return mproc_connection_recv_bytes_max(c, timeout, SIZE_MAX, data, len);
}

mproc_status_t mproc_connection_recv_bytes_max(mproc_connection_t *c, double timeout,
                                               size_t maxlength, void **data, size_t *len)
{
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    double deadline;
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (st)
        return st;
    if (!data || !len || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    *data = NULL;
    *len = 0;
    frame_t f;
    if ((st = peek_frame(c, deadline, maxlength, &f)) != MPROC_OK)
        return st;
    void *msg = malloc(f.len ? f.len : 1);
    if (!msg)
        return MPROC_ENOMEM; /* nothing consumed: the message is still next */
    if ((st = take_message(c, NULL, 0, msg, &f, deadline)) != MPROC_OK) {
        free(msg);
        return st;
    }
    *data = msg;
    *len = f.len;
    return MPROC_OK;
}

mproc_status_t mproc_connection_recv_bytes_into(mproc_connection_t *c, double timeout, void *buf,
                                                size_t cap, size_t *len)
{
    if (len)
        *len = 0;
    double deadline;
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (st)
        return st;
    if (!len || (!buf && cap) || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    return recv_into_by(c, deadline, buf, cap, len);
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
    if (out)
        *out = MPROC_SENTINEL_NONE;
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

mproc_status_t mproc__connection_recv_split(mproc_connection_t *c, double timeout, void *head,
                                            size_t head_len, void *tail, size_t tail_len,
                                            int (*accept)(const void *head, void *ctx),
                                            void *ctx, mproc__wbuf_t *buf, int *split)
{
    frame_t f;
    double deadline;
    *split = 0;
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (!st && mproc__deadline(timeout, &deadline))
        st = MPROC_EINVAL;
    if (!st)
        st = peek_frame(c, deadline, SIZE_MAX, &f);
    if (!st && tail_len <= SIZE_MAX - head_len && f.len == head_len + tail_len &&
        buffered(c) - f.head >= head_len && accept(c->buf + c->start + f.head, ctx)) {
        /* The head is judged where it lies in the buffer, before a byte is taken. */
        *split = 1;
        st = take_message(c, head, head_len, tail, &f, deadline);
    } else if (!st) {
        return mproc__connection_recv_reuse(c, timeout, buf);
    }
    if (c)
        c->said_ready = 0;
    return st;
}

mproc_status_t mproc__connection_recv_reuse(mproc_connection_t *c, double timeout,
                                            mproc__wbuf_t *buf)
{
    size_t n = 0;
    double deadline;
    mproc_status_t st = check(c, c ? c->rd : MPROC__OS_NO_HANDLE);
    if (!st && mproc__deadline(timeout, &deadline))
        st = MPROC_EINVAL;
    if (!st)
        st = recv_into_by(c, deadline, buf->data, buf->cap, &n);
    if (st == MPROC_ESHORTBUF) {
        size_t at;
        buf->len = 0;
        if ((st = mproc__wbuf_reserve(buf, n, &at)) != MPROC_OK)
            return st;
        st = recv_into_by(c, deadline, buf->data, buf->cap, &n);
    }
    buf->len = st ? 0 : n;
    if (c)
        c->said_ready = 0;
    return st;
}
