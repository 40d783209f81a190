/**
 * @file queue.h
 * @brief Queue, SimpleQueue and JoinableQueue: Python's multiprocessing queues in C.
 *
 * A queue carries whole messages (byte strings of any size memory allows,
 * empty ones included) between any number of producer and consumer processes,
 * in FIFO order per producer. It lives in anonymous shared memory: a put copies
 * the message into it once, a get copies it out once, and neither enters the
 * kernel unless it has to sleep. Pass a queue to a child with
 * mproc_args_add_queue(); it works the same under fork, spawn and on Windows.
 *
 * Beyond Python:
 * - a message is in shared memory when put returns, so a process may exit at
 *   once without losing it (there is no feeder thread to flush, and CPython's
 *   "join a child before its queue is drained" deadlock cannot happen);
 * - mproc_queue_qsize() works on every platform;
 * - a process killed while it puts, gets or waits does not block the others:
 *   the next one recovers the lock it held, finishes or drops the message it
 *   was writing, and skips the one it was reading (that message is lost; a
 *   JoinableQueue counts it, so join() returns MPROC_ELOST instead of waiting
 *   for its task_done);
 * - a message larger than the ring's room streams through it; a put or get
 *   that gives up such a message at its deadline leaves no part of it to be
 *   returned by any get. The receiver bounds what it takes: get_into with a
 *   buffer too small leaves the message in the queue (MPROC_ESHORTBUF).
 *
 * Memory: while consumers keep up, messages cycle through a ring of
 * ring_bytes (default ::MPROC_QUEUE_DEFAULT_RING_BYTES). When they fall behind,
 * messages run on into a sparse reservation of limit_bytes (default
 * ::MPROC_QUEUE_DEFAULT_LIMIT_BYTES) whose pages are allocated as they are
 * written and given back as they are read, beyond what recent laps of the ring
 * used (kept for the next laps, at most 256 MiB, so that steady traffic does
 * not allocate its pages again each lap); on Windows they are given back when
 * the queue's last view is freed. So an unbounded queue (maxsize 0), as in
 * Python, does not block a put for lack of room until limit_bytes of messages
 * are unread, and a bounded one blocks on its count of messages only (a put
 * of a message up to 2 MiB, or half of a smaller ring_bytes, may pause up to
 * 10 ms, within its timeout and never in put_nowait, for consumers a little
 * behind to free the ring's beginning, rather than run on into memory out of
 * the caches). Where
 * the OS refuses a reservation that large, smaller ones are tried, down to a
 * plain ring of ring_bytes; a message larger than a plain ring streams through it.
 */
#ifndef MPROC_QUEUE_H
#define MPROC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "export.h"
#include "status.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A queue of any of the three kinds (opaque). */
typedef struct mproc_queue mproc_queue_t;

/** Ring size of a queue created without one (16 MiB of shared memory). */
#define MPROC_QUEUE_DEFAULT_RING_BYTES ((size_t)16 * 1024 * 1024)

/** Most unread bytes a queue created without a limit holds before put waits:
 * 16 GiB of address space on 64-bit systems (memory is used only as written);
 * on 32-bit systems the ring alone. */
#if SIZE_MAX > 0xFFFFFFFFu
#define MPROC_QUEUE_DEFAULT_LIMIT_BYTES ((size_t)1 << 34)
#else
#define MPROC_QUEUE_DEFAULT_LIMIT_BYTES ((size_t)0)
#endif

/** Options of mproc_queue_create_opts(); start from MPROC_QUEUE_OPTIONS_INIT. */
typedef struct mproc_queue_options {
    size_t maxsize;    /**< most messages held at once; 0 (or above INT64_MAX) = unbounded */
    size_t ring_bytes; /**< shared ring size (rounded up to a power of two, at least 4 KiB); 0 = default */
    int joinable;      /**< non-zero: a JoinableQueue (task_done / join) */
    size_t limit_bytes; /**< most unread bytes before put waits (rounded up to a power of two, at most 1 TiB); 0 = default */
} mproc_queue_options_t;

