/*
 * The consumer's path: get and get_into, the usual case inline, and the
 * general one (waits, marks passed, long and streamed messages, dropped ones).
 */

#include <stdlib.h>

#include "queue_head.h"

/* With the consumer lock held, claiming a frame of `total` bytes. */
static void retain_frame(mproc_queue_t *q, int64_t total)
{
    if (total > q->s->cons_big) {
        q->s->cons_big = total;
        retain_more(q, RETAIN_MESSAGES * total);
    }
}

/* Pass a wrap or jump mark at the head. The mark was never claimed like a
 * frame, and moving the head gives back the block that holds it (its bytes
 * become zeros): so the pass is recorded first, and a consumer that dies
 * between the give-back and the head's publication leaves the record for the
 * next one to complete, instead of a zeroed mark that would read as endless
 * empty messages. */
static void pass_mark(mproc_queue_t *q, int64_t to, int64_t written)
{
    shared_t *s = q->s;
    s->cons_pass_written = written;
    s->cons_pass_to = to;
    mproc__compiler_fence();
    move_head(q, s->head, to, written);
    mproc__compiler_fence();
    s->cons_pass_to = 0;
}

/* Read a frame's first 8 header bytes at the head (never split: frames are
 * 8-aligned), and the rest of a long message's header once published.
 * MPROC_OK, or the wait's status. */
static mproc_status_t read_header(mproc_queue_t *q, unsigned char header[MPROC__FRAME_HEADER_LONG],
                                  int64_t *bytes, deadline_t *d)
{
    (void)mproc__queue_touch(q, CONSUMER, q->s->head, HEADER); /* the producer committed it already */
    memcpy(header, q->ring + (q->s->head & q->mask), HEADER);
    *bytes = mproc__queue_frame_header_bytes(header);
    if (*bytes == HEADER)
        return MPROC_OK;
    mproc_status_t st = mproc__queue_has_bytes(q, *bytes) ? MPROC_OK
                                              : mproc__queue_sleep_until(q, mproc__queue_has_bytes, *bytes, &q->s->cons_sleeping,
                                                            DATA_SEM(q), deadline_at(d));
    if (!st)
        mproc__queue_ring_copy_out(q, q->s->head, header, (size_t)*bytes);
    return st;
}

/* With the consumer lock held: record the claim of the frame at the head
 * (`total` bytes). From here a recovering consumer would skip it. */
static USUAL void record_claim(mproc_queue_t *q, int64_t head, int64_t total)
{
    shared_t *s = q->s;
    s->cons_start = head;
    s->cons_claim = s->claimed + 1;
    s->cons_total = total;
}

/* The claim recorded is counted. */
static USUAL void count_claim(mproc_queue_t *q)
{
    mproc__publish(q->light, &q->s->claimed, q->s->cons_claim);
    MPROC_KILL_POINT("queue.get.after_claim");
}

/* With the consumer lock held: claim the frame at the head. */
static USUAL void claim_frame(mproc_queue_t *q, int64_t head, int64_t total)
{
    record_claim(q, head, total);
    if (q->s->sparse)
        retain_frame(q, total);
    count_claim(q);
}

/* The claimed frame is all published: one copy of its `n` bytes after `hb`
 * bytes of header, one publication of the head past it. */
static inline void read_whole(mproc_queue_t *q, int64_t hb, unsigned char *dst, size_t n,
                              int64_t total)
{
    shared_t *s = q->s;
    mproc__queue_ring_copy_out(q, s->head + hb, dst, n);
    MPROC_KILL_POINT("queue.get.after_copy");
    move_head(q, s->head, s->head + total, s->head + total);
}

/* With the consumer lock held and a frame's header read at the head: claim
 * the frame and read it into `buf` (cap bytes) or, when `alloc`, a new buffer.
 * MPROC_EAGAIN: it was dropped (its producer died writing it); MPROC_EEMPTY:
 * its rest stopped coming by the deadline (it stays claimed, to be skipped). */
