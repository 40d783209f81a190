/*
 * mproc_args_pack() / mproc_args_unpack(): one format string instead of one
 * call and one status check per argument (Python's PyArg_ParseTuple /
 * Py_BuildValue). Above args.c, connection.c and queue.c, which it calls.
 *
 * unpack walks the variable arguments up to three times: clear every
 * out-pointer and check the types, then fill, then (only if creating an
 * object failed half-way) free what was made. So a failure leaves nothing set
 * and nothing allocated.
 */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "core.h"

static mproc_status_t pack_one(mproc_args_t *args, char f, va_list *ap)
{
    switch (f) {
    case 'i':
        return mproc_args_add_int(args, va_arg(*ap, int));
    case 'L':
        return mproc_args_add_int(args, va_arg(*ap, int64_t));
    case 'd':
        return mproc_args_add_double(args, va_arg(*ap, double));
    case 's':
        return mproc_args_add_str(args, va_arg(*ap, const char *));
    case 'y': {
        const void *data = va_arg(*ap, const void *);
        return mproc_args_add_bytes(args, data, va_arg(*ap, size_t));
    }
    case 'c':
        return mproc_args_add_connection(args, va_arg(*ap, const mproc_connection_t *));
    case 'q':
        return mproc_args_add_queue(args, va_arg(*ap, const mproc_queue_t *));
    default:
        return MPROC_EINVAL;
    }
}

mproc_status_t mproc_args_pack(mproc_args_t *args, const char *format, ...)
{
    if (!args || !format)
        return MPROC_EINVAL;
    size_t before = mproc_args_count(args);
    mproc_status_t st = MPROC_OK;
    va_list ap;
    va_start(ap, format);
    for (const char *f = format; *f && !st; f++)
        st = pack_one(args, *f, &ap);
    va_end(ap);
    if (st)
        mproc__args_truncate(args, before);
    return st;
}

static int letter_type(char f)
{
    switch (f) {
    case 'i':
    case 'L':
        return MPROC_ARG_INT;
    case 'd':
        return MPROC_ARG_DOUBLE;
    case 's':
        return MPROC_ARG_STR;
    case 'y':
        return MPROC_ARG_BYTES;
    case 'c':
        return MPROC_ARG_CONNECTION;
    case 'q':
        return MPROC_ARG_QUEUE;
    default:
        return -1;
    }
}

/* Clear the out-pointer(s) of letter `f`; with `release`, free an object first. */
static mproc_status_t clear_one(char f, va_list *ap, int release)
{
    void *p = va_arg(*ap, void *);
    size_t *len = f == 'y' ? va_arg(*ap, size_t *) : NULL;
    if (len)
        *len = 0;
    if (!p || (f == 'y' && !len))
        return MPROC_EINVAL;
    switch (f) {
    case 'i':
        *(int *)p = 0;
        break;
    case 'L':
        *(int64_t *)p = 0;
        break;
    case 'd':
        *(double *)p = 0.0;
        break;
    case 's':
        *(const char **)p = NULL;
        break;
    case 'y':
        *(const void **)p = NULL;
        break;
    case 'c':
        if (release)
            mproc_connection_free(*(mproc_connection_t **)p);
        *(mproc_connection_t **)p = NULL;
        break;
    case 'q':
        if (release)
            mproc_queue_free(*(mproc_queue_t **)p);
        *(mproc_queue_t **)p = NULL;
        break;
    }
    return MPROC_OK;
}

static mproc_status_t fill_one(const mproc_args_t *args, size_t i, char f, va_list *ap)
{
    void *p = va_arg(*ap, void *);
    mproc_status_t st;
    switch (f) {
    case 'i': {
        int64_t v = 0;
        st = mproc_args_get_int(args, i, &v);
        if (!st && (v < INT_MIN || v > INT_MAX))
            st = MPROC_ETOOBIG;
        if (!st)
            *(int *)p = (int)v;
        return st;
    }
    case 'L':
        return mproc_args_get_int(args, i, p);
    case 'd':
        return mproc_args_get_double(args, i, p);
    case 's':
        return mproc_args_get_str(args, i, p);
    case 'y':
        return mproc_args_get_bytes(args, i, p, va_arg(*ap, size_t *));
    case 'c':
        return mproc_args_get_connection(args, i, p);
    default: /* 'q': the letters were checked */
        return mproc_args_get_queue(args, i, p);
    }
}

/* Check the letters against the list's types and clear every out-pointer. */
static mproc_status_t check_and_clear(const mproc_args_t *args, const char *format, va_list *ap)
{
    mproc_status_t st = MPROC_OK, first = MPROC_OK;
    size_t i = 0;
    for (const char *f = format; *f; f++, i++) {
        int type = letter_type(*f);
        if (type < 0)
            return MPROC_EINVAL; /* an unknown letter: the rest cannot be walked */
        st = clear_one(*f, ap, 0);
        if (!first && st)
            first = st;
        if (!first && i >= mproc_args_count(args))
            first = MPROC_ERANGE;
        if (!first && (int)mproc_args_type(args, i) != type)
            first = MPROC_ETYPE;
    }
    if (!first && i != mproc_args_count(args))
        first = MPROC_ERANGE;
    return first;
}

mproc_status_t mproc_args_unpack(const mproc_args_t *args, const char *format, ...)
{
    if (!args || !format)
        return MPROC_EINVAL;
    va_list ap;
    va_start(ap, format);
    mproc_status_t st = check_and_clear(args, format, &ap);
    va_end(ap);
    if (st)
        return st;
    size_t i = 0;
    va_start(ap, format);
    for (const char *f = format; *f && !st; f++, i++)
        st = fill_one(args, i, *f, &ap);
    va_end(ap);
    if (st) {
        /* Undo the items filled before the failing one, and clear that one. */
        va_start(ap, format);
        for (size_t k = 0; k < i; k++)
            (void)clear_one(format[k], &ap, k + 1 < i);
        va_end(ap);
    }
    return st;
}
