/* The frame decoder of queue_frame.h. */

#include "queue_core.h"

int64_t mproc__queue_frame_header_bytes(const void *first)
{
    uint32_t word;
    memcpy(&word, first, sizeof word);
    return word == LONG_MARK ? MPROC__FRAME_HEADER_LONG : HEADER;
}

mproc_status_t mproc__queue_frame_decode(const void *bytes, size_t len, int64_t at,
                                         int64_t capacity, mproc__frame_t *out)
{
    memset(out, 0, sizeof *out);
    if (!bytes || len < HEADER || capacity < (int64_t)MIN_RING || (capacity & (capacity - 1)) ||
        at < 0 || at >= capacity || (at & 7))
        return MPROC_EINVAL;
    uint32_t header[2];
    memcpy(header, bytes, HEADER);
    if (header[0] == WRAP_MARK) {
        out->kind = MPROC__FRAME_WRAP;
        out->advance = capacity - at;
        return MPROC_OK;
    }
    if (header[0] == JUMP_MARK) {
        int64_t to = (int64_t)header[1] * BLOCK; /* below 2^52: no overflow */
        if (to <= at || to >= capacity)
            return MPROC_ECORRUPT;
        out->kind = MPROC__FRAME_JUMP;
        out->advance = to - at;
        return MPROC_OK;
    }
    uint64_t n = header[0];
    if (header[0] == LONG_MARK) {
        if (len < MPROC__FRAME_HEADER_LONG)
            return MPROC_EINVAL;
        memcpy(&n, (const unsigned char *)bytes + HEADER, sizeof n);
        if (n <= MPROC__FRAME_SHORT_MAX || n > MPROC__FRAME_LEN_MAX)
            return MPROC_ECORRUPT; /* a long message's length is long, and not absurd */
    } else if (n > MPROC__FRAME_SHORT_MAX) {
        return MPROC_ECORRUPT; /* a mark no producer writes */
    }
    out->kind = MPROC__FRAME_MESSAGE;
    out->len = n;
    out->seq = header[1];
    out->header = frame_header(n);
    out->advance = frame_size(n);
    return MPROC_OK;
}
