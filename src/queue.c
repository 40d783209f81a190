/*
 * Queues on a shared-memory ring.
 *
 * Producers take the producer lock for a whole put and consumers the consumer
 * lock for a whole get, so between the two lock holders the ring is single-
 * producer single-consumer: `tail` and `head` only grow, each written by one
 * side, and a message larger than the free room streams through. A side
 * sleeps on its semaphore only after announcing it (`*_sleeping`) and checking
 * once more; the other side posts only when it sees that announcement (a
 * producer announces the least head that can give it its room, and a get
 * posts only once its head reaches it: queue_ring.c, sleep_mark).
 *
 * Frames: u32 length, u32 sequence number, the bytes, zero padding to 8. A
 * message longer than MPROC__FRAME_SHORT_MAX has LONG_MARK as its length and
 * its u64 length after the sequence number. A frame whose length is WRAP_MARK
 * is no message: the rest of the lap is empty and the next frame starts at the
 * ring's beginning. One whose length is JUMP_MARK skips to the block of this
 * lap that its second word names. A frame never exceeds its ring: a message
 * larger than the room streams through it, whatever the ring's kind.
 *
 * The unbounded default: the ring is a large sparse reservation (capacity,
 * 16 GiB on 64-bit) of which only the first `hot` bytes are used while
 * consumers keep up: a producer whose frame would cross `hot` wraps early when
 * the beginning is free. When consumers fall behind, frames run on into the
 * cold rest, where pages are allocated as written and given back block by
 * block once consumed, beyond what recent laps used (retain_laps: reused lap
 * after lap rather than allocated again), so memory follows the unread bytes
 * plus at most RETAIN_CAP, and put waits only when `capacity` of them are
 * unread. A consumer gives back a block before it
 * publishes the head that passes it, and a producer stays a block short of the
 * head (`slack`), so no producer ever writes into a block being given back;
 * where no block is given back (the head in [BLOCK, keep]) it comes up to the
 * head itself (room_limit). At the warm part's end a producer of small frames
 * waits a little for consumers to free its beginning rather than run on into
 * memory out of the caches (wait_to_wrap).
 *
 * After a wrap, producers write behind consumers that may still be reading the
 * previous lap; if those stop, the room up to them runs out. Then a producer
 * jumps past where the previous lap's frames end (JUMP_MARK) and goes on
 * there, so an unbounded put still does not wait. Positions stay monotonic;
 * only the room while consumers are a lap behind is counted differently.
 *
 * Publication (tail, head, counts) is a release store where the OS lets a
 * sleeper run the heavy fence (lock.h), so the hot path has no full fence
 * besides each lock's compare-and-swap.
 *
 * Recovery: the locks report a dead owner. The producer's state (`prod_*`)
 * says how much of its frame it had published; the next producer fills the
 * rest with zeros and marks the frame aborted (by where it begins: frames'
 * numbers are 32 bits in their headers and wrap), so the consumer drops it.
 * The consumer's state (`cons_*`) says how much of the frame it claimed was
 * still unread; the next consumer skips it. A wrap or jump mark
 * is not claimed, but passing it gives back the block that holds it, after
 * which the mark reads as zeros (an empty message, again and again): so the
 * pass is recorded (`cons_pass_*`) before the block is given back and the
 * next consumer completes a recorded pass instead of reading the mark again.
 * (Publishing the head first would let producers write into the block while
 * it is given back; the slack only keeps them out of blocks behind the head.)
 *
 * The same repairs serve a side that gave up at its deadline, since only a
 * frame larger than a plain ring can leave a side waiting mid-message: the
 * producer then takes its frame back if no consumer began it (retract_frame),
 * and a consumer reading a frame whose rest stops coming closes it as aborted
 * once the producer lock can be had without waiting (close_stalled_frame).
 * Each side only ever tries the other's lock, never waits for it. Lost claimed
 * frames are counted (`lost`) so that join() stops waiting for them.
 *
 * This file creates, attaches and frees a queue and holds what needs no
 * path of its own (sizes, close, task_done, join); the paths and their
 * helpers are in queue_*.c, listed in queue_core.h.
 */

#include <stdlib.h>

#include "queue_core.h"
#include "queue_testing.h"

static void release(mproc_queue_t *q)
{
    if (q->prod.lock) {
        mproc__lock_unbias(&q->prod);
        mproc__lock_unbias(&q->cons);
    }
    for (int i = 0; i < H_COUNT - H_SEMS; i++)
        mproc__os_sem_close(q->sems[i]);
    if (q->shm.addr)
        mproc__os_shm_release(&q->shm);
    free(q);
}

