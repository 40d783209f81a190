/*
 * The producer's path: put, its usual case inline, and the general one
 * (waits, early wraps, jumps past consumers a lap behind, streaming).
 */

#include "queue_core.h"

/* How long a producer stopped by consumers a lap behind waits for them before
 * it jumps past them: a few large messages' copying. */
#define JUMP_GRACE_SECONDS 1e-3

/* Room to begin a frame of `need` bytes, and below maxsize messages. */
static int can_begin(mproc_queue_t *q, int64_t need)
{
    return mproc__queue_room_for(q, need) >= need && (q->s->maxsize == 0 || count(q->s) < q->s->maxsize);
}

/* Whether a frame from ring offset `off` to `end` crosses `mark`. */
static int crosses(int64_t off, int64_t end, int64_t mark)
{
    return off < mark && end > mark;
}

/* In a sparse ring, begin a frame that would run past the warm or the hot
 * part at the ring's beginning instead, when consumers have freed it. This is
 * tried at those two boundaries and then once a block, so that a producer
 * ahead of its consumers does not read their head on every put. */
static mproc_status_t wrap_early(mproc_queue_t *q, int64_t total)
{
    shared_t *s = q->s;
    int64_t off = s->tail & q->mask, end = off + total + HEADER;
    if (off == 0 || (!crosses(off, end, q->warm) && !crosses(off, end, s->hot) &&
                     !(off >= s->hot && crosses(off, end, round_up(off + 1, BLOCK)))))
        return MPROC_OK;
    /* Room for the frame and a mark after it, so that a jump stays possible. */
    int64_t skip = s->capacity - off;
    if (mproc__queue_room_for(q, skip + total + HEADER) < skip + total + HEADER)
        return MPROC_OK; /* consumers are behind: run on into the cold part */
    mproc_status_t st = mproc__queue_touch(q, PRODUCER, s->tail, HEADER);
    if (st)
        return st;
    static const uint32_t mark[2] = {WRAP_MARK, 0};
    mproc__queue_ring_copy_in(q, s->tail, mark, HEADER);
    MPROC_KILL_POINT("queue.put.after_wrap_mark");
    /* Recorded before the publication: a producer dying in between leaves a
     * lap that has not begun, which no jump can use. */
    s->prod_lap_before = off + HEADER;
    s->prod_lap = s->tail + skip;
    mproc__publish(q->light, &s->tail, s->tail + skip);
    MPROC_KILL_POINT("queue.put.after_wrap");
    return MPROC_OK;
}

/* How long a producer at the end of the warm part waits for consumers to
 * free its beginning before it runs on past it (see wait_to_wrap). */
#define SPILL_GRACE_SECONDS 10e-3
#define SPILL_WAIT_FRAMES 2 /* frames of at most warm / this wait */

/* At the end of the warm part, consumers that are a little behind are given
 * a moment to free its beginning, unless the put may not wait: a frame that
 * runs on past it lands in memory that is not in the caches, and beyond the
 * hot part in pages faulted in and given back again, which costs a steady
 * stream (both sides) far more than the wait. Consumers that do not free it
 * in time are left behind as before. Only for frames up to half the warm
 * part: for a larger one the wrap waits for consumers to read all but that
 * much, which would leave little in flight. */
static void wait_to_wrap(mproc_queue_t *q, int64_t total, double deadline)
{
    shared_t *s = q->s;
    int64_t off = s->tail & q->mask, need = s->capacity - off + total + HEADER;
    if (deadline == 0.0 || total > q->warm / SPILL_WAIT_FRAMES ||
        !crosses(off, off + total + HEADER, q->warm) || mproc__queue_room_for(q, need) >= need)
        return;
    double until = mproc__os_now() + SPILL_GRACE_SECONDS;
    (void)mproc__queue_sleep_until(q, mproc__queue_has_room, need, &s->prod_sleeping, ROOM_SEM(q),
                      deadline > 0 && deadline < until ? deadline : until);
}

/* Producers are in the lap after a wrap and consumers still in the one
 * before, and the room up to them would not hold this frame and a mark after
 * it: the offset in this lap past the previous lap's frames to jump to.
 * 0: no jump (room enough, jumped already, or no room past the lap either). */
static int64_t jump_target(mproc_queue_t *q, int64_t need)
{
    shared_t *s = q->s;
    /* The usual case first, from the producers' own line: consumers in this
     * lap (an old head that shows it is enough: the head only grows). */
    if (s->tail < s->prod_lap || s->prod_seen_head >= s->prod_lap)
        return 0;
    if (mproc__queue_room_for(q, need + HEADER) >= need + HEADER || s->prod_seen_head >= s->prod_lap)
        return 0;
    int64_t to = jump_offset(s);
    return s->tail - s->prod_lap < to && to + need + HEADER <= s->capacity - BLOCK ? to : 0;
}

