#include "wire.h"

#include <stdlib.h>
#include <string.h>

mproc_status_t mproc__wbuf_reserve(mproc__wbuf_t *b, size_t n, size_t *at)
{
    if (n > SIZE_MAX - b->len)
        return MPROC_ENOMEM;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d)
            return MPROC_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    *at = b->len;
    b->len += n;
    return MPROC_OK;
}

mproc_status_t mproc__wbuf_put(mproc__wbuf_t *b, const void *p, size_t n)
{
    size_t at;
    mproc_status_t st = mproc__wbuf_reserve(b, n, &at);
    if (!st && n)
        memcpy(b->data + at, p, n);
    return st;
}

mproc_status_t mproc__wbuf_put_u32(mproc__wbuf_t *b, uint32_t v)
{
    return mproc__wbuf_put(b, &v, sizeof v);
}

mproc_status_t mproc__wbuf_put_i64(mproc__wbuf_t *b, int64_t v)
{
    return mproc__wbuf_put(b, &v, sizeof v);
}

mproc_status_t mproc__wbuf_put_str(mproc__wbuf_t *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT32_MAX)
        return MPROC_ETOOBIG;
    mproc_status_t st = mproc__wbuf_put_u32(b, (uint32_t)n);
    return st ? st : mproc__wbuf_put(b, s, n);
}

void mproc__wbuf_free(mproc__wbuf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

mproc_status_t mproc__rbuf_get(mproc__rbuf_t *b, void *p, size_t n)
{
    if (n > b->len - b->pos)
        return MPROC_EINVAL;
    if (n)
        memcpy(p, b->data + b->pos, n);
    b->pos += n;
    return MPROC_OK;
}

mproc_status_t mproc__rbuf_get_u32(mproc__rbuf_t *b, uint32_t *v)
{
    return mproc__rbuf_get(b, v, sizeof *v);
}

mproc_status_t mproc__rbuf_get_i64(mproc__rbuf_t *b, int64_t *v)
{
    return mproc__rbuf_get(b, v, sizeof *v);
}

mproc_status_t mproc__rbuf_get_str(mproc__rbuf_t *b, char **s)
{
    uint32_t n;
    mproc_status_t st = mproc__rbuf_get_u32(b, &n);
    if (st)
        return st;
    if (n > b->len - b->pos)
        return MPROC_EINVAL;
    /* A C string cannot hold a NUL: one inside is a corrupt message. */
    if (n && memchr(b->data + b->pos, '\0', n))
        return MPROC_EINVAL;
    char *c = malloc((size_t)n + 1);
    if (!c)
        return MPROC_ENOMEM;
    memcpy(c, b->data + b->pos, n);
    c[n] = '\0';
    b->pos += n;
    *s = c;
    return MPROC_OK;
}