static mproc_status_t read_frame(mproc_queue_t *q, const mproc__frame_t *f, void *buf,
                                 size_t cap, void **alloc, size_t *len, deadline_t *d)
{
    shared_t *s = q->s;
#if SIZE_MAX < UINT64_MAX
    if (f->len > (uint64_t)SIZE_MAX) { /* from a process with a wider size_t */
        *len = SIZE_MAX;
        return alloc ? MPROC_ENOMEM : MPROC_ESHORTBUF;
    }
#endif
    size_t n = (size_t)f->len;
    unsigned char *dst = buf;
    if (alloc)
        dst = malloc(n ? n : 1);
    if (alloc && !dst)
        return MPROC_ENOMEM;
    if (!alloc && n > cap) {
        *len = n;
        return MPROC_ESHORTBUF;
    }
    int64_t total = f->advance, hb = f->header;
    claim_frame(q, s->head, total);
    mproc_status_t st = MPROC_OK;
    if (published_for(q, total) >= total) {
        read_whole(q, hb, dst, n, total); /* the common case */
    } else {
        double deadline = deadline_at(d);
        move_head(q, s->head, s->head + hb, s->head + hb);
        st = mproc__queue_stream_out(q, dst, (int64_t)n, deadline);
        if (!st)
            st = mproc__queue_stream_out(q, NULL, total - hb - (int64_t)n, deadline);
    }
    MPROC_KILL_POINT("queue.get.after_head");
    if (!st) {
        s->cons_total = 0;
        if (s->cons_start == mproc__load(&s->aborted_at))
            st = MPROC_EAGAIN; /* its producer died while writing it */
    }
    if (st) {
        if (alloc)
            free(dst);
        return st;
    }
    if (alloc)
        *alloc = dst;
    *len = n;
    return MPROC_OK;
}

/* The header read at the head (read_header), decoded: a short length here,
 * anything else by the decoder. */
static mproc_status_t decode_at_head(const mproc_queue_t *q, const unsigned char *header,
                                     int64_t bytes, mproc__frame_t *f)
{
    uint32_t word[2];
    memcpy(word, header, HEADER);
    if (word[0] > MPROC__FRAME_SHORT_MAX)
        return mproc__queue_frame_decode(header, (size_t)bytes, q->s->head & q->mask,
                                         q->s->capacity, f);
    f->kind = MPROC__FRAME_MESSAGE;
    f->len = word[0];
    f->seq = word[1];
    f->header = HEADER;
    f->advance = frame_size(word[0]);
    return MPROC_OK;
}

/* The usual get, with the consumer lock held in a view that may take it
 * (FAST_GET): nothing left to repair, and a short message's frame all
 * published at the head, not dropped, that fits the buffer. Into `buf` (cap
 * bytes) or, when `alloc`, a new buffer. 0: not the usual case, nothing done. */
static USUAL int take_now(mproc_queue_t *q, void *buf, size_t cap, void **alloc, size_t *len)
{
    shared_t *s = q->s;
    int64_t head = s->head; /* this side's own: read once */
    if (s->cons_total | s->cons_pass_to)
        return 0;
    int64_t published = published_past(s, head, HEADER);
    if (published < HEADER)
        return 0;
    MPROC_KILL_POINT("queue.get.after_lock");
    int64_t off = head & q->mask;
    const unsigned char *at = q->ring + off;
    uint32_t word[2];
    if (q->commits)
        (void)mproc__queue_touch(q, CONSUMER, head, HEADER); /* the producer committed it already */
    memcpy(word, at, HEADER);
    if (word[0] >= FAST_LEN) /* a mark, or a long message */
        return 0;
    size_t n = word[0];
    int64_t total = frame_size(n);
    /* Not round the ring's end (streamed), all there, fits, not dropped. */
    if (off + total > q->mask + 1 || (published < total && published_past(s, head, total) < total) ||
        (!alloc && n > cap) ||
        head == mproc__load(&s->aborted_at) ||
        (q->commits && mproc__queue_touch(q, CONSUMER, head, total) != MPROC_OK))
        return 0;
    unsigned char *dst = alloc ? malloc(n ? n : 1) : buf;
    if (!dst)
        return 0; /* the slow path fails the same way */
    claim_frame(q, head, total);
    mproc__copy(dst, at + HEADER, n);
    MPROC_KILL_POINT("queue.get.after_copy");
    move_head(q, head, head + total, head + total);
    MPROC_KILL_POINT("queue.get.after_head");
    s->cons_total = 0;
    if (alloc)
        *alloc = dst;
    *len = n;
    return 1;
}

