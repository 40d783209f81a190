/*
 * What a pool's parent and its workers say to each other, one connection
 * message each way per chunk of tasks.
 *
 * Chunk, parent -> worker:
 *   u64 job, u64 start, u64 count, u32 mode, i64 fn (fork: the pointer, else 0),
 *   str task name ("" when sent by pointer), then
 *   MODE_BYTES: count x u64 len, then the items' bytes one after another (the
 *   lengths first: a large item can be sent from the caller's memory as it
 *   is, mproc_pool_part_t); MODE_FIXED: u64 in_size, u64 out_size, count x
 *   in_size bytes; MODE_CHUNK (one call of a chunk task for the whole chunk):
 *   as MODE_FIXED with u64 pad and `pad` zero bytes before the inputs, which
 *   so start at a multiple of MPROC__POOL_ALIGN in the message.
 * Result, worker -> parent:
 *   u64 job, u64 start, u64 count, u64 nfail, then
 *   MODE_FIXED or MODE_CHUNK with nfail == 0: count x out_size bytes; otherwise
 *   count x (i32 code, u64 len, bytes: the output, or the message when code != 0).
 * Every length is 64 bits: no size limit but memory's (issue 15).
 *
 * The decoders below check every length against the bytes that arrived: a
 * malformed message gives MPROC_EINVAL (or a lost item), never a read past it.
 */
#ifndef MPROC_POOL_WIRE_H
#define MPROC_POOL_WIRE_H

#include "core.h"
#include "wire.h"

enum { MPROC__POOL_MODE_BYTES = 0, MPROC__POOL_MODE_FIXED = 1, MPROC__POOL_MODE_CHUNK = 2 };

/* A chunk task's inputs and outputs start at a multiple of this (pool.h). */
#define MPROC__POOL_ALIGN 16

/* Reported for an output of the wrong size in a fixed-size map. */
#define MPROC__POOL_WRONG_SIZE (-1)

/* A worker's exit codes when it cannot go on: MPROC_EXIT_WORKER_* in pool.h. */

/* A worker's first message, local or behind a transport: i32, its
 * initializer's return value (0 also without one; non-zero: it ends). */
int mproc__pool_init_succeeded(const void *msg, size_t len);

typedef struct mproc__pool_chunk {
    uint64_t job, start, count;
    uint32_t mode;
    int64_t fn;
    char *name; /* owned: free() it */
    uint64_t in_size, out_size; /* MODE_FIXED, MODE_CHUNK; the inputs follow at r->pos */
    size_t next_len, next_item; /* MODE_BYTES: where the next length and item are */
} mproc__pool_chunk_t;

/* A chunk's header. MODE_FIXED, MODE_CHUNK: sizes are non-zero, the inputs are all there
 * and the outputs' total size fits in a size_t. MODE_BYTES: the lengths and
 * every item are all there. On failure h->name is NULL. */
mproc_status_t mproc__pool_chunk_head(mproc__rbuf_t *r, mproc__pool_chunk_t *h);
/* The next input of a MODE_BYTES chunk (points into r), count times. */
mproc_status_t mproc__pool_chunk_input(const mproc__rbuf_t *r, mproc__pool_chunk_t *h,
                                       const unsigned char **p, size_t *len);

/* One item's outcome from a result: status MPROC_OK or MPROC_ETASK (code,
 * p/len the output or message), or MPROC_EWORKERLOST for a record that did
 * not parse (p NULL). */
typedef void (*mproc__pool_item_fn)(void *ctx, size_t i, mproc_status_t status, int32_t code,
                                    const unsigned char *p, size_t len);

/* A result's head: job, start, count, nfail (u64 each); a bare array follows. */
#define MPROC__POOL_RESULT_HEAD (4 * sizeof(uint64_t))

/* 1 if a result's head says a bare output array for the chunk
 * [start, start + count) follows: no failure, the chunk's own items. */
int mproc__pool_result_is_bare(const void *head, uint64_t start, uint64_t count);

/* A worker's result for the chunk [start, start + count). With `fixed_out`
 * (count x out_size bytes), successful outputs are copied there and must be
 * exactly out_size long; a bare array sets *bare and calls `each` for none.
 * MPROC_EINVAL: the header does not match the chunk (no item visited). */
mproc_status_t mproc__pool_decode_result(const unsigned char *msg, size_t len, uint64_t start,
                                         uint64_t count, unsigned char *fixed_out,
                                         size_t out_size, int *bare, mproc__pool_item_fn each,
                                         void *ctx);

/* Where a running task's output or failure goes (pool.h's opaque type). */
struct mproc_task_out {
    mproc__wbuf_t output;
    int code;
    char *message;
    /* A fixed-size map's item: an output of exactly slot_size bytes goes
     * straight into the result's slot (in_slot set), not through `output`. */
    unsigned char *slot;
    size_t slot_size;
    int in_slot;
};

/* Run one chunk and build its result message in `res` (pool_worker.c). */
mproc_status_t mproc__pool_run_chunk(mproc__rbuf_t *r, mproc__wbuf_t *res, mproc_task_out_t *out);

/* The first message of a worker behind a transport: the initializer's name
 * ("" for none) and its encoded arguments (pool_serve.c). */
mproc_status_t mproc__pool_setup_encode(const char *init_name, const mproc__wbuf_t *initargs,
                                        mproc__wbuf_t *out);

#endif
