/*
 * Moving the consumers' head: inline, since the usual get moves it; the
 * blocks it passes in a sparse ring are given back out of line (queue_memory.c).
 * Apart from queue_core.h so that the memory file it calls does not include it.
 */
#ifndef MPROC_QUEUE_HEAD_H
#define MPROC_QUEUE_HEAD_H

#include "queue_core.h"

/* Consumed from `head` (the head now) up to `to`: give back the blocks
 * passed, then publish the head (in that order: see the top of queue.c)
 * and wake a waiting producer.
 * `written` is where the producer's bytes end in this stretch (the same as
 * `to` except at a wrap, past which nothing of this lap was written). Inline:
 * the usual get passes no block end. */
static USUAL void move_head(mproc_queue_t *q, int64_t head, int64_t to, int64_t written)
{
    shared_t *s = q->s;
    if (s->sparse && (written != to || to >> BLOCK_SHIFT != head >> BLOCK_SHIFT))
        mproc__queue_give_back_passed(q, head, to, written);
    mproc__publish(q->light, &s->head, to);
    wake_producer(&s->prod_sleeping, to, ROOM_SEM(q));
}

#endif