/* Every get that take_now does not serve; `locked`: the consumer lock is held
 * already (the arguments were checked then). */
static OUT_OF_LINE mproc_status_t take_slow(mproc_queue_t *q, double timeout, void *buf,
                                            size_t cap, void **alloc, size_t *len, int locked)
{
    mproc_status_t st = MPROC_OK;
    if (!locked) {
        st = check_open(q);
        if (st)
            return st;
        if (!len || (!alloc && !buf && cap) || timeout != timeout)
            return MPROC_EINVAL;
    }
    shared_t *s = q->s;
    deadline_t d = {timeout, 0, 0};
    if (!locked && !mproc__lock_try(&q->cons) && (st = lock(&q->cons, deadline_at(&d))) != MPROC_OK)
        return st == MPROC_ETIMEDOUT ? MPROC_EEMPTY : st;
    if ((s->cons_total | s->cons_pass_to) && (st = mproc__queue_recover_consumer(q, deadline_at(&d))) != MPROC_OK) {
        mproc__lock_release(&q->cons);
        return st;
    }
    MPROC_KILL_POINT("queue.get.after_lock");
    for (;;) {
        if (!mproc__queue_has_bytes(q, HEADER) &&
            (st = mproc__queue_sleep_until(q, mproc__queue_has_bytes, HEADER, &s->cons_sleeping, DATA_SEM(q),
                              deadline_at(&d))) != MPROC_OK)
            break;
        unsigned char header[MPROC__FRAME_HEADER_LONG];
        int64_t bytes;
        mproc__frame_t f;
        st = read_header(q, header, &bytes, &d);
        if (st)
            break;
        /* Any process using the queue can write the ring: a header that no
         * producer writes breaks the queue (MPROC_ECORRUPT), nothing is read.
         * A short length, the usual header, is valid whatever it is: that
         * case of the decoder is done here, without its argument checks. */
        st = decode_at_head(q, header, bytes, &f);
        if (st) {
            st = MPROC_ECORRUPT;
            break;
        }
        if (f.kind != MPROC__FRAME_MESSAGE) { /* a wrap or a jump: on further in this lap */
            int64_t extent = (s->head & q->mask) + HEADER;
            pass_mark(q, s->head + f.advance, s->head + HEADER);
            if (f.kind == MPROC__FRAME_WRAP && s->sparse)
                mproc__queue_retain_laps(q, extent);
            continue;
        }
        st = read_frame(q, &f, buf, cap, alloc, len, &d);
        if (st != MPROC_EAGAIN)
            break;
    }
    mproc__lock_release(&q->cons);
    return st == MPROC_ETIMEDOUT ? MPROC_EEMPTY : st;
}

/* Take one frame: into `buf` (cap bytes) or, when `alloc`, a new buffer.
 * `leaf`: what take_leaf did (LEAF_SKIPPED: not tried). */
static USUAL mproc_status_t take(mproc_queue_t *q, double timeout, void *buf, size_t cap,
                                 void **alloc, size_t *len, int leaf)
{
    int locked = lock_after_leaf(q, CONSUMER, leaf,
                                 leaf == LEAF_SKIPPED && q && (q->fast & FAST_GET) && len &&
                                     (alloc || buf || !cap) && timeout == timeout);
    if (locked && take_now(q, buf, cap, alloc, len)) {
        mproc__lock_release(&q->cons);
        return MPROC_OK;
    }
    return take_slow(q, timeout, buf, cap, alloc, len, locked);
}