static int64_t pow2_at_least(size_t n)
{
    int64_t p = (int64_t)MIN_RING;
    while (p < (int64_t)n)
        p *= 2;
    return p;
}

/* Make the header and the hot ring usable in this process's view. */
static mproc_status_t bind_ring(mproc_queue_t *q)
{
    shared_t *s = (shared_t *)q->shm.addr;
    q->s = s;
    q->ring = (unsigned char *)q->shm.addr + DATA_OFFSET;
    q->mask = s->capacity - 1;
    q->usable = s->capacity - (s->sparse ? BLOCK : 0);
    q->keep = s->sparse ? round_up(s->hot, BLOCK) : s->capacity;
    q->warm = s->hot < WARM ? s->hot : WARM;
    /* Below the warm part (committed in every view: keep >= hot) or in a
     * plain ring, a frame in one piece needs neither a wrap nor a commit. */
    q->fast_end = 0; /* raised as a producer maps the pages ahead (mproc__queue_touch) */
    q->mapped_page = (int)(fast_limit(q) / PAGE_STEP);
    q->commits = q->shm.commit_first && s->sparse;
    q->fast = FAST_GET | (s->maxsize == 0 && !s->joinable ? FAST_PUT : 0);
    q->touched[PRODUCER] = q->touched[CONSUMER] = -1;
    q->light = mproc__light_enroll(&s->light_users);
    mproc__lock_bind(&q->prod, &s->prod_lock, PROD_LOCK_SEM(q), &s->light_users, q->light);
    mproc__lock_bind(&q->cons, &s->cons_lock, CONS_LOCK_SEM(q), &s->light_users, q->light);
    q->prod.naps = q->cons.naps = 1;
    return s->sparse && q->shm.commit_first
               ? mproc__os_shm_commit(&q->shm, 0, DATA_OFFSET + (size_t)q->keep)
               : MPROC_OK;
}

/* Shared memory for the ring: a sparse reservation of `limit` bytes when the
 * OS grants one, else a plain ring of `hot` bytes (*limit becomes hot). A
 * sparse ring has a few blocks besides its hot part: room to jump, and
 * for the producer's slack; messages larger than its room stream through. */
static mproc_status_t map_ring(mproc_queue_t *q, int64_t hot, int64_t *limit)
{
    int64_t least = round_up(hot, BLOCK) + 4 * BLOCK;
    if (*limit >= least) {
        for (int64_t l = *limit; l >= least; l /= 2)
            if (mproc__os_shm_reserve(DATA_OFFSET + (size_t)l, &q->shm) == MPROC_OK) {
                *limit = l;
                return mproc__os_shm_commit(&q->shm, 0, DATA_OFFSET);
            }
    }
    *limit = hot;
    return mproc__os_shm_create(DATA_OFFSET + (size_t)hot, &q->shm);
}

mproc_status_t mproc_queue_create_opts(mproc_queue_t **out, const mproc_queue_options_t *opts)
{
    static const mproc_queue_options_t defaults = MPROC_QUEUE_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    if (out)
        *out = NULL;
    if (!out || opts->ring_bytes > MAX_RING || opts->limit_bytes > MAX_LIMIT)
        return MPROC_EINVAL;
    if (!mproc__g.initialized)
        return MPROC_ENOTINIT;
    int64_t hot = pow2_at_least(opts->ring_bytes ? opts->ring_bytes : MPROC_QUEUE_DEFAULT_RING_BYTES);
    int64_t limit = pow2_at_least(opts->limit_bytes ? opts->limit_bytes : MPROC_QUEUE_DEFAULT_LIMIT_BYTES);
    if (limit < hot)
        limit = hot;
    mproc_queue_t *q = calloc(1, sizeof *q);
    if (!q)
        return MPROC_ENOMEM;
    mproc_status_t st = map_ring(q, hot, &limit);
    for (int i = 0; i < H_COUNT - H_SEMS && !st; i++)
        st = mproc__os_sem_create(0, &q->sems[i]);
    if (st) {
        release(q);
        return st;
    }
    shared_t *s = (shared_t *)q->shm.addr;
    memset(s, 0, sizeof *s);
    s->capacity = limit;
    s->hot = hot < limit ? hot : limit;
    s->sparse = hot < limit;
    /* No count reaches a maxsize above INT64_MAX (which as a signed count
     * would be negative: full at once): unbounded. */
    s->maxsize = opts->maxsize > (size_t)INT64_MAX ? 0 : (int64_t)opts->maxsize;
    s->joinable = opts->joinable != 0;
    s->aborted_at = -1;
    s->lost = 0; /* no loss yet */
    s->magic = MAGIC;
    if ((st = bind_ring(q)) != MPROC_OK) {
        release(q);
        return st;
    }
    *out = q;
    return MPROC_OK;
}

