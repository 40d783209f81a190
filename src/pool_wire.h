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

enum { MPROC__POOL_MODE_BYTES = 0, MPROC__POOL_MODE_FIXED = 1 };

/* Reported for an output of the wrong size in a fixed-size map. */
#define MPROC__POOL_WRONG_SIZE (-1)

/* A worker's exit codes when it cannot go on: MPROC_EXIT_WORKER_* in pool.h. */

#endif
