/*
 * Queues on a shared-memory ring.
 *
 * Producers take the producer lock for a whole put and consumers the consumer
 * lock for a whole get, so between the two lock holders the ring is single-
 * producer single-consumer: `tail` and `head` only grow, each written by one
 * side, and a message larger than the free room streams through. A side
 * sleeps on its semaphore only after announcing it (`*_sleeping`) and checking
 * once more; the other side posts only when it sees that announcement.
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
 * rest with zeros and marks the frame's sequence number aborted, so the
 * consumer drops it. The consumer's state (`cons_*`) says how much of the frame
 * it claimed was still unread; the next consumer skips it. A wrap or jump mark
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
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "core.h"
#include "fault.h"
#include "lock.h"
#include "queue_frame.h"

#define MAGIC 0x6d70726f71756575LL /* "mproqueu" */
#define DATA_OFFSET 4096 /* the ring starts on a page */
#define HEADER 8
#define MIN_RING ((size_t)4096)
#define MAX_RING ((size_t)1 << 30)
#define MAX_LIMIT ((size_t)1 << 40)
#define WRAP_MARK 0xFFFFFFFFu
#define JUMP_MARK 0xFFFFFFFEu /* the next frame is at this lap's block (u32 after it) */
#define LONG_MARK 0xFFFFFFFDu /* a message whose u64 length follows the header */
#define BLOCK_SHIFT 20
#define BLOCK ((int64_t)1 << BLOCK_SHIFT) /* unit in which consumed cold memory is given back */
/* The most cold memory kept committed for the laps to come (retain_laps),
 * and how many of the largest recent messages it holds at least. */
#define RETAIN_CAP ((int64_t)256 << 20)
#define RETAIN_MESSAGES 4
/* While consumers keep up, producers wrap at this offset, so that the bytes in
 * flight stay in the caches (and TLBs) of both sides: on this project's
 * machine a ring of 4 MiB moves 1 MiB messages 1.3-1.5x as fast as 16 MiB. */
#define WARM ((int64_t)4 << 20)
#define LOST_TAG_MASK ((int64_t)0xFFFFFFFF)
/* The JoinableQueue's unfinished count shares its word with which frame's put
 * raised it last and whether that raise still stands (HELD), so that a
 * repair undoes the raise of a frame that will not be delivered exactly once,
 * however many repairers die. */
#define UNF_SHIFT 25
#define UNF_ONE ((int64_t)1 << UNF_SHIFT)
#define UNF_HELD ((int64_t)1 << 24)
#define UNF_TAG (UNF_HELD | (UNF_HELD - 1))

/* Each group of fields below is written by one side only (the config and the
 * JoinableQueue counts hardly ever) and has 128 bytes of its own: a pair of
 * cache lines, since the CPU's adjacent-line prefetcher moves lines in pairs,
 * so a side writing one line would otherwise keep taking the other side's
 * neighbouring line away. A side's own state is apart from what it publishes,
 * so that the other side polling a position sees one change per message. */
#define GROUP_WORDS 16
typedef struct shared {
    int64_t magic, capacity, maxsize, joinable;
    int64_t hot;    /* the part of the ring used while consumers keep up */
    int64_t sparse; /* cold pages are committed on use and given back */
    volatile int64_t light_users;   /* some process publishes with release stores */
    int64_t pad0[GROUP_WORDS - 7];
    mproc__lock_t prod_lock;
    int64_t pad1[GROUP_WORDS - sizeof(mproc__lock_t) / 8];
    mproc__lock_t cons_lock;
    int64_t pad2[GROUP_WORDS - sizeof(mproc__lock_t) / 8];
    /* the producers' own (the lock holder's) */
    int64_t prod_seq;               /* sequence number of the last frame begun */
    int64_t prod_start, prod_total; /* the frame being written: where, how long (0: none) */
    int64_t prod_seen_head;         /* a recent head: room is at least what it shows */
    int64_t prod_lap;               /* where the lap begun by the last wrap starts */
    int64_t prod_lap_before;        /* ring offset where the lap before it ends */
    int64_t prod_base;              /* `produced` when the frame began */
    int64_t pad3[GROUP_WORDS - 7];
    /* the consumers' own */
    int64_t cons_start, cons_total; /* the frame claimed: where, how long (0: none) */
    int64_t cons_seen_tail;         /* a recent tail: at least that much is published */
    int64_t cons_pass_to, cons_pass_written; /* a mark being passed: where the head goes */
    int64_t cons_claim;             /* `claimed` once the frame claimed is counted */
    int64_t cons_seq;               /* the claimed frame's sequence number */
    int64_t cons_retain;            /* consumed blocks below this ring offset stay committed */
    int64_t cons_lap_last;          /* ring offsets the last lap needed (retain_laps) */
    int64_t cons_big;               /* the largest frame of this lap */
    int64_t pad4[GROUP_WORDS - 10];
    /* published by producers */
    volatile int64_t tail;          /* bytes published since creation */
    volatile int64_t produced;      /* complete frames published */
    int64_t pad5[GROUP_WORDS - 2];
    /* published by consumers */
    volatile int64_t head;          /* bytes consumed since creation */
    volatile int64_t claimed;       /* frames taken (count = produced - claimed) */
    int64_t pad6[GROUP_WORDS - 2];
    volatile int64_t prod_sleeping; /* the producer waits for room */
    int64_t pad7[GROUP_WORDS - 1];
    volatile int64_t cons_sleeping; /* the consumer waits for bytes */
    int64_t pad8[GROUP_WORDS - 1];
    volatile int64_t unfinished;    /* JoinableQueue: put and not yet task_done (UNF_*) */
    volatile int64_t joiners;       /* processes waiting in join() */
    volatile int64_t aborted_seq;   /* a frame whose producer died: dropped */
    volatile int64_t lost;          /* claimed frames lost with their consumer (high 32
                                       bits), and the low 32 bits of the last one's claim */
} shared_t;

