/**
 * @file connection.h
 * @brief Pipe and Connection: Python's multiprocessing.Pipe() in C.
 *
 * A pipe is a pair of connection ends that carry whole messages (byte strings
 * of any length memory allows, above 4 GiB too, including empty ones) in
 * order. The only limit is the receiver's: mproc_connection_recv_bytes_max()
 * refuses a message longer than its bound before allocating anything. An end
 * can be passed to a child in its argument list (mproc_args_add_connection())
 * under every start method.
 *
 * As in Python, an end is used by one thread at a time, and a message sent
 * while the peer does not read blocks once the OS buffer is full. When every
 * copy of the peer end is closed (also when the peer process dies), receiving
 * returns ::MPROC_EEOF once the messages already sent are read, and sending
 * returns ::MPROC_EEOF.
 *
 * A child holds only the ends passed in its argument list, under every start
 * method. Unlike Python's fork, a fork child's copies of the parent's other
 * ends are closed (their objects report ::MPROC_ECLOSED there), so closing an
 * end in the parent really closes it and the peer sees EOF.
 */
#ifndef MPROC_CONNECTION_H
#define MPROC_CONNECTION_H

#include <stddef.h>

#include "args.h"
#include "export.h"
#include "process.h"
#include "status.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A connection end (opaque). */
typedef struct mproc_connection mproc_connection_t;

/**
 * Create a pipe (Python's Pipe(duplex)). With `duplex` non-zero both ends
 * send and receive; otherwise `*end0` only receives and `*end1` only sends.
 * Free each end with mproc_connection_free().
 * Errors: MPROC_EINVAL (NULL pointer), MPROC_ENOTINIT, MPROC_ENOMEM, MPROC_EMFILE, MPROC_EOS.
 */
MPROC_API mproc_status_t mproc_pipe(int duplex, mproc_connection_t **end0,
                                    mproc_connection_t **end1);

/**
 * Send `len` bytes at `data` as one message of any size; `data` may be NULL
 * when `len` is 0. Blocks until the whole message is handed to the OS (no
 * timeout, as Python's send_bytes): a message larger than the OS buffer goes
 * out as the peer reads it.
 * Errors: MPROC_EINVAL (c NULL, data NULL with len > 0), MPROC_ETOOBIG (len
 * above PTRDIFF_MAX, longer than any object, so no receiver could take it;
 * checked before `data` is read), MPROC_EMODE (read-only end), MPROC_ECLOSED,
 * MPROC_EEOF (the peer is gone), MPROC_EOS.
 */
MPROC_API mproc_status_t mproc_connection_send_bytes(mproc_connection_t *c, const void *data,
                                                     size_t len);

/**
 * Receive the next message into a new buffer: `*data` (free it with
 * mproc_free(); never NULL on success, even for an empty message) and `*len`
 * (NULL and 0 on failure).
 * Waits up to `timeout` (timeout.h) for the whole message: the call returns by
 * then even when the peer stalls in the middle of a message. A message that
 * has only partly arrived when the timeout passes stays buffered in the
 * connection and the next receive continues it: nothing is lost, and the
 * stream stays in step (the buffer grows to the message's size meanwhile).
 * There is no bound: the peer decides how much is allocated (use
 * mproc_connection_recv_bytes_max() for a peer not trusted with that).
 * Errors: MPROC_EINVAL, MPROC_ETIMEDOUT (no whole message by the deadline;
 * nothing consumed),
 * MPROC_EEOF (the peer closed its end and every message was read), MPROC_EMODE
 * (write-only end), MPROC_ECLOSED, MPROC_EOS,
 * MPROC_ENOMEM (no memory for the message: nothing is consumed and the
 * connection is unchanged, the message stays next, for a retry or for
 * mproc_connection_recv_bytes_max() to refuse; only when a timeout has already
 * passed in the middle of the message and its part cannot be kept does the
 * end stop receiving, as after MPROC_ETOOBIG below),
 * MPROC_ETOOBIG (a length above PTRDIFF_MAX, which no object can have, so
 * no sender wrote it: a forged frame; on a 32-bit build, any length above
 * 2 GiB, also one that does not fit a size_t; refused as
 * mproc_connection_recv_bytes_max() refuses one).
 */
