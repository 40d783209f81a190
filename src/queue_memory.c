/*
 * A sparse ring's consumed cold memory: given back block by block as consumers
 * pass it, except what recent laps used (kept committed for the next).
 */

#include "queue_core.h"

/* Ring offsets below this stay committed when consumed: the hot part and
 * what recent laps used (retain_laps). */
static int64_t retained(const mproc_queue_t *q)
{
    return q->s->cons_retain > q->keep ? q->s->cons_retain : q->keep;
}

/* Give back the cold pages of ring positions [lo, hi) (whole blocks). */
static OUT_OF_LINE void give_back(mproc_queue_t *q, int64_t lo, int64_t hi)
{
    int64_t keep = retained(q);
    while (lo < hi) {
        int64_t off = lo & q->mask, n = q->s->capacity - off;
        if (n > hi - lo)
            n = hi - lo;
        if (off + n > keep) {
            int64_t from = off > keep ? off : keep;
            mproc__os_shm_discard(&q->shm, DATA_OFFSET + (size_t)from, (size_t)(off + n - from));
        }
        lo += n;
    }
}

/* In a sparse ring, the consumer moves its head from the block of `head` to
 * `to`: give back the blocks passed (see move_head). */
OUT_OF_LINE void mproc__queue_give_back_passed(mproc_queue_t *q, int64_t head, int64_t to,
                                         int64_t written)
{
    int64_t lo = head / BLOCK * BLOCK;
    int64_t hi = written == to ? to / BLOCK * BLOCK : round_up(written, BLOCK);
    if (hi > lo) {
        give_back(q, lo, hi);
        MPROC_KILL_POINT("queue.get.after_give_back");
    }
}

/* With the consumer lock held, just past a wrap: the lap that ended there used
 * ring offsets [0, extent). Consumed cold blocks are given back only beyond
 * what the last two laps needed (what they used, and RETAIN_MESSAGES of their
 * largest frame, at most RETAIN_CAP), so that steady traffic whose laps run
 * past the hot part reuses committed pages lap after lap instead of faulting
 * on every page again, while a burst's memory beyond that still goes back as
 * it is read. When laps become shorter, the blocks no longer needed are given
 * back here, once they are as many as the blocks still needed, if the producer
 * lock can be had now (no producer then writes) and the unread bytes lie below
 * them; else at a later wrap. */
void mproc__queue_retain_laps(mproc_queue_t *q, int64_t extent)
{
    shared_t *s = q->s;
    int64_t lap = RETAIN_MESSAGES * s->cons_big > extent ? RETAIN_MESSAGES * s->cons_big : extent;
    int64_t want = lap > s->cons_lap_last ? lap : s->cons_lap_last, had = retained(q);
    s->cons_lap_last = lap;
    s->cons_big = 0;
    want = round_up(want < retain_cap(q) ? want : retain_cap(q), BLOCK);
    want = want > q->keep ? want : q->keep;
    if (want >= had) {
        s->cons_retain = want;
        return;
    }
    /* Taking the producer lock may revoke a producer's bias (lock.h), which
     * costs it a fence now and its bias for a while: only for memory worth it. */
    if (had - want < want || mproc__lock_take_now(&q->prod) == MPROC_EBUSY)
        return;
    if ((s->head & q->mask) + (mproc__load(&s->tail) - s->head) <= want) {
        mproc__os_shm_discard(&q->shm, DATA_OFFSET + (size_t)want, (size_t)(had - want));
        MPROC_KILL_POINT("queue.get.after_shrink"); /* both locks held; nothing to repair */
        s->cons_retain = want;
    }
    mproc__lock_release(&q->prod);
}