_Static_assert(sizeof(mproc__lock_t) % 8 == 0 && sizeof(mproc__lock_t) <= 8 * GROUP_WORDS,
               "a lock fits its group");
_Static_assert(offsetof(shared_t, unfinished) == 9 * 8 * GROUP_WORDS, "groups of 128 bytes");
_Static_assert(sizeof(shared_t) <= DATA_OFFSET, "the header fits before the ring");

enum { H_SHM, H_PROD_LOCK, H_CONS_LOCK, H_DATA, H_ROOM, H_DONE, H_COUNT };
#define H_SEMS H_PROD_LOCK /* the handles from here on are semaphores */

enum { PRODUCER, CONSUMER };

/* The usual put and get (put_now, take_now) are short and inline; whatever
 * else a call may need is out of line, so that the usual path keeps its
 * registers and its instructions few (a put of 64 bytes took ~170). */
#if defined(_MSC_VER)
#define OUT_OF_LINE __declspec(noinline)
#define USUAL __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#define OUT_OF_LINE __attribute__((noinline))
#define USUAL inline __attribute__((always_inline))
#else
#define OUT_OF_LINE
#define USUAL inline
#endif
#define FAST_PUT 1 /* open, unbounded and not joinable: put_now may serve */
#define FAST_GET 2 /* open: take_now may serve */
/* Messages up to this length may take the usual paths (larger ones cross a
 * boundary of the warm part or the ring anyway). */
#define FAST_LEN ((size_t)1 << 30)

struct mproc_queue {
    mproc__os_shm_t shm;
    shared_t *s;
    unsigned char *ring;
    int64_t mask;
    int64_t usable;       /* capacity less the producer's slack */
    int64_t keep;         /* ring offsets below this are never given back */
    int64_t warm;         /* where producers wrap when consumers keep up */
    int64_t touched[2];   /* per role: the last cold block made usable here */
    int64_t fast_end;     /* a put whose frame ends below this ring offset decides nothing */
    int light;            /* this process publishes with release stores */
    int fast;             /* FAST_PUT, FAST_GET: which usual paths this view may take */
    int commits;          /* cold pages are committed per view before use (touch) */
    mproc__lock_view_t prod, cons;
    mproc__os_sem_t *sems[H_COUNT - H_SEMS]; /* in handle order */
    int closed;
};

#define PROD_LOCK_SEM(q) ((q)->sems[H_PROD_LOCK - H_SEMS])
#define CONS_LOCK_SEM(q) ((q)->sems[H_CONS_LOCK - H_SEMS])
#define DATA_SEM(q) ((q)->sems[H_DATA - H_SEMS])
#define ROOM_SEM(q) ((q)->sems[H_ROOM - H_SEMS])
#define DONE_SEM(q) ((q)->sems[H_DONE - H_SEMS])

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

static int64_t round_up(int64_t n, int64_t unit)
{
    return (n + unit - 1) / unit * unit;
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
    q->fast_end = s->sparse ? q->warm : s->capacity;
    q->commits = q->shm.commit_first && s->sparse;
    q->fast = FAST_GET | (s->maxsize == 0 && !s->joinable ? FAST_PUT : 0);
    q->touched[PRODUCER] = q->touched[CONSUMER] = -1;
    q->light = mproc__light_enroll(&s->light_users);
    mproc__lock_bind(&q->prod, &s->prod_lock, PROD_LOCK_SEM(q), &s->light_users, q->light);
    mproc__lock_bind(&q->cons, &s->cons_lock, CONS_LOCK_SEM(q), &s->light_users, q->light);
    return s->sparse && q->shm.commit_first
               ? mproc__os_shm_commit(&q->shm, 0, DATA_OFFSET + (size_t)q->keep)
               : MPROC_OK;
}

