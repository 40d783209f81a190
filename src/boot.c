/* The spawn bootstrap message's encoding; see boot.h and docs/design.md. */
#include "boot.h"

#include <stdlib.h>
#include <string.h>

#define BOOT_MAGIC 0x6d70726fu /* "mpro" */
#define BOOT_VERSION 2u
/* Names and identities are short; a longer one is not a message mproc wrote. */
#define BOOT_MAX_NAME 4096u

mproc_status_t mproc__boot_encode(const mproc__boot_msg_t *m, mproc__wbuf_t *b)
{
    size_t start = b->len;
    mproc_status_t st = mproc__wbuf_put_u32(b, 0); /* length, filled below */
    if (!st) st = mproc__wbuf_put_u32(b, BOOT_MAGIC);
    if (!st) st = mproc__wbuf_put_u32(b, BOOT_VERSION);
    if (!st) st = mproc__wbuf_put(b, m->token, sizeof m->token);
    if (!st) st = mproc__wbuf_put_str(b, m->target);
    if (!st) st = mproc__wbuf_put_str(b, m->name);
    if (!st) st = mproc__wbuf_put_str(b, m->identity);
    if (!st) st = mproc__wbuf_put_u32(b, (uint32_t)m->daemon);
    if (!st) st = mproc__wbuf_put_i64(b, m->parent_pid);
    if (!st) st = mproc__wbuf_put_str(b, m->parent_name);
    if (!st) st = mproc__wbuf_put_u32(b, (uint32_t)m->method);
    if (!st) st = mproc__args_encode(m->args, b);
    if (!st && b->len - start - 4 > MPROC__BOOT_MAX_BYTES)
        st = MPROC_ETOOBIG;
    if (!st) {
        uint32_t len = (uint32_t)(b->len - start - 4);
        memcpy(b->data + start, &len, 4);
    }
    return st;
}

static mproc_status_t get_name(mproc__rbuf_t *r, char **s, int may_be_empty)
{
    mproc_status_t st = mproc__rbuf_get_str(r, s);
    if (!st && (strlen(*s) > BOOT_MAX_NAME || (!may_be_empty && !**s)))
        st = MPROC_EINVAL;
    return st;
}

static mproc_status_t decode_fields(mproc__rbuf_t *r, mproc__boot_msg_t *m)
{
    uint32_t magic = 0, version = 0, daemon = 0, method = 0;
    mproc_status_t st = mproc__rbuf_get_u32(r, &magic);
    if (!st) st = mproc__rbuf_get_u32(r, &version);
    if (!st && (magic != BOOT_MAGIC || version != BOOT_VERSION)) st = MPROC_EINVAL;
    if (!st) st = mproc__rbuf_get(r, m->token, sizeof m->token);
    if (!st) st = get_name(r, &m->target, 0);
    if (!st) st = get_name(r, &m->name, 1);
    if (!st) st = get_name(r, &m->identity, 1);
    if (!st) st = mproc__rbuf_get_u32(r, &daemon);
    if (!st) st = mproc__rbuf_get_i64(r, &m->parent_pid);
    if (!st) st = get_name(r, &m->parent_name, 1);
    if (!st) st = mproc__rbuf_get_u32(r, &method);
    if (!st && (daemon > 1 || m->parent_pid <= 0)) st = MPROC_EINVAL;
    if (!st && ((method != MPROC_METHOD_FORK && method != MPROC_METHOD_SPAWN) ||
                !mproc_start_method_supported((mproc_start_method_t)method)))
        st = MPROC_EINVAL;
    if (!st) st = mproc__args_decode(r, &m->args);
    if (!st && r->pos != r->len) st = MPROC_EINVAL; /* trailing bytes */
    m->daemon = (int)daemon;
    m->method = (mproc_start_method_t)method;
    return st;
}

mproc_status_t mproc__boot_decode(const void *data, size_t len, mproc__boot_msg_t *m)
{
    memset(m, 0, sizeof *m);
    if ((!data && len) || len > MPROC__BOOT_MAX_BYTES)
        return MPROC_EINVAL;
    mproc__rbuf_t r = {data, len, 0};
    mproc_status_t st = decode_fields(&r, m);
    if (st)
        mproc__boot_msg_free(m);
    return st;
}

void mproc__boot_msg_free(mproc__boot_msg_t *m)
{
    free(m->target);
    free(m->name);
    free(m->identity);
    free(m->parent_name);
    mproc_args_free(m->args);
    memset(m, 0, sizeof *m);
}
