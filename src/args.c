/*
 * An argument list is its own encoding: a byte buffer of [type][payload]
 * items plus an offset index. Fork children read it in place and spawned
 * children receive the same bytes, so both see identical values.
 *
 * A list the user builds owns a duplicate of every handle in it (args.h's
 * ownership rule): the caller may free its object at once, and the list
 * closes its duplicates when freed. A decoded list (a spawned child's, a
 * starmap item) and a list whose handles were replaced by another process's
 * values own none.
 */
#include <stdlib.h>
#include <string.h>

#include "args_internal.h"

struct mproc_args {
    mproc__wbuf_t buf;
    size_t *offsets; /* where each item's type byte is */
    size_t count;
    size_t offsets_cap;
    int owns_handles;
};

mproc_status_t mproc_args_create(mproc_args_t **out)
{
    if (!out)
        return MPROC_EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return MPROC_ENOMEM;
    (*out)->owns_handles = 1;
    return MPROC_OK;
}

static void close_owned_handles(mproc_args_t *args);

void mproc_args_free(mproc_args_t *args)
{
    if (!args)
        return;
    close_owned_handles(args);
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
    if (t != MPROC__ARG_OBJECT)
        return (mproc_arg_type_t)t;
    int kind = args->buf.data[args->offsets[index] + 1]; /* the object's kind */
    switch (kind) {
    case MPROC__OBJ_CONNECTION:
        return MPROC_ARG_CONNECTION;
    case MPROC__OBJ_QUEUE:
        return MPROC_ARG_QUEUE;
    default: /* sync and shared objects are numbered as their public type */
        return kind >= MPROC__OBJ_PUBLIC_KINDS ? (mproc_arg_type_t)kind : MPROC_ARG_NONE;
    }
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
    memset(out, 0, n);
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

static void close_all(const mproc__os_handle_t *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mproc__os_close(h[i]);
}

/* Duplicate n handles into `out`; on failure none is left open. */
static mproc_status_t dup_all(const mproc__os_handle_t *h, size_t n, mproc__os_handle_t *out)
{
    mproc_status_t st = MPROC_OK;
    size_t done = 0;
    for (; done < n && !st; done++)
        st = mproc__os_dup(h[done], &out[done]);
    if (st)
        close_all(out, done - 1);
    return st;
}

mproc_status_t mproc__args_add_object(mproc_args_t *args, const mproc__obj_t *obj)
{
    unsigned char p[OBJ_BYTES] = {0};
    mproc__os_handle_t own[MPROC__OBJ_MAX_HANDLES];
    if (!args || !obj || obj->nhandles > MPROC__OBJ_MAX_HANDLES)
        return MPROC_EINVAL;
    mproc_status_t st = args->owns_handles ? dup_all(obj->handles, obj->nhandles, own)
                                           : MPROC_OK;
    if (st)
        return st;
    p[0] = (unsigned char)obj->kind;
    p[1] = (unsigned char)obj->flags;
    p[2] = (unsigned char)obj->nhandles;
    for (size_t i = 0; i < obj->nhandles; i++) {
        int64_t v = (int64_t)(args->owns_handles ? own[i] : obj->handles[i]);
        memcpy(p + 3 + 8 * i, &v, 8);
    }
    st = add_fixed(args, MPROC__ARG_OBJECT, p, sizeof p);
    if (st && args->owns_handles)
        close_all(own, obj->nhandles);
    return st;
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

static void close_owned_handles(mproc_args_t *args)
{
    if (!args->owns_handles)
        return;
    for (size_t i = 0; i < args->count; i++) {
        if (item_type(args, i) != MPROC__ARG_OBJECT)
            continue;
        const unsigned char *p = args->buf.data + args->offsets[i] + 1;
        for (size_t j = 0; j < p[2]; j++) {
            int64_t v;
            memcpy(&v, p + 3 + 8 * j, 8);
            mproc__os_close((mproc__os_handle_t)v);
        }
    }
    args->owns_handles = 0;
}

void mproc__args_set_handles(mproc_args_t *args, const mproc__os_handle_t *handles)
{
    close_owned_handles(args);
    each_handle(args, NULL, handles);
}

void mproc__args_truncate(mproc_args_t *args, size_t count)
{
    if (count >= args->count)
        return;
    size_t keep = args->count;
    int owns = args->owns_handles;
    /* Close the dropped items' duplicates: make them the whole list for a moment. */
    size_t *all = args->offsets;
    args->offsets += count;
    args->count = keep - count;
    close_owned_handles(args);
    args->offsets = all;
    args->owns_handles = owns;
    args->buf.len = args->offsets[count];
    args->count = count;
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
    *out = NULL;
    mproc_status_t st = payload(args, index, MPROC_ARG_STR, &p);
    if (!st)
        *out = (const char *)p + 4;
    return st;
}

mproc_status_t mproc_args_get_bytes(const mproc_args_t *args, size_t index, const void **data,
                                    size_t *len)
{
    const unsigned char *p;
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
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

/* Copy src's item i to dst as it is (its handles, if any, are not dst's own). */
static mproc_status_t append_raw(mproc_args_t *dst, const mproc_args_t *src, size_t i)
{
    size_t start = src->offsets[i];
    size_t end = i + 1 < src->count ? src->offsets[i + 1] : src->buf.len;
    if (dst->buf.len + (end - start) > MPROC_ARGS_MAX_BYTES)
        return MPROC_ETOOBIG;
    mproc_status_t st = reserve_offset(dst);
    size_t at = dst->buf.len;
    if (!st)
        st = mproc__wbuf_put(&dst->buf, src->buf.data + start, end - start);
    if (!st)
        dst->offsets[dst->count++] = at;
    return st;
}

mproc_status_t mproc__args_append(mproc_args_t *dst, const mproc_args_t *src, size_t from)
{
    mproc_status_t st = MPROC_OK;
    for (size_t i = from; src && i < src->count && !st; i++) {
        if (dst->owns_handles && item_type(src, i) == MPROC__ARG_OBJECT) {
            /* dst closes what it holds when freed: give it duplicates of its own. */
            const unsigned char *p = src->buf.data + src->offsets[i] + 1;
            mproc__obj_t obj;
            st = mproc__args_get_object(src, i, (mproc__obj_kind_t)p[0], &obj);
            if (!st)
                st = mproc__args_add_object(dst, &obj);
        } else {
            st = append_raw(dst, src, i);
        }
    }
    return st;
}

mproc_status_t mproc__args_encode(const mproc_args_t *args, mproc__wbuf_t *out)
{
    size_t len = args ? args->buf.len : 0;
    mproc_status_t st = mproc__wbuf_put_u32(out, (uint32_t)len);
    return st || !len ? st : mproc__wbuf_put(out, args->buf.data, len);
}

/* Is the item at `p` (its payload, `need` bytes, all present) well formed? */
static int item_valid(unsigned char type, const unsigned char *p, size_t need)
{
    if (type == MPROC_ARG_STR) /* its terminating NUL, and no other: get_str returns a C string */
        return p[need - 1] == '\0' && !memchr(p + 4, '\0', need - 5);
    if (type == MPROC__ARG_OBJECT)
        return p[2] <= MPROC__OBJ_MAX_HANDLES;
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
        if (need > a->buf.len - pos - 1 || !item_valid(type, a->buf.data + pos + 1, need))
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
    a->owns_handles = 0; /* the handles are a copy's or another process's */
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
    mproc_args_t *a = NULL;
    mproc__os_handle_t *h = NULL, *own = NULL;
    size_t n = 0;
    *out = NULL;
    mproc_status_t st = from_bytes(src->buf.data, src->buf.len, &a);
    if (!st)
        st = mproc__args_handles(a, &h, &n);
    if (!st && n)
        st = (own = calloc(n, sizeof *own)) != NULL ? dup_all(h, n, own) : MPROC_ENOMEM;
    if (!st) {
        /* The copy owns duplicates of its own: source and copy are freed independently. */
        each_handle(a, NULL, own);
        a->owns_handles = 1;
        *out = a;
    } else {
        mproc_args_free(a);
    }
    free(h);
    free(own);
    return st;
}