/** Defaults: unbounded, default ring and limit, not joinable. */
#define MPROC_QUEUE_OPTIONS_INIT {0, 0, 0, 0}

/**
 * Create a queue (Python's Queue(maxsize)); free it with mproc_queue_free().
 * Errors: MPROC_EINVAL (out NULL), MPROC_ENOTINIT, MPROC_ENOMEM, MPROC_EMFILE, MPROC_EOS.
 */
MPROC_API mproc_status_t mproc_queue_create(mproc_queue_t **out, size_t maxsize);

/** Create a SimpleQueue (an unbounded queue; put, get, empty, close). Errors as mproc_queue_create(). */
MPROC_API mproc_status_t mproc_simple_queue_create(mproc_queue_t **out);

/** Create a JoinableQueue(maxsize). Errors as mproc_queue_create(). */
MPROC_API mproc_status_t mproc_joinable_queue_create(mproc_queue_t **out, size_t maxsize);

/**
 * Create a queue with explicit options (`opts` NULL: the defaults).
 * Errors as mproc_queue_create(), and MPROC_EINVAL for a ring above 1 GiB or
 * a limit above 1 TiB.
 */
MPROC_API mproc_status_t mproc_queue_create_opts(mproc_queue_t **out,
                                                 const mproc_queue_options_t *opts);

/**
 * Put one message of `len` bytes (`data` may be NULL when `len` is 0). Waits
 * up to `timeout` (timeout.h) for room: a bounded queue holding maxsize
 * messages, or limit_bytes of unread messages. Once a message larger than a
 * plain ring's free room has begun, the rest streams in as consumers make room;
 * if the deadline passes and consumers have made no room for a quarter of a
 * second, the message is given up (MPROC_EFULL): no get ever returns it.
 * Errors: MPROC_EFULL (no room in time; nothing was put), MPROC_EINVAL,
 * MPROC_ETOOBIG (len above 2^60 bytes, more than any memory holds; checked
 * before `data` is read), MPROC_ENOMEM (the shared memory for a message that
 * streams could not be committed: it is given up as at the deadline),
 * MPROC_ECLOSED (closed in this process), MPROC_EOS.
 */
MPROC_API mproc_status_t mproc_queue_put(mproc_queue_t *q, const void *data, size_t len,
                                         double timeout);

/** mproc_queue_put() without waiting (put_nowait): MPROC_EFULL at once; its other errors. */
MPROC_API mproc_status_t mproc_queue_put_nowait(mproc_queue_t *q, const void *data, size_t len);

/**
 * Take the next message into a new buffer `*data` (free it with mproc_free();
 * never NULL on success) of `*len` bytes, waiting up to `timeout`. A message
 * larger than a plain ring may still be arriving when the deadline passes: the
 * get goes on while its bytes come; if its producer died or gave it up, it is
 * dropped and the get goes on to the next message; if its producer, alive,
 * sends nothing for a quarter of a second past the deadline, the get gives it
 * up (MPROC_EEMPTY) and that message is lost, as with a killed consumer.
 * Errors: MPROC_EEMPTY (nothing in time), MPROC_EINVAL, MPROC_ECLOSED,
 * MPROC_ENOMEM (no buffer of the message's size; it stays in the queue: take
 * it with mproc_queue_get_into() into a buffer of your own), MPROC_EOS, MPROC_ECORRUPT
 * (the next frame's header in shared memory is one no producer writes:
 * another process wrote over the ring; nothing is read, the queue stays so).
 */
MPROC_API mproc_status_t mproc_queue_get(mproc_queue_t *q, double timeout, void **data,
                                         size_t *len);

/**
 * Take the next message into the caller's buffer of `cap` bytes; its length
 * goes to `*len`. `cap` is the receiver's bound: a message that does not fit
 * stays in the queue, unread and next in line, and the result is
 * MPROC_ESHORTBUF with the size needed in `*len`. Otherwise as mproc_queue_get().
 */
MPROC_API mproc_status_t mproc_queue_get_into(mproc_queue_t *q, double timeout, void *buf,
                                              size_t cap, size_t *len);

