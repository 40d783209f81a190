/**
 * @file pool_transport.h
 * @brief Where a pool's workers run: the hook for backend libraries.
 *
 * Applications do not use this header: they pick a transport by setting
 * mproc_pool_options_t::transport to what a backend returns (libmproc-mpi's
 * mproc_mpi_transport(), see mproc/mpi.h). NULL there means the default,
 * workers as local processes.
 *
 * A transport moves the pool's messages, unchanged, between the pool's
 * handler and workers that run mproc_pool_serve() somewhere else (the first
 * message each way is the setup, and the worker's initializer result). The pool
 * keeps one chunk in flight per worker and does everything else (chunking,
 * results, callbacks, close and terminate) as for local workers. A transport
 * reports the deaths it can see; the dead worker's tasks then fail with
 * MPROC_EWORKERLOST (code -1) and the pool goes on with the others (a remote
 * worker is not replaced). A backend documents which deaths it cannot see.
 */
#ifndef MPROC_POOL_TRANSPORT_H
#define MPROC_POOL_TRANSPORT_H

#include <stddef.h>

#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * One piece of a message: `len` bytes at `data`. A message handed to
 * mproc_pool_transport_t::send is its parts one after another; the worker
 * receives it as one message (mproc_worker_io_t::recv), the bytes joined.
 */
typedef struct mproc_pool_part {
    /** The bytes (may be NULL when len is 0). */
    const void *data;
    /** How many; any size memory allows (no cap). */
    size_t len;
} mproc_pool_part_t;

/** A transport: functions a backend provides (a static, constant object). */
typedef struct mproc_pool_transport {
    /** Its name, for messages. */
    const char *name;
    /**
     * Start the workers of one pool. `*nworkers` is the count asked for (0:
     * the backend's default) and receives the count started. Every worker
     * gets `setup` (`len` bytes) as its first message. `*session` receives
     * the backend's state for the other calls.
     */
    mproc_status_t (*open)(int *nworkers, const void *setup, size_t len, void **session);
    /**
     * Send one message, the `nparts` parts joined, to worker `worker`
     * (0 .. nworkers-1); may block until it is taken. The parts are the
     * caller's (large task inputs are parts of their own, in the
     * application's memory, so that they need not be copied into a message
     * first): read them only during this call, never keep them.
     * MPROC_ENOMEM or MPROC_ETOOBIG: nothing was sent; the message's tasks
     * fail with that status and the worker takes the next one. Any other
     * failure means the worker is lost: recv() is to report it.
     */
    mproc_status_t (*send)(void *session, int worker, const mproc_pool_part_t *parts,
                           size_t nparts);
    /**
     * Wait up to `timeout` seconds for the next message from any worker:
     * its sender in `*worker`, its bytes in `*data`, `*len` (owned by the
     * session, valid until the next call). MPROC_ETIMEDOUT when none came
     * or wake() was called. MPROC_EWORKERLOST when worker `*worker` died
     * (once per worker), `*data` and `*len` then tell how, in words.
     */
    mproc_status_t (*recv)(void *session, double timeout, int *worker, const void **data,
                           size_t *len);
    /** Make a recv() running in another thread return now (any thread may call it). */
    void (*wake)(void *session);
    /** Tell every worker the pool has ended, then free the session. */
    void (*close)(void *session);
} mproc_pool_transport_t;

/** How a worker reached through a transport reads and writes its messages. */
typedef struct mproc_worker_io {
    /** Passed to both functions. */
    void *self;
    /**
     * The next message from the pool (owned by `self`, valid until the next
     * call), or MPROC_EEOF once the pool has ended.
     */
    mproc_status_t (*recv)(void *self, const void **data, size_t *len);
    /** Send one message to the pool. */
    mproc_status_t (*send)(void *self, const void *data, size_t len);
} mproc_worker_io_t;

/**
 * Serve one pool as its worker: read the setup message, run the pool's
 * initializer and send its return value (a 4-byte int32, 0 also without an
 * initializer) as this worker's first message, then run chunks of tasks and
 * send back their results until `io->recv` reports MPROC_EEOF. The pool waits
 * for every worker's first message in mproc_pool_create(), which fails with
 * MPROC_EINITIALIZER if one is not 0 (as with local workers). Tasks and the
 * initializer are found by their registered names, so this process must
 * register the same ones as the pool's (the same program).
 *
 * Returns 0 after MPROC_EEOF (also when it comes instead of the setup), else
 * the worker exit code the local pool would report:
 * ::MPROC_EXIT_WORKER_ARGS (bad setup; still reported to the pool as a failed
 * initializer), ::MPROC_EXIT_WORKER_INITARGS (likewise, bad initargs),
 * ::MPROC_EXIT_WORKER_INIT (the initializer returned non-zero; the pool was
 * told and ends, so a caller that serves pool after pool calls this again,
 * which takes that end and returns 0), ::MPROC_EXIT_WORKER_RECV (receive
 * failed), ::MPROC_EXIT_WORKER_SEND (a chunk could not be run or its result
 * sent).
 */
MPROC_API int mproc_pool_serve(const mproc_worker_io_t *io);

#ifdef __cplusplus
}
#endif

#endif