MPROC_API mproc_status_t mproc_connection_recv_bytes(mproc_connection_t *c, double timeout,
                                                     void **data, size_t *len);

/**
 * Python's recv_bytes(maxlength): as mproc_connection_recv_bytes(), but a
 * message longer than `maxlength` bytes is refused before anything is
 * allocated for it, so a peer cannot make this process allocate more (also
 * when the frame's length is forged).
 * As in Python, the end is then unusable for receiving: the message is not
 * consumed and no frame boundary is known after it, so a duplex end keeps
 * only its sending side (later receives return MPROC_EMODE) and a
 * receive-only end is closed (later calls return MPROC_ECLOSED).
 * Errors as mproc_connection_recv_bytes(), and MPROC_ETOOBIG (the message is
 * longer than `maxlength`; Python's OSError "bad message length").
 */
MPROC_API mproc_status_t mproc_connection_recv_bytes_max(mproc_connection_t *c, double timeout,
                                                         size_t maxlength, void **data,
                                                         size_t *len);

/**
 * Receive the next message into the caller's buffer (`cap` bytes) and store
 * its length in `*len`. When it does not fit, returns MPROC_ESHORTBUF with the
 * size needed in `*len` and consumes nothing: call again with a larger buffer.
 * Waits and fails as mproc_connection_recv_bytes(); the message goes to `buf`,
 * so MPROC_ENOMEM comes only from a timeout passing in the middle of it (its
 * part is then kept in the connection, which needs the memory).
 */
MPROC_API mproc_status_t mproc_connection_recv_bytes_into(mproc_connection_t *c, double timeout,
                                                          void *buf, size_t cap, size_t *len);

/**
 * Wait up to `timeout` until a message (or EOF) can be received. Returns
 * MPROC_OK when a receive would not block, MPROC_ETIMEDOUT otherwise.
 * Errors: MPROC_EINVAL, MPROC_EMODE, MPROC_ECLOSED, MPROC_EOS.
 */
MPROC_API mproc_status_t mproc_connection_poll(mproc_connection_t *c, double timeout);

/**
 * Store an object in `*out` that mproc_wait() reports ready when a message or
 * EOF can be received. Owned by the connection; valid until it is closed.
 * Bytes already read ahead into the connection's buffer (in this process) make
 * mproc_wait() report it ready too, as mproc_connection_poll() does.
 * Errors: MPROC_EINVAL, MPROC_EMODE (write-only end), MPROC_ECLOSED.
 */
MPROC_API mproc_status_t mproc_connection_waitable(const mproc_connection_t *c,
                                                   mproc_sentinel_t *out);

/** 1 if the end can receive, 0 otherwise (also for NULL). */
MPROC_API int mproc_connection_readable(const mproc_connection_t *c);

/** 1 if the end can send, 0 otherwise (also for NULL). */
MPROC_API int mproc_connection_writable(const mproc_connection_t *c);

/**
 * Close the end (Python's close()); later calls return MPROC_ECLOSED. Closing
 * twice is harmless. Errors: MPROC_EINVAL.
 */
MPROC_API mproc_status_t mproc_connection_close(mproc_connection_t *c);

/** Close and free an end. NULL is ignored. */
MPROC_API void mproc_connection_free(mproc_connection_t *c);

/**
 * Append a connection end to an argument list, so a child receives its own
 * copy of it. The list holds a duplicate of the end's handles (see "Ownership
 * of objects in argument lists" in args.h): `c` may be freed at once.
 * Errors: MPROC_EINVAL, MPROC_ECLOSED, MPROC_ENOMEM, MPROC_EMFILE.
 */
MPROC_API mproc_status_t mproc_args_add_connection(mproc_args_t *args, const mproc_connection_t *c);

/**
 * In a target: a new connection object for the end at `index`, owned by the
 * caller (free it with mproc_connection_free()); each call gives an
 * independent end.
 * Errors: MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE, MPROC_ENOMEM, MPROC_EMFILE.
 */
MPROC_API mproc_status_t mproc_args_get_connection(const mproc_args_t *args, size_t index,
                                                   mproc_connection_t **out);

/** Free memory that mproc allocated for the caller (received messages). NULL is ignored. */
MPROC_API void mproc_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