mproc_status_t mproc_queue_create(mproc_queue_t **out, size_t maxsize)
{
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.maxsize = maxsize;
    return mproc_queue_create_opts(out, &o);
}

mproc_status_t mproc_simple_queue_create(mproc_queue_t **out)
{
    return mproc_queue_create_opts(out, NULL);
}

mproc_status_t mproc_joinable_queue_create(mproc_queue_t **out, size_t maxsize)
{
    mproc_queue_options_t o = MPROC_QUEUE_OPTIONS_INIT;
    o.maxsize = maxsize;
    o.joinable = 1;
    return mproc_queue_create_opts(out, &o);
}

mproc_status_t mproc_queue_qsize(const mproc_queue_t *q, size_t *n)
{
    if (n)
        *n = 0;
    mproc_status_t st = check_open(q);
    if (!st && !n)
        st = MPROC_EINVAL;
    if (!st) {
        int64_t c = count(q->s);
        *n = c > 0 ? (size_t)c : 0;
    }
    return st;
}

int mproc_queue_empty(const mproc_queue_t *q)
{
    size_t n = 0;
    return mproc_queue_qsize(q, &n) != MPROC_OK || n == 0;
}

int mproc_queue_full(const mproc_queue_t *q)
{
    size_t n = 0;
    return mproc_queue_qsize(q, &n) == MPROC_OK && q->s->maxsize &&
           (int64_t)n >= q->s->maxsize;
}

mproc_status_t mproc_queue_close(mproc_queue_t *q)
{
    if (!q)
        return MPROC_EINVAL;
    q->closed = 1;
    q->fast = 0;
    return MPROC_OK;
}

mproc_status_t mproc_queue_join_thread(mproc_queue_t *q)
{
    if (!q)
        return MPROC_EINVAL;
    return q->closed ? MPROC_OK : MPROC_EBUSY;
}

mproc_status_t mproc_queue_cancel_join_thread(mproc_queue_t *q)
{
    return q ? MPROC_OK : MPROC_EINVAL;
}

static int64_t lost_count(const shared_t *s)
{
    return mproc__load(&s->lost) >> 32;
}

/* JoinableQueue: messages put and neither task_done nor lost. */
static int64_t outstanding(const shared_t *s)
{
    return mproc__load(&s->unfinished) / UNF_ONE - lost_count(s);
}

mproc_status_t mproc_queue_task_done(mproc_queue_t *q)
{
    mproc_status_t st = check_open(q);
    if (st)
        return st;
    if (!q->s->joinable)
        return MPROC_ENOTSUP;
    int64_t u, left;
    do {
        u = mproc__load(&q->s->unfinished);
        left = u / UNF_ONE - lost_count(q->s);
        if (left <= 0)
            return MPROC_ETASKDONE;
    } while (!mproc__cas(&q->s->unfinished, u, u - UNF_ONE));
    if (left == 1)
        for (int64_t n = mproc__exchange(&q->s->joiners, 0); n > 0; n--)
            (void)mproc__os_sem_post(DONE_SEM(q));
    return MPROC_OK;
}

/* A consumer that died holding a claimed message, while nobody else gets:
 * the joiner repairs the consumers' state itself (counting the message lost),
 * so that join() does not wait for a task_done that cannot come. */
static void repair_dead_consumer(mproc_queue_t *q, double deadline)
{
    if (mproc__lock_take_now(&q->cons) == MPROC_EBUSY)
        return;
    if (q->s->cons_total || q->s->cons_pass_to)
        (void)mproc__queue_recover_consumer(q, deadline);
    mproc__lock_release(&q->cons);
}

/* How often a joiner looks for a consumer that died with a claimed message. */
#define JOIN_CHECK_SECONDS 0.25