static mproc_status_t jump_ahead(mproc_queue_t *q, int64_t need)
{
    shared_t *s = q->s;
    int64_t to = jump_target(q, need);
    if (!to)
        return MPROC_OK;
    mproc_status_t st = mproc__queue_touch(q, PRODUCER, s->tail, HEADER);
    if (st)
        return st;
    const uint32_t mark[2] = {JUMP_MARK, (uint32_t)(to / BLOCK)};
    mproc__queue_ring_copy_in(q, s->tail, mark, HEADER);
    MPROC_KILL_POINT("queue.put.after_jump_mark");
    mproc__publish(q->light, &s->tail, s->prod_lap + to);
    MPROC_KILL_POINT("queue.put.after_jump");
    return MPROC_OK;
}

/* The first ring offset past `off` where a put has something to decide: in a
 * sparse ring the ends of the warm and the hot part and then of each block
 * (wrap_early), in a plain one the ring's end. */
static int64_t next_boundary(const mproc_queue_t *q, int64_t off)
{
    const shared_t *s = q->s;
    if (!s->sparse)
        return s->capacity;
    if (off < q->warm)
        return q->warm;
    if (off < s->hot)
        return s->hot;
    return round_up(off + 1, BLOCK);
}

/* With the producer lock held: a frame of `total` bytes can begin at the tail
 * now, with nothing to decide first: the room last seen holds it and a mark
 * after it (so no jump), it crosses no boundary (so no early wrap), the queue
 * is below maxsize, and its memory is usable. The usual put. */
static int fits_now(mproc_queue_t *q, int64_t total)
{
    shared_t *s = q->s;
    int64_t off = s->tail & q->mask;
    return s->prod_total == 0 &&
           room_limit(q, s->prod_seen_head) - (s->tail - s->prod_seen_head) >= total + HEADER &&
           (s->maxsize == 0 || count(s) < s->maxsize) &&
           off + total + HEADER <= next_boundary(q, off) &&
           mproc__queue_touch(q, PRODUCER, s->tail, total) == MPROC_OK;
}

/* Take the producer lock unless `locked`, and wait for room to begin a frame
 * of `total` bytes, jumping or wrapping early where that is due. On failure
 * the lock is not held. */
static mproc_status_t wait_to_begin(mproc_queue_t *q, int64_t total, deadline_t *d, int locked)
{
    shared_t *s = q->s;
    mproc_status_t st = MPROC_OK;
    if (!locked && (st = lock(&q->prod, deadline_at(d))) != MPROC_OK)
        return st == MPROC_ETIMEDOUT ? MPROC_EFULL : st;
    double deadline = deadline_at(d);
    if (s->prod_total && (st = mproc__queue_recover_producer(q, deadline)) != MPROC_OK) {
        mproc__lock_release(&q->prod);
        return st;
    }
    /* Room for the whole frame, or a whole ring for one larger than it. */
    int64_t need = total < q->usable ? total : q->usable;
    if (s->sparse && jump_target(q, need)) {
        /* Consumers a lap behind are usually about to pass the wrap, and
         * jumping leaves the warm part: give them a moment, unless this put
         * may not wait at all. */
        double grace = mproc__os_now() + JUMP_GRACE_SECONDS;
        if (deadline != 0.0)
            (void)mproc__queue_sleep_until(q, mproc__queue_has_room, need + HEADER, &s->prod_sleeping, ROOM_SEM(q),
                              deadline > 0 && deadline < grace ? deadline : grace);
        st = jump_ahead(q, need);
    }
    if (!st)
        st = mproc__queue_sleep_until(q, can_begin, need, &s->prod_sleeping, ROOM_SEM(q), deadline);
    if (!st && s->sparse)
        wait_to_wrap(q, total, deadline);
    if (!st && s->sparse && (st = wrap_early(q, total)) == MPROC_OK)
        st = mproc__queue_touch(q, PRODUCER, s->tail, total); /* nothing is written if memory runs out */
    if (st) {
        mproc__lock_release(&q->prod);
        return st == MPROC_ETIMEDOUT ? MPROC_EFULL : st;
    }
    return MPROC_OK;
}

/* Write the frame begun (prod_seq) as room appears: one larger than the room
 * or running over the ring's end, or a long message (where room is enough,
 * that is one copy and one publication too). Given up at the deadline, the
 * frame is left for the next producer or the consumer reading it to finish,
 * and no consumer ever returns it. The header goes in one piece (the room to
 * begin holds it), so a long message's length is never published without its
 * mark or the reverse. */
