/*
 * The parent's read of a fixed-size map's result (mproc__pool_recv_result):
 * mproc__connection_recv_split judges the 32-byte head where it lies in the
 * read-ahead buffer and, for a bare array of this chunk (no failure, its
 * start and count, the exact length), reads the outputs straight into the
 * caller's array; any other message goes whole through the pool's buffer and
 * mproc__pool_decode_result. The worker may forge every head field.
 * Input: out_size - 1 (low 5 bits), count, start (u8 each), then the stream
 * is written 16 x the fourth byte first, the rest after the receives time out
 * (a frame cut there is kept for the next call), then the writer closes.
 * Each message received must be the next frame of the stream, in the right
 * place: head and caller's array, or the buffer.
 */
#include <stdint.h>
#include <string.h>

#include "core.h"
#include "pool_wire.h"
#include "reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (mproc_init(*argc, *argv) != MPROC_OK)
        abort();
    return 0;
}

/* The frame sizes the harness lets through: a pool takes any length a worker
 * declares (issue 15), so the input's lengths would decide the allocation. */
#define BOUND ((size_t)1 << 20)

typedef struct expect {
    uint64_t start, count;
    size_t out_size;
    unsigned char *out; /* the caller's array for the chunk: count x out_size */
    const unsigned char *stream;
    size_t size, at; /* the next frame's header is at stream + at */
} expect_t;

static int bare_for(const void *head, void *ctx)
{
    const expect_t *e = ctx;
    return mproc__pool_result_is_bare(head, e->start, e->count);
}

/* The next frame in the stream: its bytes and declared length (0 without a
 * header); 0 if it is not all there. */
static int next_frame(const expect_t *e, const unsigned char **p, uint64_t *len)
{
    uint32_t n;
    size_t head = sizeof n;
    *len = 0;
    if (e->size - e->at < head)
        return 0;
    memcpy(&n, e->stream + e->at, sizeof n);
    *len = n;
    if (n == UINT32_MAX) {
        head += sizeof *len;
        *len = 0; /* until the long header is all there */
        if (e->size - e->at < head)
            return 0;
        memcpy(len, e->stream + e->at + sizeof n, sizeof *len);
    }
    *p = e->stream + e->at + head;
    return *len <= e->size - e->at - head;
}

static void item(void *ctx, size_t i, mproc_status_t status, int32_t code, const unsigned char *p,
                 size_t len)
{
    const expect_t *e = ctx;
    (void)code;
    (void)len;
    if (i >= e->count || (status == MPROC_EWORKERLOST) != (p == NULL))
        abort();
}

/* A message taken: the stream's next frame, where the split says it went. */
static void check_taken(expect_t *e, const unsigned char *head, int split,
                        const mproc__wbuf_t *buf)
{
    const unsigned char *p;
    uint64_t len;
    size_t tail = (size_t)e->count * e->out_size;
    if (!next_frame(e, &p, &len))
        abort(); /* a message the stream does not hold whole */
    if (split) {
        if (len != MPROC__POOL_RESULT_HEAD + tail || memcmp(head, p, MPROC__POOL_RESULT_HEAD) ||
            (tail && memcmp(e->out, p + MPROC__POOL_RESULT_HEAD, tail)) ||
            !mproc__pool_result_is_bare(head, e->start, e->count))
            abort();
    } else {
        if (buf->len != len || (len && memcmp(buf->data, p, (size_t)len)))
            abort();
        int bare = 0;
        (void)mproc__pool_decode_result(buf->data, buf->len, e->start, e->count, e->out,
                                        e->out_size, &bare, item, e);
    }
    e->at = (size_t)(p + len - e->stream);
}

/* Receive as the parent does, until the stream is used up or broken; the
 * writer still open, until the first timeout. */
static void take_all(mproc_connection_t *c, expect_t *e, int wr, size_t cut)
{
    mproc__wbuf_t buf = {0};
    for (;;) {
        const unsigned char *p;
        uint64_t len;
        if (!next_frame(e, &p, &len) && len > BOUND)
            break;
        unsigned char head[MPROC__POOL_RESULT_HEAD];
        int split = 0;
        mproc_status_t st = mproc__connection_recv_split(c, 0, head, sizeof head, e->out,
                                                         (size_t)e->count * e->out_size, bare_for,
                                                         e, &buf, &split);
        if (st == MPROC_OK) {
            check_taken(e, head, split, &buf);
        } else if (st == MPROC_ETIMEDOUT && wr >= 0) {
            feed(wr, e->stream + cut, e->size - cut);
            close(wr);
            wr = -1;
        } else if (st == MPROC_ETIMEDOUT) {
            abort(); /* the writer has closed: there is always an answer */
        } else {
            break;
        }
    }
    if (wr >= 0)
        close(wr);
    mproc__wbuf_free(&buf);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 4)
        return 0;
    expect_t e = {data[2], data[1], (size_t)(data[0] & 31) + 1, NULL, data + 4, size - 4, 0};
    size_t cut = (size_t)data[3] * 16;
    if (cut > e.size)
        cut = e.size;
    e.out = malloc(e.count ? e.count * e.out_size : 1); /* exactly: ASan sees a byte past it */
    int wr;
    mproc_connection_t *c = reader(&wr);
    feed(wr, e.stream, cut);
    take_all(c, &e, wr, cut);
    mproc_connection_free(c);
    free(e.out);
    return 0;
}
