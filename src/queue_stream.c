/*
 * Messages larger than the room stream through the ring: bytes are written
 * and read as the other side makes room or publishes them. A consumer
 * whose frame stops coming closes it if its producer is gone.
 */

#include "queue_head.h"

/* How long a side streaming a message larger than the ring waits for the
 * other side past its deadline before it gives the message up; the other
 * side's death or departure is looked for as often. */
#define STALL_SECONDS 0.25

static int64_t room(mproc_queue_t *q)
{
    return mproc__queue_room_for(q, q->usable);
}

/* The end of a wait for the other side while a frame larger than the ring
 * streams: the deadline, or STALL_SECONDS from now if that is later, so that a
 * message still moving is not given up because a deadline passed. */
static double stream_wait_end(double deadline)
{
    double stall = mproc__os_now() + STALL_SECONDS;
    return deadline < 0 ? stall : deadline > stall ? deadline : stall;
}

/* Write `n` bytes (NULL: zeros) at the tail, publishing as room appears.
 * MPROC_EFULL once the deadline has passed and no room came for a while. */
mproc_status_t mproc__queue_stream_in(mproc_queue_t *q, const unsigned char *src, int64_t n,
                                double deadline)
{
    static const unsigned char zeros[512] = {0};
    while (n > 0) {
        int64_t r = room(q);
        if (r <= 0) { /* below 0 while a consumer reads through a frame it closed */
            if (mproc__queue_sleep_until(q, mproc__queue_has_room, 1, &q->s->prod_sleeping, ROOM_SEM(q),
                            stream_wait_end(deadline)) != MPROC_OK &&
                deadline >= 0 && mproc__os_now() >= deadline)
                return MPROC_EFULL;
            continue;
        }
        int64_t k = n < r ? n : r;
        if (!src && k > (int64_t)sizeof zeros)
            k = sizeof zeros;
        /* A sparse ring's memory runs out: given up as at the deadline. */
        mproc_status_t st = mproc__queue_touch(q, PRODUCER, q->s->tail, k);
        if (st)
            return st;
        mproc__queue_ring_copy_in(q, q->s->tail, src ? src : zeros, (size_t)k);
        mproc__publish(q->light, &q->s->tail, q->s->tail + k);
        MPROC_KILL_POINT("queue.put.mid_stream");
        wake(&q->s->cons_sleeping, DATA_SEM(q));
        if (src)
            src += k;
        n -= k;
    }
    return MPROC_OK;
}

/* With the consumer lock held, reading a frame whose rest does not come: if
 * its producer died or gave it up (the producer lock can be had now), close
 * the frame as aborted: its unwritten rest counts as published, to be read as
 * garbage and dropped. 1: closed. */
static int close_stalled_frame(mproc_queue_t *q)
{
    shared_t *s = q->s;
    if (mproc__lock_take_now(&q->prod) == MPROC_EBUSY)
        return 0;
    int closed = s->prod_total != 0 && s->prod_start == s->cons_start;
    if (closed) {
        mproc__store(&s->aborted_at, s->prod_start);
        mproc__publish(q->light, &s->tail, s->prod_start + s->prod_total);
        MPROC_KILL_POINT("queue.get.after_close");
        mproc__publish(q->light, &s->produced, s->prod_base + 1);
        undo_unfinished(s);
        s->prod_total = 0;
    }
    mproc__lock_release(&q->prod);
    return closed;
}

/* Read `n` bytes (dst NULL: discard) of the claimed frame from the head as
 * they are published. When none come, every STALL_SECONDS the frame is closed
 * if its producer is gone; MPROC_EEMPTY once the deadline has passed and the
 * producer, alive, has sent nothing for that long (the frame stays claimed). */
mproc_status_t mproc__queue_stream_out(mproc_queue_t *q, unsigned char *dst, int64_t n, double deadline)
{
    while (n > 0) {
        int64_t avail = published_for(q, n);
        if (avail == 0) {
            if (mproc__queue_sleep_until(q, mproc__queue_has_bytes, 1, &q->s->cons_sleeping, DATA_SEM(q),
                            mproc__os_now() + STALL_SECONDS) == MPROC_OK ||
                close_stalled_frame(q))
                continue;
            if (deadline >= 0 && mproc__os_now() >= deadline)
                return MPROC_EEMPTY;
            continue;
        }
        int64_t k = n < avail ? n : avail;
        if (k > q->s->capacity) /* a closed frame's rest: garbage, read a ring at a time */
            k = q->s->capacity;
        if (dst) {
            mproc__queue_ring_copy_out(q, q->s->head, dst, (size_t)k);
            dst += k;
        }
        move_head(q, q->s->head, q->s->head + k, q->s->head + k);
        MPROC_KILL_POINT("queue.get.mid_stream");
        n -= k;
    }
    return MPROC_OK;
}