mproc_status_t mproc_queue_join(mproc_queue_t *q, double timeout)
{
    double deadline;
    mproc_status_t st = check_open(q);
    if (st)
        return st;
    if (!q->s->joinable)
        return MPROC_ENOTSUP;
    if (mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    /* Wake-ups may be stale (a joiner that timed out was counted): re-check. */
    while (outstanding(q->s) > 0) {
        mproc__add(&q->s->joiners, 1);
        if (outstanding(q->s) <= 0)
            break;
        double until = mproc__os_now() + JOIN_CHECK_SECONDS;
        st = mproc__os_sem_wait(DONE_SEM(q), deadline >= 0 && deadline < until ? deadline : until);
        if (st == MPROC_ETIMEDOUT && (deadline < 0 || mproc__os_now() < deadline)) {
            repair_dead_consumer(q, deadline);
            continue;
        }
        if (st)
            return st;
    }
    return lost_count(q->s) ? MPROC_ELOST : MPROC_OK;
}

void mproc_queue_free(mproc_queue_t *q)
{
    if (q)
        release(q);
}

mproc_status_t mproc_args_add_queue(mproc_args_t *args, const mproc_queue_t *q)
{
    mproc_status_t st = check_open(q);
    if (st || !args)
        return st ? st : MPROC_EINVAL;
    mproc__obj_t obj = {MPROC__OBJ_QUEUE, 0, H_COUNT, {0}};
    obj.handles[H_SHM] = q->shm.handle;
    for (int i = H_SEMS; i < H_COUNT; i++)
        obj.handles[i] = mproc__os_sem_handle(q->sems[i - H_SEMS]);
    return mproc__args_add_object(args, &obj);
}

/* Map a received queue's shared memory into q; takes *shm (set to
 * MPROC__OS_NO_HANDLE) on success. The ring's size is in its own header: map
 * that first, then all of it. */
static mproc_status_t attach_shared(mproc__os_handle_t *shm, mproc_queue_t *q)
{
    mproc__os_shm_t probe;
    mproc__os_handle_t again = MPROC__OS_NO_HANDLE;
    mproc_status_t st = mproc__os_dup(*shm, &again);
    if (!st && (st = mproc__os_shm_attach(again, DATA_OFFSET, &probe)) != MPROC_OK)
        mproc__os_close(again);
    if (st)
        return st;
    st = mproc__os_shm_commit(&probe, 0, DATA_OFFSET);
    int64_t cap = st ? 0 : ((shared_t *)probe.addr)->capacity;
    int64_t magic = st ? 0 : ((shared_t *)probe.addr)->magic;
    mproc__os_shm_release(&probe);
    if (!st && (magic != MAGIC || cap < (int64_t)MIN_RING))
        st = MPROC_ETYPE;
    if (!st && (st = mproc__os_shm_attach(*shm, DATA_OFFSET + (size_t)cap, &q->shm)) == MPROC_OK)
        *shm = MPROC__OS_NO_HANDLE;
    return st;
}

mproc_status_t mproc_args_get_queue(const mproc_args_t *args, size_t index, mproc_queue_t **out)
{
    mproc__obj_t obj;
    memset(&obj, 0, sizeof obj);
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc_status_t st = mproc__args_get_object(args, index, MPROC__OBJ_QUEUE, &obj);
    if (st)
        return st;
    if (obj.nhandles != H_COUNT)
        return MPROC_ETYPE;
    /* Own duplicates: every view closes its own handles. */
    mproc__os_handle_t h[H_COUNT];
    for (int i = 0; i < H_COUNT; i++)
        h[i] = MPROC__OS_NO_HANDLE;
    for (int i = 0; i < H_COUNT && !st; i++)
        st = mproc__os_dup(obj.handles[i], &h[i]);
    mproc_queue_t *q = st ? NULL : calloc(1, sizeof *q);
    if (!st && !q)
        st = MPROC_ENOMEM;
    /* Each open takes its handle; on failure the ones not yet taken are closed below. */
    for (int i = H_SEMS; i < H_COUNT && !st; i++)
        if ((st = mproc__os_sem_open(h[i], &q->sems[i - H_SEMS])) == MPROC_OK)
            h[i] = MPROC__OS_NO_HANDLE;
    if (!st)
        st = attach_shared(&h[H_SHM], q);
    for (int i = 0; i < H_COUNT; i++)
        mproc__os_close(h[i]);
    if (st) {
        if (q)
            release(q);
        return st;
    }
    if ((st = bind_ring(q)) != MPROC_OK) {
        release(q);
        return st;
    }
    *out = q;
    return MPROC_OK;
}

#ifdef MPROC_FAULT_INJECTION
void mproc__queue_test_number_frames_from(mproc_queue_t *q, int64_t n)
{
    q->s->prod_seq = n;
}

void mproc__queue_test_add_unfinished(mproc_queue_t *q, int64_t n)
{
    q->s->unfinished += n * UNF_ONE;
}

void mproc__queue_test_number_claims_from(mproc_queue_t *q, int64_t n)
{
    q->s->produced = q->s->claimed = n;
}
#endif