static int64_t frame_header(uint64_t len)
{
    return len > MPROC__FRAME_SHORT_MAX ? MPROC__FRAME_HEADER_LONG : HEADER;
}

static int64_t frame_size(uint64_t len)
{
    /* Each frame's header is 8 bytes, and a long one's 8 more: the short
     * frame's size is one add and one mask, the long one's one more add. */
    int64_t size = HEADER + (int64_t)((len + 7) & ~(uint64_t)7);
    return len > MPROC__FRAME_SHORT_MAX ? size + HEADER : size;
}

int64_t mproc__queue_frame_header_bytes(const void *first)
{
    uint32_t word;
    memcpy(&word, first, sizeof word);
    return word == LONG_MARK ? MPROC__FRAME_HEADER_LONG : HEADER;
}

mproc_status_t mproc__queue_frame_decode(const void *bytes, size_t len, int64_t at,
                                         int64_t capacity, mproc__frame_t *out)
{
    memset(out, 0, sizeof *out);
    if (!bytes || len < HEADER || capacity < (int64_t)MIN_RING || (capacity & (capacity - 1)) ||
        at < 0 || at >= capacity || (at & 7))
        return MPROC_EINVAL;
    uint32_t header[2];
    memcpy(header, bytes, HEADER);
    if (header[0] == WRAP_MARK) {
        out->kind = MPROC__FRAME_WRAP;
        out->advance = capacity - at;
        return MPROC_OK;
    }
    if (header[0] == JUMP_MARK) {
        int64_t to = (int64_t)header[1] * BLOCK; /* below 2^52: no overflow */
        if (to <= at || to >= capacity)
            return MPROC_ECORRUPT;
        out->kind = MPROC__FRAME_JUMP;
        out->advance = to - at;
        return MPROC_OK;
    }
    uint64_t n = header[0];
    if (header[0] == LONG_MARK) {
        if (len < MPROC__FRAME_HEADER_LONG)
            return MPROC_EINVAL;
        memcpy(&n, (const unsigned char *)bytes + HEADER, sizeof n);
        if (n <= MPROC__FRAME_SHORT_MAX || n > MPROC__FRAME_LEN_MAX)
            return MPROC_ECORRUPT; /* a long message's length is long, and not absurd */
    } else if (n > MPROC__FRAME_SHORT_MAX) {
        return MPROC_ECORRUPT; /* a mark no producer writes */
    }
    out->kind = MPROC__FRAME_MESSAGE;
    out->len = n;
    out->seq = header[1];
    out->header = frame_header(n);
    out->advance = frame_size(n);
    return MPROC_OK;
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
    s->maxsize = (int64_t)opts->maxsize;
    s->joinable = opts->joinable != 0;
    s->aborted_seq = -1;
    s->lost = LOST_TAG_MASK; /* no claim has this tag until 2^32 claims on */
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

/* Wake the other side if it announced that it sleeps. */
static USUAL void wake(volatile int64_t *sleeping, mproc__os_sem_t *sem)
{
    if (mproc__load(sleeping) && mproc__exchange(sleeping, 0))
        (void)mproc__os_sem_post(sem);
}

/* How long to spin before sleeping: about what a sleep and a wake-up cost,
 * and long enough to cover the other side copying a large message. */
#define SPIN_SECONDS 20e-6

/* How long a producer stopped by consumers a lap behind waits for them before
 * it jumps past them: a few large messages' copying. */
#define JUMP_GRACE_SECONDS 1e-3

/* How long a side streaming a message larger than the ring waits for the
 * other side past its deadline before it gives the message up; the other
 * side's death or departure is looked for as often. */
#define STALL_SECONDS 0.25

/* Wait until ready(q) holds or the deadline passes: spin a little (the other
 * side is usually running), then announce the sleep, check again, sleep. */
static mproc_status_t sleep_until(mproc_queue_t *q, int (*ready)(mproc_queue_t *, int64_t),
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
                    spin_end = now + SPIN_SECONDS;
                else if (now >= spin_end)
                    break;
            }
        }
    }
    double start = mproc__os_now();
    for (int nth = 0; !ready(q, arg); nth++) {
        mproc__store(sleeping, 1);
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

static int64_t count(const shared_t *s)
{
    return mproc__load(&s->produced) - mproc__load(&s->claimed);
}

/* Where producers jump to when consumers a lap behind stop them: a block
 * past the end of the previous lap's frames. */
static int64_t jump_offset(const shared_t *s)
{
    return round_up(s->prod_lap_before, BLOCK) + BLOCK;
}

/* Consumers are a lap behind, and producers jumped past that lap's frames:
 * the room runs to the ring's end (less the slack), not up to the head. */
static int jumped(const shared_t *s)
{
    return s->prod_seen_head < s->prod_lap && s->tail - s->prod_lap >= jump_offset(s);
}

/* How many bytes past `head` producers may have written: the ring less the
 * slack, which keeps them out of the blocks consumers give back as they pass
 * them. Blocks below `keep` are never given back, so with the head in
 * [BLOCK, keep] (the block behind it below keep too, as in the warm part)
 * producers may come up to the head itself. */
static USUAL int64_t room_limit(const mproc_queue_t *q, int64_t head)
{
    return (uint64_t)((head & q->mask) - BLOCK) <= (uint64_t)(q->keep - BLOCK) ? q->mask + 1
                                                                                : q->usable;
}

/* Free bytes; the other side's position is re-read only when the last one seen
 * is not enough (it only grows, so an old value is a safe underestimate). */
static int64_t room_for(mproc_queue_t *q, int64_t need)
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

static int64_t room(mproc_queue_t *q)
{
    return room_for(q, q->usable);
}

static USUAL int64_t published_for(mproc_queue_t *q, int64_t need)
{
    shared_t *s = q->s;
    int64_t a = s->cons_seen_tail - s->head;
    if (a < need) {
        s->cons_seen_tail = mproc__load(&s->tail);
        a = s->cons_seen_tail - s->head;
    }
    return a;
}

/* Room to begin a frame of `need` bytes, and below maxsize messages. */
static int can_begin(mproc_queue_t *q, int64_t need)
{
    return room_for(q, need) >= need && (q->s->maxsize == 0 || count(q->s) < q->s->maxsize);
}

/* Room to stream `need` more bytes of a frame already begun. */
static int has_room(mproc_queue_t *q, int64_t need)
{
    return room_for(q, need) >= need;
}

static int has_bytes(mproc_queue_t *q, int64_t need)
{
    return published_for(q, need) >= need;
}

/* Make ring bytes [pos, pos + n) usable in this process: where the OS wants
 * it (Windows), cold pages of a sparse ring are committed per view, once per
 * block and role as a stream of copies moves on. */
static mproc_status_t touch(mproc_queue_t *q, int role, int64_t pos, int64_t n)
{
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

static void ring_copy_in(mproc_queue_t *q, int64_t pos, const void *src, size_t n)
{
    size_t off = (size_t)(pos & q->mask), first = (size_t)q->s->capacity - off;
    if (first > n)
        first = n;
    memcpy(q->ring + off, src, first);
    if (n > first)
        memcpy(q->ring, (const unsigned char *)src + first, n - first);
}

static void ring_copy_out(mproc_queue_t *q, int64_t pos, void *dst, size_t n)
{
    (void)touch(q, CONSUMER, pos, (int64_t)n); /* the producer committed it already */
    size_t off = (size_t)(pos & q->mask), first = (size_t)q->s->capacity - off;
    if (first > n)
        first = n;
    memcpy(dst, q->ring + off, first);
    if (n > first)
        memcpy((unsigned char *)dst + first, q->ring, n - first);
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
static mproc_status_t stream_in(mproc_queue_t *q, const unsigned char *src, int64_t n,
                                double deadline)
{
    static const unsigned char zeros[512] = {0};
    while (n > 0) {
        int64_t r = room(q);
        if (r <= 0) { /* below 0 while a consumer reads through a frame it closed */
            if (sleep_until(q, has_room, 1, &q->s->prod_sleeping, ROOM_SEM(q),
                            stream_wait_end(deadline)) != MPROC_OK &&
                deadline >= 0 && mproc__os_now() >= deadline)
                return MPROC_EFULL;
            continue;
        }
        int64_t k = n < r ? n : r;
        if (!src && k > (int64_t)sizeof zeros)
            k = sizeof zeros;
        /* A sparse ring's memory runs out: given up as at the deadline. */
        mproc_status_t st = touch(q, PRODUCER, q->s->tail, k);
        if (st)
            return st;
        ring_copy_in(q, q->s->tail, src ? src : zeros, (size_t)k);
        mproc__publish(q->light, &q->s->tail, q->s->tail + k);
        MPROC_KILL_POINT("queue.put.mid_stream");
        wake(&q->s->cons_sleeping, DATA_SEM(q));
        if (src)
            src += k;
        n -= k;
    }
    return MPROC_OK;
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
    if (room_for(q, skip + total + HEADER) < skip + total + HEADER)
        return MPROC_OK; /* consumers are behind: run on into the cold part */
    mproc_status_t st = touch(q, PRODUCER, s->tail, HEADER);
    if (st)
        return st;
    static const uint32_t mark[2] = {WRAP_MARK, 0};
    ring_copy_in(q, s->tail, mark, HEADER);
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
        !crosses(off, off + total + HEADER, q->warm) || room_for(q, need) >= need)
        return;
    double until = mproc__os_now() + SPILL_GRACE_SECONDS;
    (void)sleep_until(q, has_room, need, &s->prod_sleeping, ROOM_SEM(q),
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
    if (room_for(q, need + HEADER) >= need + HEADER || s->prod_seen_head >= s->prod_lap)
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
    mproc_status_t st = touch(q, PRODUCER, s->tail, HEADER);
    if (st)
        return st;
    const uint32_t mark[2] = {JUMP_MARK, (uint32_t)(to / BLOCK)};
    ring_copy_in(q, s->tail, mark, HEADER);
    MPROC_KILL_POINT("queue.put.after_jump_mark");
    mproc__publish(q->light, &s->tail, s->prod_lap + to);
    MPROC_KILL_POINT("queue.put.after_jump");
    return MPROC_OK;
}

/* JoinableQueue: count the frame begun (prod_seq) as unfinished. */
static void raise_unfinished(shared_t *s)
{
    int64_t tag = UNF_HELD | (s->prod_seq & (UNF_HELD - 1)), w;
    do
        w = mproc__load(&s->unfinished);
    while (!mproc__cas(&s->unfinished, w, (w & ~UNF_TAG) + UNF_ONE + tag));
}

/* The frame begun (prod_seq) will not be delivered: undo its raise, if it
 * was made and is not undone yet. */
static void undo_unfinished(shared_t *s)
{
    int64_t tag = UNF_HELD | (s->prod_seq & (UNF_HELD - 1)), w;
    if (!s->joinable)
        return;
    do {
        w = mproc__load(&s->unfinished);
        if ((w & UNF_TAG) != tag)
            return;
    } while (!mproc__cas(&s->unfinished, w, w - UNF_ONE - UNF_HELD));
}

/* With the producer lock held, the frame begun at prod_start is unfinished:
 * if no consumer has begun to read it (the consumer lock can be had now, the
 * head is at the frame, and no consumer left work to repair), take it back:
 * the tail returns to where it began, as if it had never been put. 1: done. */
static int retract_frame(mproc_queue_t *q)
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
static mproc_status_t recover_producer(mproc_queue_t *q, double deadline)
{
    shared_t *s = q->s;
    int64_t published = mproc__load(&s->tail) - s->prod_start;
    int delivered = published == s->prod_total;
    if (published > 0 && !delivered && retract_frame(q))
        return MPROC_OK;
    if (published > 0 && !delivered) {
        mproc__store(&s->aborted_seq, s->prod_seq);
        mproc_status_t st = stream_in(q, NULL, s->prod_total - published, deadline);
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
        mproc__store(&s->aborted_seq, s->prod_seq);
        mproc__publish(q->light, &s->tail, s->prod_start + s->prod_total);
        MPROC_KILL_POINT("queue.get.after_close");
        mproc__publish(q->light, &s->produced, s->prod_base + 1);
        undo_unfinished(s);
        s->prod_total = 0;
    }
    mproc__lock_release(&q->prod);
    return closed;
}
/* Take a lock; a holder that died leaves its state to be repaired, which the
 * caller does whenever it finds it, as after a holder that gave up. */
static mproc_status_t lock(mproc__lock_view_t *l, double deadline)
{
    mproc_status_t st = mproc__lock_acquire(l, deadline);
    return st == MPROC_EOWNERDEAD ? MPROC_OK : st;
}

static mproc_status_t check_open(const mproc_queue_t *q)
{
    return !q ? MPROC_EINVAL : q->closed ? MPROC_ECLOSED : MPROC_OK;
}

/* A wait's deadline, read from the clock only when a wait begins, so that a
 * put or get that need not wait does not read it. */
typedef struct deadline {
    double timeout, at;
    int known;
} deadline_t;

static double deadline_at(deadline_t *d)
{
    if (!d->known) {
        (void)mproc__deadline(d->timeout, &d->at); /* the timeout was checked */
        d->known = 1;
    }
    return d->at;
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
           touch(q, PRODUCER, s->tail, total) == MPROC_OK;
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
    if (s->prod_total && (st = recover_producer(q, deadline)) != MPROC_OK) {
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
            (void)sleep_until(q, has_room, need + HEADER, &s->prod_sleeping, ROOM_SEM(q),
                              deadline > 0 && deadline < grace ? deadline : grace);
        st = jump_ahead(q, need);
    }
    if (!st)
        st = sleep_until(q, can_begin, need, &s->prod_sleeping, ROOM_SEM(q), deadline);
    if (!st && s->sparse)
        wait_to_wrap(q, total, deadline);
    if (!st && s->sparse && (st = wrap_early(q, total)) == MPROC_OK)
        st = touch(q, PRODUCER, s->tail, total); /* nothing is written if memory runs out */
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
    mproc_status_t st = stream_in(q, header, hb, deadline);
    if (!st)
        st = stream_in(q, data, (int64_t)len, deadline);
    if (!st)
        st = stream_in(q, NULL, total - hb - (int64_t)len, deadline);
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

/* Write a short message's frame in one piece at `pos` (room and memory are
 * there, it does not run over the ring's end) and publish it. */
static USUAL void write_whole(mproc_queue_t *q, int64_t pos, const void *data, size_t len,
                               int64_t total)
{
    shared_t *s = q->s;
    unsigned char *at = q->ring + (pos & q->mask);
    uint32_t header[2] = {(uint32_t)len, (uint32_t)s->prod_seq};
    memcpy(at, header, HEADER);
    if (len & 7) /* the padding: 8 zeros, of which the data covers the first */
        memset(at + HEADER + (len & ~(size_t)7), 0, 8);
    if (len)
        memcpy(at + HEADER, data, len);
    MPROC_KILL_POINT("queue.put.after_copy");
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
            (void)retract_frame(q); /* else the consumer reading it closes it */
            return st;
        }
    }
    end_frame(q);
    return MPROC_OK;
}

/* The usual put, with the producer lock held in a view that may take it
 * (FAST_PUT, len below FAST_LEN): no frame left to repair, and the room last
 * seen holds the frame and a mark after it below fast_end, so that nothing
 * needs deciding (what fits_now checks, for this case). 0: not the usual
 * case, nothing done. */
static USUAL int put_now(mproc_queue_t *q, const void *data, size_t len)
{
    shared_t *s = q->s;
    int64_t total = HEADER + (int64_t)((len + 7) & ~(size_t)7);
    int64_t pos = s->tail, end = (pos & q->mask) + total + HEADER;
    int64_t seen = s->prod_seen_head, need = total + HEADER;
    if (s->prod_total || end > q->fast_end ||
        (q->usable - (pos - seen) < need && room_limit(q, seen) - (pos - seen) < need))
        return 0;
    MPROC_KILL_POINT("queue.put.after_lock");
    begin_frame(s, pos, total);
    write_whole(q, pos, data, len, total);
    end_frame(q);
    return 1;
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

mproc_status_t mproc_queue_put(mproc_queue_t *q, const void *data, size_t len, double timeout)
{
    int locked = 0;
    if (q && (q->fast & FAST_PUT) && (data || !len) && len < FAST_LEN && timeout == timeout) {
        locked = mproc__lock_try(&q->prod);
        if (locked && put_now(q, data, len)) {
            mproc__lock_release(&q->prod);
            return MPROC_OK;
        }
    }
    return put_slow(q, data, len, timeout, locked);
}

mproc_status_t mproc_queue_put_nowait(mproc_queue_t *q, const void *data, size_t len)
{
    return mproc_queue_put(q, data, len, 0);
}

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
static OUT_OF_LINE void give_back_passed(mproc_queue_t *q, int64_t head, int64_t to,
                                         int64_t written)
{
    int64_t lo = head / BLOCK * BLOCK;
    int64_t hi = written == to ? to / BLOCK * BLOCK : round_up(written, BLOCK);
    if (hi > lo) {
        give_back(q, lo, hi);
        MPROC_KILL_POINT("queue.get.after_give_back");
    }
}

/* Consumed from `head` (the head now) up to `to`: give back the blocks
 * passed, then publish the head (in that order: see the top of this file)
 * and wake a waiting producer.
 * `written` is where the producer's bytes end in this stretch (the same as
 * `to` except at a wrap, past which nothing of this lap was written). Inline:
 * the usual get passes no block end. */
static USUAL void move_head(mproc_queue_t *q, int64_t head, int64_t to, int64_t written)
{
    shared_t *s = q->s;
    if (s->sparse && (written != to || to >> BLOCK_SHIFT != head >> BLOCK_SHIFT))
        give_back_passed(q, head, to, written);
    mproc__publish(q->light, &s->head, to);
    wake(&s->prod_sleeping, ROOM_SEM(q));
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

static int64_t retain_cap(const mproc_queue_t *q)
{
    return q->s->capacity < RETAIN_CAP ? q->s->capacity : RETAIN_CAP;
}

/* Keep consumed blocks below ring offset `want` (rounded to blocks, within
 * RETAIN_CAP) committed from now on. */
static void retain_more(mproc_queue_t *q, int64_t want)
{
    want = round_up(want < retain_cap(q) ? want : retain_cap(q), BLOCK);
    if (want > q->s->cons_retain)
        q->s->cons_retain = want;
}

/* With the consumer lock held, claiming a frame of `total` bytes. */
static void retain_frame(mproc_queue_t *q, int64_t total)
{
    if (total > q->s->cons_big) {
        q->s->cons_big = total;
        retain_more(q, RETAIN_MESSAGES * total);
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
static void retain_laps(mproc_queue_t *q, int64_t extent)
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

/* Read `n` bytes (dst NULL: discard) of the claimed frame from the head as
 * they are published. When none come, every STALL_SECONDS the frame is closed
 * if its producer is gone; MPROC_EEMPTY once the deadline has passed and the
 * producer, alive, has sent nothing for that long (the frame stays claimed). */
static mproc_status_t stream_out(mproc_queue_t *q, unsigned char *dst, int64_t n, double deadline)
{
    while (n > 0) {
        int64_t avail = published_for(q, n);
        if (avail == 0) {
            if (sleep_until(q, has_bytes, 1, &q->s->cons_sleeping, DATA_SEM(q),
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
            ring_copy_out(q, q->s->head, dst, (size_t)k);
            dst += k;
        }
        move_head(q, q->s->head, q->s->head + k, q->s->head + k);
        MPROC_KILL_POINT("queue.get.mid_stream");
        n -= k;
    }
    return MPROC_OK;
}

/* The frame claimed by a consumer that died or gave it up is lost: count it
 * once, so that join() stops waiting for its task_done. The count shares a
 * word with the low bits of the claim it was last raised for, so a recovery
 * done again (its consumer died too) does not count twice. A frame dropped
 * as aborted was uncounted by its producer's recovery already. */
static void count_lost(mproc_queue_t *q)
{
    shared_t *s = q->s;
    if ((s->cons_seq & LOST_TAG_MASK) == (mproc__load(&s->aborted_seq) & LOST_TAG_MASK))
        return;
    int64_t tag = s->cons_claim & LOST_TAG_MASK, w;
    do {
        w = mproc__load(&s->lost);
        if ((w & LOST_TAG_MASK) == tag)
            return;
    } while (!mproc__cas(&s->lost, w, (((w >> 32) + 1) << 32) | tag));
    if (s->joinable)
        for (int64_t n = mproc__exchange(&s->joiners, 0); n > 0; n--)
            (void)mproc__os_sem_post(DONE_SEM(q));
}

/* With the consumer lock held: finish what the last holder left, which died
 * or gave up: a mark it was passing, or the rest of the frame it claimed
 * (skipped: that message is lost). Every step can be done again. */
static mproc_status_t recover_consumer(mproc_queue_t *q, double deadline)
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
        mproc_status_t st = stream_out(q, NULL, s->cons_total - (s->head - s->cons_start), deadline);
        if (st)
            return st;
        MPROC_KILL_POINT("queue.recover_consumer.after_skip");
        count_lost(q);
        s->cons_total = 0;
    }
    return MPROC_OK;
}

/* Read a frame's first 8 header bytes at the head (never split: frames are
 * 8-aligned), and the rest of a long message's header once published.
 * MPROC_OK, or the wait's status. */
static mproc_status_t read_header(mproc_queue_t *q, unsigned char header[MPROC__FRAME_HEADER_LONG],
                                  int64_t *bytes, deadline_t *d)
{
    (void)touch(q, CONSUMER, q->s->head, HEADER); /* the producer committed it already */
    memcpy(header, q->ring + (q->s->head & q->mask), HEADER);
    *bytes = mproc__queue_frame_header_bytes(header);
    if (*bytes == HEADER)
        return MPROC_OK;
    mproc_status_t st = has_bytes(q, *bytes) ? MPROC_OK
                                              : sleep_until(q, has_bytes, *bytes, &q->s->cons_sleeping,
                                                            DATA_SEM(q), deadline_at(d));
    if (!st)
        ring_copy_out(q, q->s->head, header, (size_t)*bytes);
    return st;
}

/* With the consumer lock held: claim the frame at the head (sequence number
 * `seq`, `total` bytes). From here a recovering consumer would skip it. */
static USUAL void claim_frame(mproc_queue_t *q, int64_t head, uint32_t seq, int64_t total)
{
    shared_t *s = q->s;
    s->cons_start = head;
    s->cons_seq = seq;
    s->cons_claim = s->claimed + 1;
    s->cons_total = total;
    if (s->sparse)
        retain_frame(q, total);
    mproc__publish(q->light, &s->claimed, s->cons_claim);
    MPROC_KILL_POINT("queue.get.after_claim");
}

/* The claimed frame is all published: one copy of its `n` bytes after `hb`
 * bytes of header, one publication of the head past it. */
static inline void read_whole(mproc_queue_t *q, int64_t hb, unsigned char *dst, size_t n,
                              int64_t total)
{
    shared_t *s = q->s;
    ring_copy_out(q, s->head + hb, dst, n);
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
    claim_frame(q, s->head, f->seq, total);
    mproc_status_t st = MPROC_OK;
    if (published_for(q, total) >= total) {
        read_whole(q, hb, dst, n, total); /* the common case */
    } else {
        double deadline = deadline_at(d);
        move_head(q, s->head, s->head + hb, s->head + hb);
        st = stream_out(q, dst, (int64_t)n, deadline);
        if (!st)
            st = stream_out(q, NULL, total - hb - (int64_t)n, deadline);
    }
    MPROC_KILL_POINT("queue.get.after_head");
    if (!st) {
        s->cons_total = 0;
        if ((int64_t)f->seq == mproc__load(&s->aborted_seq))
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
    if ((s->cons_total | s->cons_pass_to) || published_for(q, HEADER) < HEADER)
        return 0;
    MPROC_KILL_POINT("queue.get.after_lock");
    int64_t off = head & q->mask;
    const unsigned char *at = q->ring + off;
    uint32_t word[2];
    if (q->commits)
        (void)touch(q, CONSUMER, head, HEADER); /* the producer committed it already */
    memcpy(word, at, HEADER);
    if (word[0] >= FAST_LEN) /* a mark, or a long message */
        return 0;
    size_t n = word[0];
    int64_t total = frame_size(n);
    /* Not round the ring's end (streamed), all there, fits, not dropped. */
    if (off + total > q->mask + 1 || published_for(q, total) < total || (!alloc && n > cap) ||
        (int64_t)word[1] == mproc__load(&s->aborted_seq) ||
        (q->commits && touch(q, CONSUMER, head, total) != MPROC_OK))
        return 0;
    unsigned char *dst = alloc ? malloc(n ? n : 1) : buf;
    if (!dst)
        return 0; /* the slow path fails the same way */
    claim_frame(q, head, word[1], total);
    memcpy(dst, at + HEADER, n);
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
    if ((s->cons_total | s->cons_pass_to) && (st = recover_consumer(q, deadline_at(&d))) != MPROC_OK) {
        mproc__lock_release(&q->cons);
        return st;
    }
    MPROC_KILL_POINT("queue.get.after_lock");
    for (;;) {
        if (!has_bytes(q, HEADER) &&
            (st = sleep_until(q, has_bytes, HEADER, &s->cons_sleeping, DATA_SEM(q),
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
                retain_laps(q, extent);
            continue;
        }
        st = read_frame(q, &f, buf, cap, alloc, len, &d);
        if (st != MPROC_EAGAIN)
            break;
    }
    mproc__lock_release(&q->cons);
    return st == MPROC_ETIMEDOUT ? MPROC_EEMPTY : st;
}

/* Take one frame: into `buf` (cap bytes) or, when `alloc`, a new buffer. */
static USUAL mproc_status_t take(mproc_queue_t *q, double timeout, void *buf, size_t cap,
                                 void **alloc, size_t *len)
{
    int locked = 0;
    if (q && (q->fast & FAST_GET) && len && (alloc || buf || !cap) && timeout == timeout) {
        locked = mproc__lock_try(&q->cons);
        if (locked && take_now(q, buf, cap, alloc, len)) {
            mproc__lock_release(&q->cons);
            return MPROC_OK;
        }
    }
    return take_slow(q, timeout, buf, cap, alloc, len, locked);
}

mproc_status_t mproc_queue_get(mproc_queue_t *q, double timeout, void **data, size_t *len)
{
    if (len)
        *len = 0;
    if (!data)
        return MPROC_EINVAL;
    *data = NULL;
    return take(q, timeout, NULL, 0, data, len);
}

mproc_status_t mproc_queue_get_into(mproc_queue_t *q, double timeout, void *buf, size_t cap,
                                    size_t *len)
{
    if (len)
        *len = 0;
    return take(q, timeout, buf, cap, NULL, len);
}

mproc_status_t mproc_queue_get_nowait(mproc_queue_t *q, void **data, size_t *len)
{
    return mproc_queue_get(q, 0, data, len);
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
        (void)recover_consumer(q, deadline);
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
