/* Decoding the pool's messages (pool_wire.h): a worker may have been killed mid-write or be broken. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool_wire.h"

int mproc__pool_init_succeeded(const void *msg, size_t len)
{
    int32_t code = -1;
    if (len == sizeof code)
        memcpy(&code, msg, sizeof code);
    return code == 0;
}

static mproc_status_t get_u64(mproc__rbuf_t *r, uint64_t *v)
{
    return mproc__rbuf_get(r, v, sizeof *v);
}

/* MODE_FIXED, MODE_CHUNK (after its padding): non-zero sizes, every input
 * there, the outputs' size a size_t. */
static mproc_status_t check_fixed(mproc__rbuf_t *r, mproc__pool_chunk_t *h)
{
    uint64_t pad = 0;
    mproc_status_t st = get_u64(r, &h->in_size);
    if (!st) st = get_u64(r, &h->out_size);
    if (!st && h->mode == MPROC__POOL_MODE_CHUNK)
        st = get_u64(r, &pad);
    if (st || !h->in_size || !h->out_size || pad >= MPROC__POOL_ALIGN || pad > r->len - r->pos)
        return MPROC_EINVAL;
    r->pos += (size_t)pad;
    if (h->count > (r->len - r->pos) / h->in_size || h->count > SIZE_MAX / h->out_size)
        return MPROC_EINVAL;
    return MPROC_OK;
}

/* MODE_BYTES: the count lengths, then items adding up to no more than arrived. */
static mproc_status_t check_bytes(const mproc__rbuf_t *r, mproc__pool_chunk_t *h)
{
    size_t left = r->len - r->pos;
    if (h->count > left / sizeof(uint64_t))
        return MPROC_EINVAL;
    h->next_len = r->pos;
    h->next_item = r->pos + (size_t)h->count * sizeof(uint64_t);
    left -= (size_t)h->count * sizeof(uint64_t);
    for (uint64_t i = 0; i < h->count; i++) {
        uint64_t n;
        memcpy(&n, r->data + h->next_len + i * sizeof n, sizeof n);
        if (n > left)
            return MPROC_EINVAL;
        left -= (size_t)n;
    }
    return MPROC_OK;
}

mproc_status_t mproc__pool_chunk_head(mproc__rbuf_t *r, mproc__pool_chunk_t *h)
{
    memset(h, 0, sizeof *h);
    mproc_status_t st = get_u64(r, &h->job);
    if (!st) st = get_u64(r, &h->start);
    if (!st) st = get_u64(r, &h->count);
    if (!st) st = mproc__rbuf_get_u32(r, &h->mode);
    if (!st) st = mproc__rbuf_get_i64(r, &h->fn);
    if (!st) st = mproc__rbuf_get_str(r, &h->name);
    if (!st)
        st = h->mode == MPROC__POOL_MODE_FIXED || h->mode == MPROC__POOL_MODE_CHUNK
                 ? check_fixed(r, h)
             : h->mode == MPROC__POOL_MODE_BYTES ? check_bytes(r, h)
                                                  : MPROC_EINVAL;
    if (st) {
        free(h->name);
        h->name = NULL;
    }
    return st;
}

mproc_status_t mproc__pool_chunk_input(const mproc__rbuf_t *r, mproc__pool_chunk_t *h,
                                       const unsigned char **p, size_t *len)
{
    uint64_t n;
    if (h->next_len + sizeof n > r->len)
        return MPROC_EINVAL;
    memcpy(&n, r->data + h->next_len, sizeof n);
    if (h->next_item > r->len || n > r->len - h->next_item)
        return MPROC_EINVAL;
    *p = r->data + h->next_item;
    *len = (size_t)n;
    h->next_len += sizeof n;
    h->next_item += (size_t)n;
    return MPROC_OK;
}

int mproc__pool_result_is_bare(const void *head, uint64_t start, uint64_t count)
{
    uint64_t h[4]; /* job, start, count, nfail */
    memcpy(h, head, sizeof h);
    return h[1] == start && h[2] == count && h[3] == 0;
}

/* The next record: a failure, or a success whose output fits the array when there is one. */
static void visit_record(mproc__rbuf_t *r, size_t i, unsigned char *fixed_out, size_t out_size,
                         mproc__pool_item_fn each, void *ctx)
{
    int32_t code = 0;
    uint64_t n = 0;
    if (mproc__rbuf_get(r, &code, sizeof code) || get_u64(r, &n) || n > r->len - r->pos ||
        (fixed_out && !code && n != out_size)) {
        r->pos = r->len; /* the rest cannot be trusted either */
        each(ctx, i, MPROC_EWORKERLOST, 0, NULL, 0);
        return;
    }
    const unsigned char *p = r->data + r->pos;
    r->pos += (size_t)n;
    if (fixed_out && !code)
        memcpy(fixed_out + i * out_size, p, out_size);
    each(ctx, i, code ? MPROC_ETASK : MPROC_OK, code, p, (size_t)n);
}

mproc_status_t mproc__pool_decode_result(const unsigned char *msg, size_t len, uint64_t start,
                                         uint64_t count, unsigned char *fixed_out,
                                         size_t out_size, int *bare, mproc__pool_item_fn each,
                                         void *ctx)
{
    mproc__rbuf_t r = {msg, len, 0};
    uint64_t job, got_start, got_count, nfail;
    *bare = 0;
    mproc_status_t st = get_u64(&r, &job);
    if (!st) st = get_u64(&r, &got_start);
    if (!st) st = get_u64(&r, &got_count);
    if (!st) st = get_u64(&r, &nfail);
    if (st || got_start != start || got_count != count)
        return MPROC_EINVAL;
    /* The caller's array holds count x out_size bytes: that product fits. */
    if (fixed_out && !nfail && count * out_size <= len - r.pos) {
        memcpy(fixed_out, msg + r.pos, (size_t)count * out_size);
        *bare = 1;
        return MPROC_OK;
    }
    for (size_t i = 0; i < count; i++)
        visit_record(&r, i, fixed_out, out_size, each, ctx);
    return MPROC_OK;
}
