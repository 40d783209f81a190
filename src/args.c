/*
 * An argument list is its own encoding: a byte buffer of [type][payload]
 * items plus an offset index. Fork children read it in place and spawned
 * children receive the same bytes, so both see identical values.
 */
#include <stdlib.h>
#include <string.h>

#include "args_internal.h"

struct mproc_args {
    mproc__wbuf_t buf;
    size_t *offsets; /* where each item's type byte is */
    size_t count;
    size_t offsets_cap;
};

mproc_status_t mproc_args_create(mproc_args_t **out)
{
    if (!out)
        return MPROC_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? MPROC_OK : MPROC_ENOMEM;
}

void mproc_args_free(mproc_args_t *args)
{
    if (!args)
        return;
    mproc__wbuf_free(&args->buf);
    free(args->offsets);
    free(args);
}

static mproc_status_t reserve_offset(mproc_args_t *args)
{
    if (args->count == args->offsets_cap) {
        size_t cap = args->offsets_cap ? args->offsets_cap * 2 : 8;
        size_t *o = realloc(args->offsets, cap * sizeof *o);
        if (!o)
            return MPROC_ENOMEM;
        args->offsets = o;
        args->offsets_cap = cap;
    }
    return MPROC_OK;
}

static mproc_status_t begin_item(mproc_args_t *args, unsigned char type, size_t payload)
{
    if (payload > MPROC_ARGS_MAX_BYTES || args->buf.len + 1 + payload > MPROC_ARGS_MAX_BYTES)
        return MPROC_ETOOBIG;
    mproc_status_t st = reserve_offset(args);
    if (st)
        return st;
    size_t at = args->buf.len;
    st = mproc__wbuf_put(&args->buf, &type, 1);
    if (st)
        return st;
    args->offsets[args->count] = at;
    return MPROC_OK;
}

/* An item is counted only once its payload is in, so a failed add leaves the list as it was. */
static mproc_status_t end_item(mproc_args_t *args, mproc_status_t st)
{
    if (st) {
        args->buf.len = args->offsets[args->count];
        return st;
    }
    args->count++;
    return MPROC_OK;
}

static mproc_status_t add_fixed(mproc_args_t *args, unsigned char type, const void *v, size_t n)
{
    if (!args)
        return MPROC_EINVAL;
    mproc_status_t st = begin_item(args, type, n);
    return st ? st : end_item(args, mproc__wbuf_put(&args->buf, v, n));
}

static mproc_status_t add_sized(mproc_args_t *args, unsigned char type, const void *data,
                                size_t len, int terminate)
{
    if (!args || (!data && len))
        return MPROC_EINVAL;
    if (len > UINT32_MAX)
        return MPROC_ETOOBIG;
    mproc_status_t st = begin_item(args, type, 4 + len + (size_t)terminate);
    if (st)
        return st;
    static const char nul = '\0';
    st = mproc__wbuf_put_u32(&args->buf, (uint32_t)len);
    if (!st)
        st = mproc__wbuf_put(&args->buf, data, len);
    if (!st && terminate)
        st = mproc__wbuf_put(&args->buf, &nul, 1);
    return end_item(args, st);
}

mproc_status_t mproc_args_add_int(mproc_args_t *args, int64_t value)
{
    return add_fixed(args, MPROC_ARG_INT, &value, sizeof value);
}

mproc_status_t mproc_args_add_double(mproc_args_t *args, double value)
{
    return add_fixed(args, MPROC_ARG_DOUBLE, &value, sizeof value);
}

mproc_status_t mproc_args_add_str(mproc_args_t *args, const char *value)
{
    if (!value)
        return MPROC_EINVAL;
    return add_sized(args, MPROC_ARG_STR, value, strlen(value), 1);
}

mproc_status_t mproc_args_add_bytes(mproc_args_t *args, const void *data, size_t len)
{
    return add_sized(args, MPROC_ARG_BYTES, data, len, 0);
}

size_t mproc_args_count(const mproc_args_t *args)
{
    return args ? args->count : 0;
}

static int item_type(const mproc_args_t *args, size_t index)
{
    if (!args || index >= args->count)
        return MPROC_ARG_NONE;
    return args->buf.data[args->offsets[index]];
}

mproc_arg_type_t mproc_args_type(const mproc_args_t *args, size_t index)
{
    int t = item_type(args, index);
    return t == MPROC__ARG_OBJECT ? MPROC_ARG_NONE : (mproc_arg_type_t)t;
}

