/*
 * A queue frame's header as the consumer reads it from ring memory that any
 * process using the queue may have written: decoded without side effects,
 * so that a corrupted ring gives a status, and so that it can be fuzzed
 * (fuzz/fuzz_queue_frames.c). The frame format is described in queue.c.
 */
#ifndef MPROC_QUEUE_FRAME_H
#define MPROC_QUEUE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/status.h"

#define MPROC__FRAME_HEADER 8 /* u32 length (or a mark), u32 sequence number (or a block) */

typedef enum mproc__frame_kind {
    MPROC__FRAME_MESSAGE, /* a message of `len` bytes */
    MPROC__FRAME_WRAP,    /* the rest of the lap is empty */
    MPROC__FRAME_JUMP     /* the next frame is at a later block of this lap */
} mproc__frame_kind_t;

typedef struct mproc__frame {
    mproc__frame_kind_t kind;
    uint32_t len, seq; /* a message's length and sequence number */
    int64_t advance;   /* how far the head moves past it: always > 0 */
} mproc__frame_t;

/*
 * Decode the header in bytes[0..len) found at offset `at` of a ring of
 * `capacity` bytes (a power of two). MPROC_OK; MPROC_EINVAL (len below the
 * header, capacity not a power of two of at least 4096, `at` not 8-aligned
 * or outside the ring); MPROC_ECORRUPT (a length above
 * MPROC_MESSAGE_MAX_BYTES, a jump that is not forward within the lap).
 * `*out` is zeroed on failure.
 */
mproc_status_t mproc__queue_frame_decode(const void *bytes, size_t len, int64_t at,
                                         int64_t capacity, mproc__frame_t *out);

#endif