static mproc_status_t stream_frame(mproc_queue_t *q, const void *data, size_t len, int64_t total,
                                   double deadline)
{
    int64_t hb = frame_header(len);
    uint32_t first[2] = {hb > HEADER ? LONG_MARK : (uint32_t)len, (uint32_t)q->s->prod_seq};
    uint64_t n = len;
    unsigned char header[MPROC__FRAME_HEADER_LONG];
    memcpy(header, first, HEADER);
    memcpy(header + HEADER, &n, sizeof n);
    mproc_status_t st = mproc__queue_stream_in(q, header, hb, deadline);
    if (!st)
        st = mproc__queue_stream_in(q, data, (int64_t)len, deadline);
    if (!st)
        st = mproc__queue_stream_in(q, NULL, total - hb - (int64_t)len, deadline);
    return st;
}

/* With the producer lock held: record the frame begun at `pos`, from which
 * the next holder finishes it if this one dies or gives up. */
static USUAL void begin_frame(shared_t *s, int64_t pos, int64_t total)
{
    s->prod_seq++;
    s->prod_base = s->produced;
    s->prod_start = pos;
    s->prod_total = total; /* from here the next holder finishes a frame left unfinished */
    if (s->joinable)
        raise_unfinished(s);
    MPROC_KILL_POINT("queue.put.after_begin");
}

/* Write a short message's frame (header, data, padding) at `pos`, where
 * room and memory are there and it does not run over the ring's end; not
 * published yet. */
static USUAL void fill_frame(mproc_queue_t *q, int64_t pos, const void *data, size_t len)
{
    unsigned char *at = q->ring + (pos & q->mask);
    uint32_t header[2] = {(uint32_t)len, (uint32_t)q->s->prod_seq};
    memcpy(at, header, HEADER);
    if (len & 7) /* the padding: 8 zeros, of which the data covers the first */
        memset(at + HEADER + (len & ~(size_t)7), 0, 8);
    if (len <= LEAF_MAX)
        copy_short(at + HEADER, data, len);
    else
        mproc__copy(at + HEADER, data, len);
    MPROC_KILL_POINT("queue.put.after_copy");
}

/* Write a short message's frame in one piece at `pos` and publish it. */
static USUAL void write_whole(mproc_queue_t *q, int64_t pos, const void *data, size_t len,
                               int64_t total)
{
    shared_t *s = q->s;
    fill_frame(q, pos, data, len);
    mproc__publish(q->light, &s->tail, pos + total);
    MPROC_KILL_POINT("queue.put.after_publish");
    wake(&s->cons_sleeping, DATA_SEM(q));
}

/* The frame begun is all published: count it, and the record is done. */
static USUAL void end_frame(mproc_queue_t *q)
{
    shared_t *s = q->s;
    mproc__publish(q->light, &s->produced, s->prod_base + 1);
    MPROC_KILL_POINT("queue.put.after_count");
    s->prod_total = 0;
}

/* With the producer lock held and room to begin: write a frame at the tail,
 * in one copy and one publication when it is in one piece (room to begin is
 * room for the whole frame unless it is larger than the ring), else streamed
 * as room appears. */
static mproc_status_t write_frame(mproc_queue_t *q, const void *data, size_t len, int64_t total,
                                  deadline_t *d)
{
    shared_t *s = q->s;
    int64_t pos = s->tail, off = pos & q->mask;
    begin_frame(s, pos, total);
    /* A long message (gigabytes) always streams: the usual put stays short. */
    if (len <= MPROC__FRAME_SHORT_MAX && off + total <= s->capacity && total <= q->usable) {
        write_whole(q, pos, data, len, total);
    } else {
        mproc_status_t st = stream_frame(q, data, len, total, deadline_at(d));
        if (st) {
            (void)mproc__queue_retract_frame(q); /* else the consumer reading it closes it */
            return st;
        }
    }
    end_frame(q);
    return MPROC_OK;
}

/* With the producer lock held in a view that may take the usual paths
 * (FAST_PUT, a frame of `total` bytes below FAST_LEN): no frame left to
 * repair, and the room last seen holds the frame and a mark after it below
 * fast_end, so that nothing needs deciding (what fits_now checks, for this
 * case). */
