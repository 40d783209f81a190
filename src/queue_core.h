/*
 * The queue's private parts, shared by its files: the layout of the shared
 * header and of a process's view, the constants of the ring and its frames,
 * the short helpers every path inlines, and the calls between the files.
 * The design is described at the top of queue.c. Files call down only:
 * queue_put.c and queue_get.c (the two paths) and queue.c (join) call
 * queue_repair.c (a dead or departed holder's state), which calls
 * queue_stream.c (messages larger than the room), which calls
 * queue_memory.c (cold memory given back and retained) and queue_ring.c
 * (room, bytes, waiting, copies). queue_head.h moves the consumers' head.
 */
#ifndef MPROC_QUEUE_CORE_H
#define MPROC_QUEUE_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "atomic.h"
#include "copy.h"
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
 * however many repairers die. The tag need only tell the frame begun from
 * the last one raised before it (they differ unless 256 producers in a row
 * died between numbering a frame and raising the count), and the count keeps
 * the rest: 2^54 puts without task_done, decades at full speed (a 24-bit tag
 * left the count 2^38: hours). */
#define UNF_SHIFT 9
#define UNF_ONE ((int64_t)1 << UNF_SHIFT)
#define UNF_HELD ((int64_t)1 << 8)
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
    int64_t cons_retain;            /* consumed blocks below this ring offset stay committed */
    int64_t cons_lap_last;          /* ring offsets the last lap needed (retain_laps) */
    int64_t cons_big;               /* the largest frame of this lap */
    int64_t pad4[GROUP_WORDS - 9];
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
    volatile int64_t aborted_at;    /* where a frame whose producer died begins: dropped
                                       (-1: none). A position, not the frame's number,
                                       which its header holds in 32 bits only */
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
/* The leaf paths (put_leaf, take_leaf into a buffer) serve a short message in
 * a lock this thread keeps by a bias without calling anything, so that the
 * public function needs no stack frame and no saved registers (about 20
 * instructions of a 64-byte put's 140). What would need a call is left to an
 * out-of-line part, which the leaf's result names; the steps, their order and
 * their kill points are those of put_now and take_now. */
enum {
    LEAF_SKIPPED,   /* the leaf was not tried (the arguments are not its case) */
    LEAF_NOT_TAKEN, /* nothing done: this thread keeps no bias on the lock */
    LEAF_LOCKED,    /* the lock taken, nothing else done: not a leaf's case */
    LEAF_DONE,      /* served, the lock released */
    LEAF_WAKE_PEER, /* published; the other side sleeps: wake it, then end the call */
    LEAF_WAKE_LOCK  /* served and released; waiters for the lock need waking */
};
#define LEAF_MAX ((size_t)256) /* messages up to this length are copied inline */

/* Copy n <= LEAF_MAX bytes without a call: from 17 bytes on, the first and
 * the last 16 or 32 overlap (one move each for up to 64 bytes), 32-byte steps
 * before them above that; shorter copies likewise in 8, 4 and 1. */
