/*
 * Test hooks of the queue, in builds with fault injection only (fault.h):
 * states that would take too long to reach by use.
 */
#ifndef MPROC_QUEUE_TESTING_H
#define MPROC_QUEUE_TESTING_H

#include <stdint.h>

#include <mproc/queue.h>

#ifdef MPROC_FAULT_INJECTION
/* Number the frames put from now on as if `n` had been begun already (frames
 * carry the low 32 bits of their number). No put may be running. */
void mproc__queue_test_number_frames_from(mproc_queue_t *q, int64_t n);
/* JoinableQueue: count `n` more messages as put and not yet task_done, as
 * if that many had been put. No put or task_done may be running. */
void mproc__queue_test_add_unfinished(mproc_queue_t *q, int64_t n);
/* Count `n` frames as put and taken already, so that the next get's claim
 * is number n + 1. The queue must be empty and idle. */
void mproc__queue_test_number_claims_from(mproc_queue_t *q, int64_t n);
#endif

#endif
