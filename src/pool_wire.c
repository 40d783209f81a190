/* Decoding the pool's messages (pool_wire.h): a worker may have been killed mid-write or be broken. */
#include <stdlib.h>
#include <string.h>

#include "mproc/connection.h"
#include "pool_wire.h"

int mproc__pool_init_succeeded(const void *msg, size_t len)
{
    int32_t code = -1;
    if (len == sizeof code)
        memcpy(&code, msg, sizeof code);
    return code == 0;
}

mproc_status_t mproc__pool_chunk_head(mproc__rbuf_t *r, mproc__pool_chunk_t *h)
{
    memset(h, 0, sizeof *h);
    mproc_status_t st = mproc__rbuf_get(r, &h->job, sizeof h->job);
    if (!st) st = mproc__rbuf_get_u32(r, &h->start);
    if (!st) st = mproc__rbuf_get_u32(r, &h->count);
    if (!st) st = mproc__rbuf_get_u32(r, &h->mode);
    if (!st) st = mproc__rbuf_get_i64(r, &h->fn);
    if (!st) st = mproc__rbuf_get_str(r, &h->name);
    if (!st && h->mode == MPROC__POOL_MODE_FIXED) {
        st = mproc__rbuf_get_u32(r, &h->in_size);
        if (!st) st = mproc__rbuf_get_u32(r, &h->out_size);
        if (!st && (!h->in_size || !h->out_size ||
                    (uint64_t)h->in_size * h->count > r->len - r->pos ||
                    (uint64_t)h->out_size * h->count > MPROC_MESSAGE_MAX_BYTES))
            st = MPROC_EINVAL;
    } else if (!st && h->mode != MPROC__POOL_MODE_BYTES) {
        st = MPROC_EINVAL;
    }
    if (st) {
        free(h->name);
        h->name = NULL;
    }
    return st;
}

mproc_status_t mproc__pool_chunk_input(mproc__rbuf_t *r, const unsigned char **p, size_t *len)
{
    uint32_t n;
    mproc_status_t st = mproc__rbuf_get_u32(r, &n);
    if (!st && n > r->len - r->pos)
        st = MPROC_EINVAL;
    if (st)
        return st;
    *p = r->data + r->pos;
    *len = n;
    r->pos += n;
    return MPROC_OK;
}

/* The next record: a failure, or a success whose output fits the array when there is one. */
static void visit_record(mproc__rbuf_t *r, uint32_t i, unsigned char *fixed_out, size_t out_size,
                         mproc__pool_item_fn each, void *ctx)
{
    int32_t code = 0;
    uint32_t n = 0;
    if (mproc__rbuf_get(r, &code, sizeof code) || mproc__rbuf_get_u32(r, &n) ||
        n > r->len - r->pos || (fixed_out && !code && n != out_size)) {
        r->pos = r->len; /* the rest cannot be trusted either */
        each(ctx, i, MPROC_EWORKERLOST, 0, NULL, 0);
        return;
    }
    const unsigned char *p = r->data + r->pos;
    r->pos += n;
    if (fixed_out && !code)
        memcpy(fixed_out + (size_t)i * out_size, p, out_size);
    each(ctx, i, code ? MPROC_ETASK : MPROC_OK, code, p, n);
}

mproc_status_t mproc__pool_decode_result(const unsigned char *msg, size_t len, uint32_t start,
                                         uint32_t count, unsigned char *fixed_out,
                                         size_t out_size, int *bare, mproc__pool_item_fn each,
                                         void *ctx)
{
    mproc__rbuf_t r = {msg, len, 0};
    uint64_t job;
    uint32_t got_start, got_count, nfail;
    *bare = 0;
    mproc_status_t st = mproc__rbuf_get(&r, &job, sizeof job);
    if (!st) st = mproc__rbuf_get_u32(&r, &got_start);
    if (!st) st = mproc__rbuf_get_u32(&r, &got_count);
    if (!st) st = mproc__rbuf_get_u32(&r, &nfail);
    if (st || got_start != start || got_count != count)
        return MPROC_EINVAL;
    if (fixed_out && !nfail && (uint64_t)count * out_size <= len - r.pos) {
        memcpy(fixed_out, msg + r.pos, (size_t)count * out_size);
        *bare = 1;
        return MPROC_OK;
    }
    for (uint32_t i = 0; i < count; i++)
        visit_record(&r, i, fixed_out, out_size, each, ctx);
    return MPROC_OK;
}
