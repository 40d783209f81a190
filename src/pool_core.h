/*
 * The pool's parent side, shared by its parts: pool.c (creating, ending,
 * submitting), pool_chunks.c (chunks out to workers, results back to their
 * jobs), pool_local.c (workers as local processes, and their handler) and
 * pool_remote.c (workers behind a transport, and their handler).
 */
#ifndef MPROC_POOL_CORE_H
#define MPROC_POOL_CORE_H

#include <apr_thread_proc.h>

#include "core.h"
#include "mproc/pool_transport.h"
#include "pool_result.h"
#include "pool_wire.h"

/* A large input the chunk's message takes from the caller's memory, not
 * copied: it follows the chunk's own bytes up to offset `at`. */
typedef struct lent {
    size_t at;
    const void *data;
    size_t len;
} lent_t;

/* Inputs from this size on are lent when they may be (see submit in pool.c). */
#define MPROC__POOL_LEND_MIN ((size_t)64 * 1024)
/* A local pool lends an input only after a chunk head this small, which
 * mproc__connection_send_two joins with the frame's header. */
#define MPROC__POOL_LOCAL_HEAD_MAX ((size_t)2048)

typedef struct chunk {
    struct chunk *next;
    mproc_async_result_t *job;
    size_t start, count;
    mproc__wbuf_t msg;
    lent_t *lent; /* in message order; NULL when nothing is lent */
    size_t nlent;
    mproc_status_t failed; /* why it could not be sent (on pool->unsent) */
} chunk_t;

typedef struct worker {
    mproc_process_t *proc;
    mproc_connection_t *conn;
    chunk_t *held; /* the chunk it runs, or NULL */
    int64_t sent;  /* chunks sent, for maxtasksperchild (a long, 32 bits on Windows, overflowed) */
    int sending;   /* threads sending to it right now: it is not freed meanwhile */
    int initialized; /* its initializer succeeded: it takes tasks */
    int conn_ended;  /* its connection ended: the handler waits for it to exit */
} worker_t;

enum { RUN, CLOSE, TERMINATE };

struct mproc_pool {
    hub_t *hub;
    int state, handler_done, handler_joined;
    int nworkers;
    long maxtasks;
    worker_t *workers;
    chunk_t *pending, *pending_tail;
    chunk_t *unsent; /* sends that failed: their tasks fail on the handler's thread */
    mproc_connection_t *wake_rd, *wake_wr;
    apr_pool_t *thread_mem;
    apr_thread_t *handler;
    const mproc_context_t *context;
    mproc_target_fn initializer;
    mproc_args_t *initargs; /* owns duplicates of the handles it holds */
    mproc__wbuf_t inbox; /* the handler's receive buffer */
    uint64_t next_job;
    struct mproc_pool *next_open; /* this process's open pools (pool.c) */
    int64_t owner;                /* the pid that created it: a fork child's copy is not its */
    const mproc_pool_transport_t *transport; /* NULL: local worker processes */
    void *session;                           /* the transport's, until it is closed */
    unsigned char *lost;                     /* per remote worker: it died */
    int awaiting_sends; /* threads in mproc__pool_await_sends */
};

/* Results whose last item completed: their callbacks run, then they are ready. */
typedef struct finished {
    mproc_async_result_t **list;
    size_t n, cap;
} finished_t;

/* pool_chunks.c; all with the hub's lock held. */
/* Run callbacks outside the lock, then mark those results ready. */
void mproc__pool_run_callbacks(mproc_pool_t *pool, finished_t *fin);
/* Free a chunk and its message. */
void mproc__pool_chunk_free(chunk_t *c);
/* Fail every item of a chunk and free it. */
void mproc__pool_fail_chunk(mproc_pool_t *pool, chunk_t *c, mproc_status_t status, int code,
                            const char *why, finished_t *fin);
/* Parse a result message for the chunk the worker held. */
void mproc__pool_take_result(mproc_pool_t *pool, worker_t *w, const unsigned char *msg,
                             size_t len, finished_t *fin);
/* Receive a worker's message (at once, or MPROC_ETIMEDOUT and nothing taken
 * yet) and take the result of the chunk it held. A fixed-size map's bare
 * outputs are read straight into the caller's array, not copied from a buffer. */
mproc_status_t mproc__pool_recv_result(mproc_pool_t *pool, worker_t *w, finished_t *fin);
/* Give idle workers the next chunks; the lock is released while sending. */
void mproc__pool_dispatch(mproc_pool_t *pool);
/* Wait until no thread sends to worker `w` (the lock is released meanwhile). */
void mproc__pool_await_sends(mproc_pool_t *pool, const worker_t *w);
/* Fail the chunks whose send failed (the handler's thread). */
void mproc__pool_fail_unsent(mproc_pool_t *pool, finished_t *fin);
/* A worker holds a chunk, or one waits. */
int mproc__pool_busy(const mproc_pool_t *pool);
/* Fail every chunk still waiting. */
void mproc__pool_fail_pending(mproc_pool_t *pool, mproc_status_t status, const char *why,
                              finished_t *fin);

/* pool_local.c: start the workers as processes, and wait for their
 * initializers (a failure: MPROC_EINITIALIZER); their handler thread. */
mproc_status_t mproc__pool_start_local(mproc_pool_t *pool);
void *APR_THREAD_FUNC mproc__pool_local_handler(apr_thread_t *thread, void *arg);

/* pool_remote.c: open the transport, which starts the workers, and wait for
 * their initializers; the handler thread of workers behind it. */
mproc_status_t mproc__pool_open_transport(mproc_pool_t *pool);
void *APR_THREAD_FUNC mproc__pool_remote_handler(apr_thread_t *thread, void *arg);

#endif
