/*
 * Repairs, with a side's lock held, of what its last holder left when it died
 * or gave up at its deadline (see "Recovery" at the top of queue.c).
 */

#include "queue_head.h"

/* With the producer lock held, the frame begun at prod_start is unfinished:
 * if no consumer has begun to read it (the consumer lock can be had now, the
 * head is at the frame, and no consumer left work to repair), take it back:
 * the tail returns to where it began, as if it had never been put. 1: done. */
int mproc__queue_retract_frame(mproc_queue_t *q)
{
    shared_t *s = q->s;
    if (mproc__lock_take_now(&q->cons) == MPROC_EBUSY)
        return 0;
    int back = mproc__load(&s->head) == s->prod_start && !s->cons_total && !s->cons_pass_to;
    if (back) {
        s->cons_seen_tail = s->prod_start;
        mproc__publish(q->light, &s->tail, s->prod_start);
        MPROC_KILL_POINT("queue.put.after_retract");
        undo_unfinished(s);
        s->prod_total = 0;
    }
    mproc__lock_release(&q->cons);
    return back;
}

/* With the producer lock held, a frame is left unfinished: its producer died
 * or gave it up at its deadline. One all published is delivered; one partly
 * published is completed with zeros and dropped by the consumer (sequence
 * number aborted); one not begun is forgotten. Each step can be done again by
 * the next holder if this one dies too. MPROC_EFULL: the rest did not fit by
 * the deadline (the frame stays unfinished). */
mproc_status_t mproc__queue_recover_producer(mproc_queue_t *q, double deadline)
{
    shared_t *s = q->s;
    int64_t published = mproc__load(&s->tail) - s->prod_start;
    int delivered = published == s->prod_total;
    if (published > 0 && !delivered && mproc__queue_retract_frame(q))
        return MPROC_OK;
    if (published > 0 && !delivered) {
        mproc__store(&s->aborted_at, s->prod_start);
        mproc_status_t st = mproc__queue_stream_in(q, NULL, s->prod_total - published, deadline);
        if (st)
            return st;
        MPROC_KILL_POINT("queue.recover_producer.after_zeros");
    }
    if (published > 0)
        mproc__publish(q->light, &s->produced, s->prod_base + 1); /* a store: idempotent */
    if (!delivered)
        undo_unfinished(s);
    s->prod_total = 0;
    return MPROC_OK;
}

/* The frame claimed by a consumer that died or gave it up is lost: count it
 * once, so that join() stops waiting for its task_done. The count shares a
 * word with the low bits of the claim it was last raised for, so a recovery
 * done again (its consumer died too) does not count twice; before the first
 * loss the tag means nothing (any value is some claim's low bits). A frame
 * dropped as aborted was uncounted by its producer's recovery already. */
static void count_lost(mproc_queue_t *q)
{
    shared_t *s = q->s;
    if (s->cons_start == mproc__load(&s->aborted_at))
        return;
    int64_t tag = s->cons_claim & LOST_TAG_MASK, w;
    do {
        w = mproc__load(&s->lost);
        if ((w & LOST_TAG_MASK) == tag && w >> 32)
            return;
    } while (!mproc__cas(&s->lost, w, (((w >> 32) + 1) << 32) | tag));
    if (s->joinable)
        for (int64_t n = mproc__exchange(&s->joiners, 0); n > 0; n--)
            (void)mproc__os_sem_post(DONE_SEM(q));
}

/* With the consumer lock held: finish what the last holder left, which died
 * or gave up: a mark it was passing, or the rest of the frame it claimed
 * (skipped: that message is lost). Every step can be done again. */
mproc_status_t mproc__queue_recover_consumer(mproc_queue_t *q, double deadline)
{
    shared_t *s = q->s;
    if (s->cons_pass_to) {
        if (s->head < s->cons_pass_to) /* give the blocks back again: idempotent */
            move_head(q, s->head, s->cons_pass_to, s->cons_pass_written);
        s->cons_pass_to = 0;
    }
    if (s->cons_total) {
        if (mproc__load(&s->claimed) < s->cons_claim) /* died before counting its claim */
            mproc__publish(q->light, &s->claimed, s->cons_claim);
        mproc_status_t st = mproc__queue_stream_out(q, NULL, s->cons_total - (s->head - s->cons_start), deadline);
        if (st)
            return st;
        MPROC_KILL_POINT("queue.recover_consumer.after_skip");
        count_lost(q);
        s->cons_total = 0;
    }
    return MPROC_OK;
}