/** mproc_queue_get() without waiting (get_nowait): MPROC_EEMPTY at once; its other errors. */
MPROC_API mproc_status_t mproc_queue_get_nowait(mproc_queue_t *q, void **data, size_t *len);

/**
 * Store the number of messages in the queue in `*n` (approximate while other
 * processes put and get, as in Python; exact when they do not).
 * Errors: MPROC_EINVAL, MPROC_ECLOSED.
 */
MPROC_API mproc_status_t mproc_queue_qsize(const mproc_queue_t *q, size_t *n);

/** 1 if the queue holds no message (approximate, as qsize), else 0; 1 for NULL. */
MPROC_API int mproc_queue_empty(const mproc_queue_t *q);

/** 1 if a bounded queue holds maxsize messages (approximate, as qsize), else 0. */
MPROC_API int mproc_queue_full(const mproc_queue_t *q);

/**
 * Python's close(): this process will put and get no more; later calls on
 * this object return MPROC_ECLOSED. Other processes are not affected, and
 * what this process put stays in the queue. Errors: MPROC_EINVAL.
 */
MPROC_API mproc_status_t mproc_queue_close(mproc_queue_t *q);

/**
 * Python's join_thread(): wait until what this process put is in the queue.
 * It always is (no feeder thread), so this returns at once.
 * Errors: MPROC_EINVAL, MPROC_EBUSY (the queue was not closed first, as Python asserts).
 */
MPROC_API mproc_status_t mproc_queue_join_thread(mproc_queue_t *q);

/**
 * Python's cancel_join_thread(): kept for parity; nothing can be lost, so
 * nothing changes. MPROC_OK, or MPROC_EINVAL for NULL.
 */
MPROC_API mproc_status_t mproc_queue_cancel_join_thread(mproc_queue_t *q);

/**
 * JoinableQueue: mark one item that a get returned as processed.
 * Errors: MPROC_ETASKDONE (called more often than items were put; nothing
 * changes), MPROC_ENOTSUP (not a joinable queue), MPROC_EINVAL, MPROC_ECLOSED.
 */
MPROC_API mproc_status_t mproc_queue_task_done(mproc_queue_t *q);

/**
 * JoinableQueue: wait up to `timeout` until every item put has been marked
 * with mproc_queue_task_done() or lost: a message a consumer had taken when it
 * died (or gave up, see mproc_queue_get()) is never task_done; the queue
 * counts it when it recovers that consumer's state (the next get, or join
 * itself, looking every quarter of a second), and then stops waiting for it.
 * A consumer killed inside get after it took its message whole (while it
 * releases the queue's lock) had, for the queue, received it, as if get had
 * returned: its task_done never comes, and join waits for it (as in CPython).
 * Returns MPROC_OK, MPROC_ELOST (nothing is outstanding, but at least one
 * message of this queue has been lost since its creation), or MPROC_ETIMEDOUT.
 * Errors: MPROC_ENOTSUP (not joinable), MPROC_EINVAL, MPROC_ECLOSED.
 */
MPROC_API mproc_status_t mproc_queue_join(mproc_queue_t *q, double timeout);

/** Release this process's view of the queue (other processes keep theirs). NULL is ignored. */
MPROC_API void mproc_queue_free(mproc_queue_t *q);

/**
 * Append a queue to an argument list: the child gets its own view of the same
 * queue. The list holds a duplicate of the queue's handles (see "Ownership of
 * objects in argument lists" in args.h): `q` may be freed at once.
 * Errors: MPROC_EINVAL, MPROC_ECLOSED, MPROC_ENOMEM, MPROC_EMFILE.
 */
MPROC_API mproc_status_t mproc_args_add_queue(mproc_args_t *args, const mproc_queue_t *q);

/**
 * In a target: a new view of the queue at `index`, owned by the caller (free it
 * with mproc_queue_free()).
 * Errors: MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE, MPROC_ENOMEM, MPROC_EMFILE, MPROC_EOS.
 */
MPROC_API mproc_status_t mproc_args_get_queue(const mproc_args_t *args, size_t index,
                                              mproc_queue_t **out);

#ifdef __cplusplus
}
#endif

#endif
