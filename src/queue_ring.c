/*
 * The ring's room (producers) and bytes (consumers): how much there is, a
 * wait for more (spin, announce, sleep; the other side wakes the sleeper),
 * cold memory made usable where the OS wants it, and copies in and out.
 */

#include "queue_core.h"

/* What a side waiting for ready(q, arg) announces in its `sleeping` word: 1
 * (wake me at any move), or for a producer waiting for `need` bytes of room
 * the least head that may give them, + 1 (wake_producer). Room is
 * room_limit(head) - (tail - head), and room_limit is the whole ring at most
 * and a block less while the head is in a lap's first block: so no head
 * below the one returned gives the room (a lower bound; the producer checks
 * again when woken). With maxsize, a get's claim also counts: any move. */
static int64_t sleep_mark(mproc_queue_t *q, const volatile int64_t *sleeping, int64_t need)
{
    shared_t *s = q->s;
    if (sleeping != &s->prod_sleeping || s->maxsize)
        return 1;
    int64_t head = s->tail + need - (q->mask + 1);
    if (s->sparse && head > 0 && (head & q->mask) < BLOCK)
        head += BLOCK - (head & q->mask);
    return head > 0 ? head + 1 : 1;
}

/* Wait until ready(q) holds or the deadline passes: spin a little (the other
 * side is usually running; about what a sleep and a wake-up cost, which also
 * covers the other side copying a large message), then announce the sleep,
 * check again, sleep. A producer's `arg` is the room it waits for. */
mproc_status_t mproc__queue_sleep_until(mproc_queue_t *q, int (*ready)(mproc_queue_t *, int64_t),
                                  int64_t arg, volatile int64_t *sleeping, mproc__os_sem_t *sem,
                                  double deadline)
{
    if (deadline != 0.0) {
        double spin_end = 0;
        for (int i = 0;; i++) {
            if (ready(q, arg))
                return MPROC_OK;
            mproc__cpu_relax();
            if ((i & 63) == 63) { /* the clock is read now and then, not every turn */
                double now = mproc__os_now();
                if (!spin_end)
                    spin_end = now + mproc__os_sem_spin_seconds();
                else if (now >= spin_end)
                    break;
            }
        }
    }
    double start = mproc__os_now();
    int64_t mark = sleep_mark(q, sleeping, arg);
    for (int nth = 0; !ready(q, arg); nth += nth < 8) { /* stops at 8, as the lock's */
        mproc__store(sleeping, mark);
        double slice = mproc__sleep_slice(&q->s->light_users, nth, mproc__os_now() - start);
        double until = mproc__slice_end(slice, deadline);
        if (ready(q, arg))
            break;
        mproc_status_t st = mproc__os_sem_wait(sem, until);
        if (st == MPROC_ETIMEDOUT && until != deadline)
            continue; /* a slice, not the deadline */
        if (st) {
            mproc__store(sleeping, 0);
            return st;
        }
    }
    mproc__store(sleeping, 0);
    return MPROC_OK;
}

/* Free bytes; the other side's position is re-read only when the last one seen
 * is not enough (it only grows, so an old value is a safe underestimate). */
int64_t mproc__queue_room_for(mproc_queue_t *q, int64_t need)
{
    shared_t *s = q->s;
    int64_t r = room_limit(q, s->prod_seen_head) - (s->tail - s->prod_seen_head);
    if (r < need) {
        s->prod_seen_head = mproc__load(&s->head);
        r = room_limit(q, s->prod_seen_head) - (s->tail - s->prod_seen_head);
        if (r < need && jumped(s))
            r = s->capacity - BLOCK - (s->tail - s->prod_lap);
    }
    return r;
}

/* Room to stream `need` more bytes of a frame already begun. */
int mproc__queue_has_room(mproc_queue_t *q, int64_t need)
{
    return mproc__queue_room_for(q, need) >= need;
}

int mproc__queue_has_bytes(mproc_queue_t *q, int64_t need)
{
    return published_for(q, need) >= need;
}

/* How far a producer maps pages ahead of its frame at a time (Linux maps
 * this much around a read fault). */
#define MAP_AHEAD ((int64_t)64 << 10)

