/*
 * What a pool's parent and its workers say to each other, one connection
 * message each way per chunk of tasks.
 *
 * Chunk, parent -> worker:
 *   u64 job, u32 start, u32 count, u32 mode, i64 fn (fork: the pointer, else 0),
 *   str task name ("" when sent by pointer), then
 *   MODE_BYTES: count x (u32 len, bytes); MODE_FIXED: u32 in_size, u32 out_size,
 *   count x in_size bytes.
 * Result, worker -> parent:
 *   u64 job, u32 start, u32 count, u32 nfail, then
 *   MODE_FIXED with nfail == 0: count x out_size bytes; otherwise
 *   count x (i32 code, u32 len, bytes: the output, or the message when code != 0).
 */
#ifndef MPROC_POOL_WIRE_H
#define MPROC_POOL_WIRE_H

#include "core.h"

enum { MPROC__POOL_MODE_BYTES = 0, MPROC__POOL_MODE_FIXED = 1 };

/* Reported for an output of the wrong size in a fixed-size map. */
#define MPROC__POOL_WRONG_SIZE (-1)

/* Exit codes of a worker that cannot go on; the pool reports them with
 * MPROC_EWORKERLOST for the tasks the worker held. */
enum {
    MPROC__WORKER_BAD_ARGS = 90,     /* its argument list is not what the pool sends */
    MPROC__WORKER_BAD_INITARGS = 91, /* the initializer's arguments do not decode */
    MPROC__WORKER_RECV_FAILED = 92,  /* reading the next chunk failed */
    MPROC__WORKER_SEND_FAILED = 93   /* a chunk could not be run or its result sent */
};

/* Where a running task's output or failure goes (pool.h's opaque type). */
struct mproc_task_out {
    mproc__wbuf_t output;
    int code;
    char *message;
};

/* Run one chunk and build its result message in `res` (pool_worker.c). */
mproc_status_t mproc__pool_run_chunk(mproc__rbuf_t *r, mproc__wbuf_t *res, mproc_task_out_t *out);

/* The first message of a worker behind a transport: the initializer's name
 * ("" for none) and its encoded arguments (pool_serve.c). */
mproc_status_t mproc__pool_setup_encode(const char *init_name, const mproc__wbuf_t *initargs,
                                        mproc__wbuf_t *out);

#endif