/* Payload of item `index` when it has type `type`. */
static mproc_status_t payload(const mproc_args_t *args, size_t index, int type,
                              const unsigned char **p)
{
    if (!args)
        return MPROC_EINVAL;
    if (index >= args->count)
        return MPROC_ERANGE;
    if (item_type(args, index) != type)
        return MPROC_ETYPE;
    *p = args->buf.data + args->offsets[index] + 1;
    return MPROC_OK;
}

static mproc_status_t get_fixed(const mproc_args_t *args, size_t index, int type, void *out,
                                size_t n)
{
    const unsigned char *p;
    if (!out)
        return MPROC_EINVAL;
    mproc_status_t st = payload(args, index, type, &p);
    if (!st)
        memcpy(out, p, n);
    return st;
}

mproc_status_t mproc_args_get_int(const mproc_args_t *args, size_t index, int64_t *out)
{
    return get_fixed(args, index, MPROC_ARG_INT, out, sizeof *out);
}

mproc_status_t mproc_args_get_double(const mproc_args_t *args, size_t index, double *out)
{
    return get_fixed(args, index, MPROC_ARG_DOUBLE, out, sizeof *out);
}

/* Object payload: kind u8, flags u8, count u8, then MPROC__OBJ_MAX_HANDLES i64. */
#define OBJ_BYTES (3 + 8 * MPROC__OBJ_MAX_HANDLES)

mproc_status_t mproc__args_add_object(mproc_args_t *args, const mproc__obj_t *obj)
{
    unsigned char p[OBJ_BYTES] = {0};
    if (!obj || obj->nhandles > MPROC__OBJ_MAX_HANDLES)
        return MPROC_EINVAL;
    p[0] = (unsigned char)obj->kind;
    p[1] = (unsigned char)obj->flags;
    p[2] = (unsigned char)obj->nhandles;
    for (size_t i = 0; i < obj->nhandles; i++) {
        int64_t v = (int64_t)obj->handles[i];
        memcpy(p + 3 + 8 * i, &v, 8);
    }
    return add_fixed(args, MPROC__ARG_OBJECT, p, sizeof p);
}

mproc_status_t mproc__args_get_object(const mproc_args_t *args, size_t index,
                                      mproc__obj_kind_t kind, mproc__obj_t *out)
{
    const unsigned char *p;
    if (!out)
        return MPROC_EINVAL;
    mproc_status_t st = payload(args, index, MPROC__ARG_OBJECT, &p);
    if (st)
        return st;
    if (p[0] != (unsigned char)kind || p[2] > MPROC__OBJ_MAX_HANDLES)
        return MPROC_ETYPE;
    out->kind = kind;
    out->flags = p[1];
    out->nhandles = p[2];
    for (size_t i = 0; i < out->nhandles; i++) {
        int64_t v;
        memcpy(&v, p + 3 + 8 * i, 8);
        out->handles[i] = (mproc__os_handle_t)v;
    }
    return MPROC_OK;
}

/* Visit every handle slot of every object item, in order. */
static size_t each_handle(const mproc_args_t *args, mproc__os_handle_t *read_into,
                          const mproc__os_handle_t *write_from)
{
    size_t k = 0;
    for (size_t i = 0; args && i < args->count; i++) {
        if (item_type(args, i) != MPROC__ARG_OBJECT)
            continue;
        unsigned char *p = args->buf.data + args->offsets[i] + 1;
        for (size_t j = 0; j < p[2]; j++, k++) {
            int64_t v;
            if (read_into) {
                memcpy(&v, p + 3 + 8 * j, 8);
                read_into[k] = (mproc__os_handle_t)v;
            }
            if (write_from) {
                v = (int64_t)write_from[k];
                memcpy(p + 3 + 8 * j, &v, 8);
            }
        }
    }
    return k;
}

mproc_status_t mproc__args_handles(const mproc_args_t *args, mproc__os_handle_t **handles,
                                   size_t *n)
{
    *n = each_handle(args, NULL, NULL);
    *handles = calloc(*n ? *n : 1, sizeof **handles);
    if (!*handles)
        return MPROC_ENOMEM;
    each_handle(args, *handles, NULL);
    return MPROC_OK;
}

void mproc__args_set_handles(mproc_args_t *args, const mproc__os_handle_t *handles)
{
    each_handle(args, NULL, handles);
}

mproc_status_t mproc__args_add_handle(mproc_args_t *args, mproc__os_handle_t h)
{
    mproc__obj_t obj = {MPROC__OBJ_RAW, 0, 1, {h, MPROC__OS_NO_HANDLE}};
    return mproc__args_add_object(args, &obj);
}

