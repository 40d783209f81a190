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
#define MPROC__FRAME_HEADER_LONG 16 /* LONG_MARK, u32 sequence number, u64 length */
/* Lengths up to this are written in the header's first word; longer ones
 * after a LONG_MARK. */
#define MPROC__FRAME_SHORT_MAX 0xFFFFFFF0u
/* The longest message a queue carries: more than any memory holds. */
#define MPROC__FRAME_LEN_MAX ((uint64_t)1 << 60)

typedef enum mproc__frame_kind {
    MPROC__FRAME_MESSAGE, /* a message of `len` bytes */
    MPROC__FRAME_WRAP,    /* the rest of the lap is empty */
    MPROC__FRAME_JUMP     /* the next frame is at a later block of this lap */
} mproc__frame_kind_t;

typedef struct mproc__frame {
    mproc__frame_kind_t kind;
    uint32_t seq;    /* a message's sequence number */
    uint64_t len;    /* a message's length */
    int64_t header;  /* a message's header bytes before its data */
    int64_t advance; /* how far the head moves past it: always > 0 */
} mproc__frame_t;

/* How many bytes of header a frame whose first 8 bytes are `first` has:
 * MPROC__FRAME_HEADER, or MPROC__FRAME_HEADER_LONG for a long message. */
int64_t mproc__queue_frame_header_bytes(const void *first);

/*
 * Decode the header in bytes[0..len) found at offset `at` of a ring of
 * `capacity` bytes (a power of two). MPROC_OK; MPROC_EINVAL (len below the
 * header, capacity not a power of two of at least 4096, `at` not 8-aligned
 * or outside the ring); MPROC_ECORRUPT (a first word no producer writes, a
 * long length that is short or above MPROC__FRAME_LEN_MAX, a jump that is
 * not forward within the lap). `*out` is zeroed on failure.
 */
mproc_status_t mproc__queue_frame_decode(const void *bytes, size_t len, int64_t at,
                                         int64_t capacity, mproc__frame_t *out);

#endif