static USUAL int fits_usual(mproc_queue_t *q, int64_t pos, int64_t total)
{
    shared_t *s = q->s;
    int64_t end = (pos & q->mask) + total + HEADER;
    int64_t seen = s->prod_seen_head, need = total + HEADER;
    return !s->prod_total && end <= q->fast_end &&
           (q->usable - (pos - seen) >= need || room_limit(q, seen) - (pos - seen) >= need);
}

/* The usual put, with the producer lock held. 0: not the usual case,
 * nothing done. */
static USUAL int put_now(mproc_queue_t *q, const void *data, size_t len)
{
    shared_t *s = q->s;
    int64_t total = short_frame_size(len);
    int64_t pos = s->tail;
    if (!fits_usual(q, pos, total))
        return 0;
    MPROC_KILL_POINT("queue.put.after_lock");
    begin_frame(s, pos, total);
    write_whole(q, pos, data, len, total);
    end_frame(q);
    return 1;
}

/* put_now of a message of at most LEAF_MAX bytes in a lock this thread keeps,
 * without a call: what needs one is left to put_after_leaf (LEAF_*). */
static USUAL int put_leaf(mproc_queue_t *q, const void *data, size_t len)
{
    shared_t *s = q->s;
    if (!mproc__lock_try_kept(&q->prod))
        return LEAF_NOT_TAKEN;
    int64_t total = short_frame_size(len);
    int64_t pos = s->tail;
    if (!fits_usual(q, pos, total))
        return LEAF_LOCKED;
    MPROC_KILL_POINT("queue.put.after_lock");
    begin_frame(s, pos, total);
    fill_frame(q, pos, data, len);
    mproc__publish(q->light, &s->tail, pos + total);
    MPROC_KILL_POINT("queue.put.after_publish");
    if (mproc__load(&s->cons_sleeping))
        return LEAF_WAKE_PEER;
    end_frame(q);
    return mproc__lock_leave_kept(&q->prod) ? LEAF_WAKE_LOCK : LEAF_DONE;
}

/* Every put that put_now does not serve; `locked`: the producer lock is held
 * already (the arguments were checked then). */
static OUT_OF_LINE mproc_status_t put_slow(mproc_queue_t *q, const void *data, size_t len,
                                           double timeout, int locked)
{
    mproc_status_t st = MPROC_OK;
    if (!locked) {
        st = check_open(q);
        if (st)
            return st;
        if ((!data && len) || timeout != timeout)
            return MPROC_EINVAL;
        if ((uint64_t)len > MPROC__FRAME_LEN_MAX)
            return MPROC_ETOOBIG;
        locked = mproc__lock_try(&q->prod);
    }
    int64_t total = frame_size(len);
    deadline_t d = {timeout, 0, 0};
    if ((!locked || !fits_now(q, total)) && (st = wait_to_begin(q, total, &d, locked)) != MPROC_OK)
        return st;
    MPROC_KILL_POINT("queue.put.after_lock");
    st = write_frame(q, data, len, total, &d);
    mproc__lock_release(&q->prod);
    return st;
}

/* The rest of a put after put_leaf returned `leaf` (LEAF_SKIPPED: the leaf
 * was not tried). */
static OUT_OF_LINE mproc_status_t put_after_leaf(mproc_queue_t *q, const void *data, size_t len,
                                                 double timeout, int leaf)
{
    if (leaf == LEAF_WAKE_PEER) {
        wake(&q->s->cons_sleeping, DATA_SEM(q));
        end_frame(q);
        mproc__lock_release(&q->prod);
        return MPROC_OK;
    }
    if (leaf == LEAF_WAKE_LOCK) {
        mproc__lock_wake(&q->prod);
        return MPROC_OK;
    }
    int locked = lock_after_leaf(q, PRODUCER, leaf,
                                 leaf == LEAF_SKIPPED && q && (q->fast & FAST_PUT) &&
                                     (data || !len) && len < FAST_LEN && timeout == timeout);
    if (locked && put_now(q, data, len)) {
        mproc__lock_release(&q->prod);
        return MPROC_OK;
    }
    return put_slow(q, data, len, timeout, locked);
}

mproc_status_t mproc_queue_put(mproc_queue_t *q, const void *data, size_t len, double timeout)
{
    int leaf = LEAF_SKIPPED;
    if (q && (q->fast & FAST_PUT) && (data || !len) && len <= LEAF_MAX && timeout == timeout) {
        leaf = put_leaf(q, data, len);
        if (leaf == LEAF_DONE)
            return MPROC_OK;
    }
    return put_after_leaf(q, data, len, timeout, leaf);
}

mproc_status_t mproc_queue_put_nowait(mproc_queue_t *q, const void *data, size_t len)
{
    return mproc_queue_put(q, data, len, 0);
}
