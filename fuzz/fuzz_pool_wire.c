/*
 * The pool's two messages (src/pool_wire.h): a chunk of tasks as a worker
 * receives it, and a result as the parent receives it from a worker that may
 * be broken or killed mid-write. The first byte chooses: bit 0 chunk/result,
 * bit 1 a fixed-size map, bits 2-7 its output size minus one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool_wire.h"

typedef struct span {
    const unsigned char *msg;
    size_t len;
    uint64_t count, visits;
} span_t;

static void visit(void *ctx, size_t i, mproc_status_t status, int32_t code,
                  const unsigned char *p, size_t len)
{
    span_t *s = ctx;
    (void)code;
    if (i >= s->count || s->visits++ != i)
        abort();
    if (status == MPROC_EWORKERLOST ? p != NULL : (p < s->msg || len > (size_t)(s->msg + s->len - p)))
        abort();
}

static void chunk(const unsigned char *data, size_t size)
{
    mproc__rbuf_t r = {data, size, 0};
    mproc__pool_chunk_t h;
    if (mproc__pool_chunk_head(&r, &h) != MPROC_OK)
        return;
    free(h.name);
    if (h.mode == MPROC__POOL_MODE_FIXED) {
        if (h.count > (size - r.pos) / h.in_size || h.count > SIZE_MAX / h.out_size)
            abort();
        return;
    }
    /* The head checked every length: each input is there, in order, to the end at most. */
    const unsigned char *end = NULL;
    for (uint64_t i = 0; i < h.count; i++) {
        const unsigned char *p;
        size_t len;
        if (mproc__pool_chunk_input(&r, &h, &p, &len) != MPROC_OK)
            abort();
        if (p < data + r.pos || len > size - (size_t)(p - data) || (end && p != end))
            abort();
        if (len && p[len - 1] != data[p - data + len - 1])
            abort();
        end = p + len;
    }
}

static void result(unsigned char how, const unsigned char *data, size_t size)
{
    uint64_t start = 0, count = 0;
    if (size >= 24) { /* the chunk the parent sent is the one the worker names */
        memcpy(&start, data + 8, 8);
        memcpy(&count, data + 16, 8);
    }
    if (count > 1 << 16)
        return; /* the parent only accepts the count it sent: a real chunk's */
    size_t out_size = (size_t)(how >> 2) + 1;
    unsigned char *fixed = NULL;
    if ((how & 2) && (uint64_t)count * out_size <= 1 << 20)
        fixed = malloc(count * out_size + 1);
    span_t s = {data, size, count, 0};
    int bare = 0;
    if (mproc__pool_decode_result(data, size, start, count, fixed, out_size, &bare, visit, &s) ==
            MPROC_OK &&
        !bare && s.visits != count)
        abort(); /* every item gets an outcome */
    free(fixed);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        result(data[0], data + 1, size - 1);
    else
        chunk(data + 1, size - 1);
    return 0;
}