/* take_now into a buffer of a message of at most LEAF_MAX bytes, in a lock
 * this thread keeps, without a call: what needs one is left to
 * take_after_leaf (LEAF_*). Declines (LEAF_LOCKED) where take_now would call:
 * committed views, a block passed in a sparse ring, a frame larger than the
 * lap's largest. */
static USUAL int take_leaf(mproc_queue_t *q, void *buf, size_t cap, size_t *len)
{
    shared_t *s = q->s;
    if (!mproc__lock_try_kept(&q->cons))
        return LEAF_NOT_TAKEN;
    int64_t head = s->head; /* this side's own: read once */
    int light = q->light;   /* read once: the copy may alias anything */
    if ((s->cons_total | s->cons_pass_to) || q->commits)
        return LEAF_LOCKED;
    int64_t published = published_past(s, head, HEADER);
    if (published < HEADER)
        return LEAF_LOCKED;
    MPROC_KILL_POINT("queue.get.after_lock");
    int64_t off = head & q->mask;
    const unsigned char *at = q->ring + off;
    uint32_t word[2];
    memcpy(word, at, HEADER);
    size_t n = word[0]; /* a mark or a long message's is above LEAF_MAX */
    int64_t total = short_frame_size(n);
    /* In a sparse ring, not up to a block's end (its passing gives blocks back). */
    if (n > LEAF_MAX || n > cap || off + total > q->mask + 1 ||
        (published < total && published_past(s, head, total) < total) ||
        head == mproc__load(&s->aborted_at) ||
        (s->sparse && (total > s->cons_big || (head & (BLOCK - 1)) + total >= BLOCK)))
        return LEAF_LOCKED;
    record_claim(q, head, total);
    count_claim(q);
    copy_short(buf, at + HEADER, n);
    MPROC_KILL_POINT("queue.get.after_copy");
    mproc__publish(light, &s->head, head + total);
    *len = n;
    if (producer_waits_for(&s->prod_sleeping, head + total))
        return LEAF_WAKE_PEER;
    MPROC_KILL_POINT("queue.get.after_head");
    s->cons_total = 0;
    return mproc__lock_leave_kept(&q->cons) ? LEAF_WAKE_LOCK : LEAF_DONE;
}

/* The rest of a get_into after take_leaf returned `leaf`. */
static OUT_OF_LINE mproc_status_t take_after_leaf(mproc_queue_t *q, double timeout, void *buf,
                                                  size_t cap, size_t *len, int leaf)
{
    if (leaf == LEAF_WAKE_PEER) {
        wake_producer(&q->s->prod_sleeping, q->s->head, ROOM_SEM(q));
        MPROC_KILL_POINT("queue.get.after_head");
        q->s->cons_total = 0;
        mproc__lock_release(&q->cons);
        return MPROC_OK;
    }
    if (leaf == LEAF_WAKE_LOCK) {
        mproc__lock_wake(&q->cons);
        return MPROC_OK;
    }
    if (len) /* the leaf sets it only when it served */
        *len = 0;
    return take(q, timeout, buf, cap, NULL, len, leaf);
}

mproc_status_t mproc_queue_get(mproc_queue_t *q, double timeout, void **data, size_t *len)
{
    if (len)
        *len = 0;
    if (!data)
        return MPROC_EINVAL;
    *data = NULL;
    return take(q, timeout, NULL, 0, data, len, LEAF_SKIPPED);
}

mproc_status_t mproc_queue_get_into(mproc_queue_t *q, double timeout, void *buf, size_t cap,
                                    size_t *len)
{
    int leaf = LEAF_SKIPPED;
    if (q && (q->fast & FAST_GET) && len && buf && timeout == timeout) {
        leaf = take_leaf(q, buf, cap, len);
        if (leaf == LEAF_DONE)
            return MPROC_OK;
    }
    return take_after_leaf(q, timeout, buf, cap, len, leaf);
}

mproc_status_t mproc_queue_get_nowait(mproc_queue_t *q, void **data, size_t *len)
{
    return mproc_queue_get(q, 0, data, len);
}