static USUAL void copy_short(unsigned char *dst, const unsigned char *src, size_t n)
{
    if (n > 32) {
        for (size_t i = 32; i + 32 < n; i += 32)
            memcpy(dst + i, src + i, 32);
        memcpy(dst, src, 32);
        memcpy(dst + n - 32, src + n - 32, 32);
    } else if (n > 16) {
        memcpy(dst, src, 16);
        memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else if (n) {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

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
    /* Above the usual put's part: a producer mapped the pages up to this one
     * (map_for). An int in what was padding: one more word in this struct
     * moved queue_64KiB by 20% (docs/performance.md, queue_4x4). */
    int mapped_page;
    mproc__lock_view_t prod, cons;
    mproc__os_sem_t *sems[H_COUNT - H_SEMS]; /* in handle order */
    int closed;
};

/* A side's lock after its leaf did not serve (`leaf`): LEAF_LOCKED holds it
 * already, LEAF_NOT_TAKEN (no bias kept) tries the plain way, LEAF_SKIPPED
 * the whole try when `usual` (the arguments are the usual paths', so q is
 * not NULL). 1: held. */
static USUAL int lock_after_leaf(mproc_queue_t *q, int role, int leaf, int usual)
{
    if (leaf == LEAF_LOCKED)
        return 1;
    if (leaf != LEAF_NOT_TAKEN && !usual)
        return 0;
    mproc__lock_view_t *v = role == PRODUCER ? &q->prod : &q->cons;
    return leaf == LEAF_NOT_TAKEN ? mproc__lock_try_unbiased(v, mproc__lock_me())
                                  : mproc__lock_try(v);
}

/* A step through the ring's pages no larger than any page. */
#define PAGE_STEP ((int64_t)4096)

/* Below this ring offset the usual put may serve a frame: a sparse ring's
 * warm part, a plain ring's whole. */
static inline int64_t fast_limit(const mproc_queue_t *q)
{
    return q->s->sparse ? q->warm : q->s->capacity;
}

#define PROD_LOCK_SEM(q) ((q)->sems[H_PROD_LOCK - H_SEMS])
#define CONS_LOCK_SEM(q) ((q)->sems[H_CONS_LOCK - H_SEMS])
#define DATA_SEM(q) ((q)->sems[H_DATA - H_SEMS])
#define ROOM_SEM(q) ((q)->sems[H_ROOM - H_SEMS])
#define DONE_SEM(q) ((q)->sems[H_DONE - H_SEMS])

static inline int64_t round_up(int64_t n, int64_t unit)
{
    return (n + unit - 1) / unit * unit;
}

static inline int64_t frame_header(uint64_t len)
{
    return len > MPROC__FRAME_SHORT_MAX ? MPROC__FRAME_HEADER_LONG : HEADER;
}

/* A short message's frame (the usual paths'): its 8-byte header and its
 * bytes padded to 8, one add and one mask. */
static inline int64_t short_frame_size(uint64_t len)
{
    return HEADER + (int64_t)((len + 7) & ~(uint64_t)7);
}

static inline int64_t frame_size(uint64_t len)
{
    /* A long message's header is 8 bytes more. */
    int64_t size = short_frame_size(len);
    return len > MPROC__FRAME_SHORT_MAX ? size + HEADER : size;
}

/* Wake the other side if it announced that it sleeps. */
static USUAL void wake(volatile int64_t *sleeping, mproc__os_sem_t *sem)
{
    if (mproc__load(sleeping) && mproc__exchange(sleeping, 0))
        (void)mproc__os_sem_post(sem);
}

/* Wake a producer that announced it sleeps, once the head (now `head`)
 * reaches the least one that may give it its room: a sleeping producer's word
 * holds that head + 1 (mproc__queue_sleep_until), so a producer waiting for a
 * lot of room is not woken by every get for nothing. */
static USUAL int producer_waits_for(const volatile int64_t *sleeping, int64_t head)
{
    int64_t want = mproc__load(sleeping);
    return want && head >= want - 1;
}

static USUAL void wake_producer(volatile int64_t *sleeping, int64_t head, mproc__os_sem_t *sem)
{
    if (producer_waits_for(sleeping, head) && mproc__exchange(sleeping, 0))
        (void)mproc__os_sem_post(sem);
}

static inline int64_t count(const shared_t *s)
{
    return mproc__load(&s->produced) - mproc__load(&s->claimed);
}

/* Where producers jump to when consumers a lap behind stop them: a block
 * past the end of the previous lap's frames. */
static inline int64_t jump_offset(const shared_t *s)
{
    return round_up(s->prod_lap_before, BLOCK) + BLOCK;
}

/* Consumers are a lap behind, and producers jumped past that lap's frames:
 * the room runs to the ring's end (less the slack), not up to the head. */
static inline int jumped(const shared_t *s)
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

/* Bytes published past the consumers' `head` (their own position, which the
 * caller read): the tail last seen, read again only when it shows less than
 * `need`. */
static USUAL int64_t published_past(shared_t *s, int64_t head, int64_t need)
{
    int64_t a = s->cons_seen_tail - head;
    if (a < need) {
        s->cons_seen_tail = mproc__load(&s->tail);
        a = s->cons_seen_tail - head;
    }
    return a;
}

static USUAL int64_t published_for(mproc_queue_t *q, int64_t need)
{
    return published_past(q->s, q->s->head, need);
}

static inline mproc_status_t check_open(const mproc_queue_t *q)
{
    return !q ? MPROC_EINVAL : q->closed ? MPROC_ECLOSED : MPROC_OK;
}

/* Take a lock; a holder that died leaves its state to be repaired, which the
 * caller does whenever it finds it, as after a holder that gave up. */
static inline mproc_status_t lock(mproc__lock_view_t *l, double deadline)
{
    mproc_status_t st = mproc__lock_acquire(l, deadline);
    return st == MPROC_EOWNERDEAD ? MPROC_OK : st;
}

/* A wait's deadline, read from the clock only when a wait begins, so that a
 * put or get that need not wait does not read it. */
typedef struct deadline {
    double timeout, at;
    int known;
} deadline_t;

static inline double deadline_at(deadline_t *d)
{
    if (!d->known) {
        (void)mproc__deadline(d->timeout, &d->at); /* the timeout was checked */
        d->known = 1;
    }
    return d->at;
}

/* JoinableQueue: count the frame begun (prod_seq) as unfinished. */
static inline void raise_unfinished(shared_t *s)
{
    int64_t tag = UNF_HELD | (s->prod_seq & (UNF_HELD - 1)), w;
    do
        w = mproc__load(&s->unfinished);
    while (!mproc__cas(&s->unfinished, w, (w & ~UNF_TAG) + UNF_ONE + tag));
}

/* The frame begun (prod_seq) will not be delivered: undo its raise, if it
 * was made and is not undone yet. */
static inline void undo_unfinished(shared_t *s)
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

/* queue_ring.c: room and bytes, waiting for them, memory, copies */
mproc_status_t mproc__queue_sleep_until(mproc_queue_t *q, int (*ready)(mproc_queue_t *, int64_t),
                                        int64_t arg, volatile int64_t *sleeping,
                                        mproc__os_sem_t *sem, double deadline);
int64_t mproc__queue_room_for(mproc_queue_t *q, int64_t need);
/* Room to stream `need` more bytes of a frame already begun. */
int mproc__queue_has_room(mproc_queue_t *q, int64_t need);
int mproc__queue_has_bytes(mproc_queue_t *q, int64_t need);
mproc_status_t mproc__queue_touch(mproc_queue_t *q, int role, int64_t pos, int64_t n);
void mproc__queue_ring_copy_in(mproc_queue_t *q, int64_t pos, const void *src, size_t n);
void mproc__queue_ring_copy_out(mproc_queue_t *q, int64_t pos, void *dst, size_t n);

/* queue_memory.c: consumed cold memory given back, recent laps' kept */
void mproc__queue_give_back_passed(mproc_queue_t *q, int64_t head, int64_t to, int64_t written);
void mproc__queue_retain_laps(mproc_queue_t *q, int64_t extent);

/* queue_stream.c: bytes streamed through a ring too small for them */
mproc_status_t mproc__queue_stream_in(mproc_queue_t *q, const unsigned char *src, int64_t n,
                                      double deadline);
mproc_status_t mproc__queue_stream_out(mproc_queue_t *q, unsigned char *dst, int64_t n,
                                       double deadline);

/* queue_repair.c: what a holder that died or gave up left */
int mproc__queue_retract_frame(mproc_queue_t *q);
mproc_status_t mproc__queue_recover_producer(mproc_queue_t *q, double deadline);
mproc_status_t mproc__queue_recover_consumer(mproc_queue_t *q, double deadline);

static inline int64_t retain_cap(const mproc_queue_t *q)
{
    return q->s->capacity < RETAIN_CAP ? q->s->capacity : RETAIN_CAP;
}

/* Keep consumed blocks below ring offset `want` (rounded to blocks, within
 * RETAIN_CAP) committed from now on. */
static inline void retain_more(mproc_queue_t *q, int64_t want)
{
    want = round_up(want < retain_cap(q) ? want : retain_cap(q), BLOCK);
    if (want > q->s->cons_retain)
        q->s->cons_retain = want;
}

#endif
