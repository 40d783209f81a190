/*
 * Queue frames read from a corrupted ring: the consumer's decode of frame
 * headers (short and long lengths) and of wrap and jump marks
 * (mproc__queue_frame_decode, which
 * mproc_queue_get uses on every header) from ring memory that a hostile or
 * broken process wrote. The input is the ring's bytes; a walk reads it as a
 * consumer does, frame after frame, up to a tail the input chooses. Every
 * header gives a frame that moves the head forward (so the walk ends) and
 * stays 8-aligned, or a status; nothing is read outside the bytes given.
 */
#include <stdlib.h>
#include <string.h>

#include "queue_frame.h"

#define RING 4096 /* the smallest ring: every offset of it is reachable */

static void check(int ok)
{
    if (!ok)
        abort();
}

/* One header decoded from exactly `len` bytes of its own (ASan sees any
 * over-read), at an offset and ring size taken from the input. */
static void decode_alone(const unsigned char *data, size_t size)
{
    if (size < 16)
        return;
    uint32_t at, shift;
    memcpy(&at, data, 4);
    memcpy(&shift, data + 4, 4);
    int64_t capacity = (int64_t)1 << (shift % 40);
    size_t len = size - 8 < 16 ? size - 8 : 16;
    unsigned char *copy = malloc(len);
    check(copy != NULL);
    memcpy(copy, data + 8, len);
    mproc__frame_t f;
    mproc_status_t st = mproc__queue_frame_decode(copy, len, (int64_t)at, capacity, &f);
    check(st == MPROC_OK || st == MPROC_EINVAL || st == MPROC_ECORRUPT);
    if (st == MPROC_OK) {
        check(f.advance > 0 && (f.advance & 7) == 0);
        check(f.kind == MPROC__FRAME_MESSAGE || (int64_t)at + f.advance <= capacity);
    } else {
        check(f.advance == 0 && f.len == 0);
    }
    free(copy);
}

/* The consumer's walk over a ring holding the input (zeros past it). */
static void walk(const unsigned char *data, size_t size)
{
    static unsigned char ring[RING];
    memset(ring, 0, sizeof ring);
    memcpy(ring, data, size < RING ? size : RING);
    uint32_t t = 0;
    if (size >= 4)
        memcpy(&t, data + size - 4, 4);
    int64_t tail = (int64_t)(t % (16 * RING)) & ~(int64_t)7, head = 0;
    unsigned sum = 0;
    while (head + MPROC__FRAME_HEADER <= tail) {
        int64_t at = head & (RING - 1);
        /* A long message's header may run over the ring's end, as the
         * consumer's copy of it does. */
        unsigned char header[MPROC__FRAME_HEADER_LONG];
        int64_t bytes = mproc__queue_frame_header_bytes(ring + at);
        check(bytes == MPROC__FRAME_HEADER || bytes == MPROC__FRAME_HEADER_LONG);
        if (head + bytes > tail)
            return; /* the consumer waits for the rest of the header */
        for (int64_t i = 0; i < bytes; i++)
            header[i] = ring[(at + i) & (RING - 1)];
        mproc__frame_t f;
        if (mproc__queue_frame_decode(header, (size_t)bytes, at, RING, &f) != MPROC_OK)
            return; /* the queue reports MPROC_ECORRUPT and reads nothing */
        check(f.kind != MPROC__FRAME_MESSAGE || f.header == bytes);
        check(f.advance >= f.header + (int64_t)((f.len + 7) & ~(uint64_t)7) ||
              f.kind != MPROC__FRAME_MESSAGE);
        check(f.advance > 0 && (f.advance & 7) == 0);
        if (f.kind == MPROC__FRAME_MESSAGE) {
            /* Its bytes, as far as published, read a ring at a time. */
            int64_t avail = tail - head - f.header;
            int64_t n = f.len > (uint64_t)avail ? avail : (int64_t)f.len;
            for (int64_t i = 0; i < n && i < 4 * RING; i++)
                sum += ring[(head + f.header + i) & (RING - 1)];
        } else {
            check(at + f.advance <= RING);
        }
        head += f.advance;
    }
    (void)*(volatile unsigned *)&sum;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    decode_alone(data, size);
    walk(data, size);
    return 0;
}