mproc_status_t mproc__args_get_handle(const mproc_args_t *args, size_t index,
                                      mproc__os_handle_t *out)
{
    mproc__obj_t obj = {MPROC__OBJ_RAW, 0, 0, {MPROC__OS_NO_HANDLE, MPROC__OS_NO_HANDLE}};
    mproc_status_t st = out ? mproc__args_get_object(args, index, MPROC__OBJ_RAW, &obj)
                            : MPROC_EINVAL;
    if (!st)
        *out = obj.handles[0];
    return st;
}

mproc_status_t mproc_args_get_str(const mproc_args_t *args, size_t index, const char **out)
{
    const unsigned char *p;
    if (!out)
        return MPROC_EINVAL;
    mproc_status_t st = payload(args, index, MPROC_ARG_STR, &p);
    if (!st)
        *out = (const char *)p + 4;
    return st;
}

mproc_status_t mproc_args_get_bytes(const mproc_args_t *args, size_t index, const void **data,
                                    size_t *len)
{
    const unsigned char *p;
    if (!data || !len)
        return MPROC_EINVAL;
    mproc_status_t st = payload(args, index, MPROC_ARG_BYTES, &p);
    if (!st) {
        uint32_t n;
        memcpy(&n, p, 4);
        *data = p + 4;
        *len = n;
    }
    return st;
}

mproc_status_t mproc__args_encode(const mproc_args_t *args, mproc__wbuf_t *out)
{
    size_t len = args ? args->buf.len : 0;
    mproc_status_t st = mproc__wbuf_put_u32(out, (uint32_t)len);
    return st || !len ? st : mproc__wbuf_put(out, args->buf.data, len);
}

/* What the readers take for granted: a string ends in its NUL, an object
 * holds at most MPROC__OBJ_MAX_HANDLES handles (item: type byte, `need` more). */
static int item_is_whole(const unsigned char *item, size_t need)
{
    if (item[0] == MPROC_ARG_STR)
        return item[need] == '\0';
    if (item[0] == MPROC__ARG_OBJECT)
        return item[3] <= MPROC__OBJ_MAX_HANDLES;
    return 1;
}

/* Walk an encoded buffer and rebuild the offset index, refusing anything malformed. */
static mproc_status_t index_items(mproc_args_t *a)
{
    size_t pos = 0;
    while (pos < a->buf.len) {
        unsigned char type = a->buf.data[pos];
        size_t need;
        if (type == MPROC_ARG_INT || type == MPROC_ARG_DOUBLE) {
            need = 8;
        } else if (type == MPROC__ARG_OBJECT) {
            need = OBJ_BYTES;
        } else if (type == MPROC_ARG_STR || type == MPROC_ARG_BYTES) {
            uint32_t n;
            if (a->buf.len - pos - 1 < 4)
                return MPROC_EINVAL;
            memcpy(&n, a->buf.data + pos + 1, 4);
            need = 4 + (size_t)n + (type == MPROC_ARG_STR);
        } else {
            return MPROC_EINVAL;
        }
        if (need > a->buf.len - pos - 1 || !item_is_whole(a->buf.data + pos, need))
            return MPROC_EINVAL;
        mproc_status_t st = reserve_offset(a);
        if (st)
            return st;
        a->offsets[a->count++] = pos;
        pos += 1 + need;
    }
    return MPROC_OK;
}

static mproc_status_t from_bytes(const void *data, size_t len, mproc_args_t **out)
{
    mproc_args_t *a;
    mproc_status_t st = mproc_args_create(&a);
    if (st)
        return st;
    st = mproc__wbuf_put(&a->buf, data, len);
    if (!st)
        st = index_items(a);
    if (st) {
        mproc_args_free(a);
        return st;
    }
    *out = a;
    return MPROC_OK;
}

mproc_status_t mproc__args_decode(mproc__rbuf_t *in, mproc_args_t **out)
{
    uint32_t len;
    *out = NULL;
    mproc_status_t st = mproc__rbuf_get_u32(in, &len);
    if (st)
        return st;
    if (len > in->len - in->pos || len > MPROC_ARGS_MAX_BYTES)
        return MPROC_EINVAL;
    st = from_bytes(in->data + in->pos, len, out);
    if (!st)
        in->pos += len;
    return st;
}

mproc_status_t mproc__args_clone(const mproc_args_t *src, mproc_args_t **out)
{
    if (!src)
        return mproc_args_create(out);
    return from_bytes(src->buf.data, src->buf.len, out);
}
