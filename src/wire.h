/*
 * A growable byte buffer with typed little helpers: the one encoding used for
 * argument lists and the spawn bootstrap message. Fixed-width fields are
 * stored in host byte order: both ends are the same executable.
 */
#ifndef MPROC_WIRE_H
#define MPROC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/status.h"

typedef struct mproc__wbuf {
    unsigned char *data;
    size_t len;
    size_t cap;
} mproc__wbuf_t;

mproc_status_t mproc__wbuf_put(mproc__wbuf_t *b, const void *p, size_t n);
mproc_status_t mproc__wbuf_put_u32(mproc__wbuf_t *b, uint32_t v);
mproc_status_t mproc__wbuf_put_i64(mproc__wbuf_t *b, int64_t v);
/* u32 length, the bytes, no terminator. NULL is stored as empty. */
mproc_status_t mproc__wbuf_put_str(mproc__wbuf_t *b, const char *s);
/* Grow by n bytes left for the caller to fill; *at is their offset. */
mproc_status_t mproc__wbuf_reserve(mproc__wbuf_t *b, size_t n, size_t *at);
void mproc__wbuf_free(mproc__wbuf_t *b);

typedef struct mproc__rbuf {
    const unsigned char *data;
    size_t len;
    size_t pos;
} mproc__rbuf_t;

/* Each returns MPROC_EINVAL when the buffer is too short (a corrupt message). */
mproc_status_t mproc__rbuf_get(mproc__rbuf_t *b, void *p, size_t n);
mproc_status_t mproc__rbuf_get_u32(mproc__rbuf_t *b, uint32_t *v);
mproc_status_t mproc__rbuf_get_i64(mproc__rbuf_t *b, int64_t *v);
/* A freshly allocated NUL-terminated copy; MPROC_EINVAL if it holds a NUL. */
mproc_status_t mproc__rbuf_get_str(mproc__rbuf_t *b, char **s);

#endif