/* A producer maps the pages of the ring's never given back part (below
 * keep, committed in every view) ahead of its frames, by reading them. On
 * Linux the first write to a shared page in a process is a fault of its own
 * (about 1.7 us on this project's machine: the file's times are updated), and
 * every producer took one per page of the 4 MiB warm part (4,000 in a 4x4
 * run, under the producer lock), and more where consumers fell behind; a
 * read fault maps 16 pages present around it (0.2-0.3 us a page), and writes
 * to them then take no fault. Below fast_limit (where the usual put serves)
 * the pages mapped run from 0 to fast_end, so the usual put, stopping below
 * fast_end, needs no check of its own; above it, up to mapped_page, from where
 * a frame last began there (a put passing a page without mapping it only
 * takes the fault it took before). Reads from `from` to the frame's `end`
 * and a little beyond; returns where they stop. */
static int64_t map_ahead(mproc_queue_t *q, int64_t from, int64_t end, int64_t limit)
{
    int64_t to = round_up(end + MAP_AHEAD, MAP_AHEAD);
    if (to > limit)
        to = limit;
    const volatile unsigned char *ring = q->ring;
    for (int64_t at = from & ~(PAGE_STEP - 1); at < to; at += PAGE_STEP)
        (void)ring[at];
    return to;
}

/* Map ahead for a producer's frame of `n` bytes at `pos` (a frame beyond
 * keep maps nothing: its pages are given back as consumers pass them). */
static void map_for(mproc_queue_t *q, int64_t pos, int64_t n)
{
    int64_t off = pos & q->mask, end = off + n + HEADER, fast = fast_limit(q);
    if (q->fast_end < fast && end > q->fast_end)
        q->fast_end = map_ahead(q, q->fast_end, end, fast);
    int64_t limit = q->s->sparse ? q->keep : q->s->capacity;
    int64_t mapped = (int64_t)q->mapped_page * PAGE_STEP;
    if (end > fast && end > mapped && mapped < limit && off < limit)
        q->mapped_page = (int)(map_ahead(q, off > mapped ? off : mapped, end, limit) / PAGE_STEP);
}

/* Make ring bytes [pos, pos + n) usable in this process: a producer maps
 * pages ahead (map_ahead); where the OS wants it (Windows), cold
 * pages of a sparse ring are committed per view, once per block and role as a
 * stream of copies moves on. */
mproc_status_t mproc__queue_touch(mproc_queue_t *q, int role, int64_t pos, int64_t n)
{
    if (role == PRODUCER)
        map_for(q, pos, n);
    if (!q->shm.commit_first || !q->s->sparse || n <= 0)
        return MPROC_OK;
    int64_t first = pos / BLOCK, last = (pos + n - 1) / BLOCK;
    if (first == last && first == q->touched[role])
        return MPROC_OK;
    for (int64_t b = first; b <= last; b++) {
        int64_t off = (b * BLOCK) & q->mask;
        if (off >= q->keep) {
            mproc_status_t st = mproc__os_shm_commit(&q->shm, DATA_OFFSET + (size_t)off, (size_t)BLOCK);
            if (st)
                return st;
        }
    }
    q->touched[role] = last;
    return MPROC_OK;
}

void mproc__queue_ring_copy_in(mproc_queue_t *q, int64_t pos, const void *src, size_t n)
{
    size_t off = (size_t)(pos & q->mask), first = (size_t)q->s->capacity - off;
    if (first > n)
        first = n;
    mproc__copy(q->ring + off, src, first);
    if (n > first)
        mproc__copy(q->ring, (const unsigned char *)src + first, n - first);
}

void mproc__queue_ring_copy_out(mproc_queue_t *q, int64_t pos, void *dst, size_t n)
{
    (void)mproc__queue_touch(q, CONSUMER, pos, (int64_t)n); /* the producer committed it already */
    size_t off = (size_t)(pos & q->mask), first = (size_t)q->s->capacity - off;
    if (first > n)
        first = n;
    mproc__copy(dst, q->ring + off, first);
    if (n > first)
        mproc__copy((unsigned char *)dst + first, q->ring, n - first);
}
