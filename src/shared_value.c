/*
 * Value and Array: one block of shared memory holding the type, the length
 * and the elements, and an RLock of its own beside it when asked for. A Value
 * is an Array of one element under another kind, so that neither is taken
 * for the other in an argument list.
 */
#include <stdlib.h>

#include "mproc/shared.h"
#include "sync_lock.h"

#define DATA_OFFSET 64 /* the elements start here: aligned for any C type */
#define MAX_BYTES ((size_t)1 << 40)

typedef struct data_block {
    mproc__sync_head_t head;
    int64_t typecode;
    int64_t n;
} data_block_t;

_Static_assert(sizeof(data_block_t) <= DATA_OFFSET, "the header fits before the data");

struct mproc_shared_data {
    mproc__sync_t obj;
    mproc_lock_t *lock;
    int kind;
};

#define BLOCK(d) ((data_block_t *)(d)->obj.shm.addr)

size_t mproc_typecode_size(char typecode)
{
    switch (typecode) {
    case 'c': return sizeof(char);
    case 'b': return sizeof(signed char);
    case 'B': return sizeof(unsigned char);
    case 'h': return sizeof(short);
    case 'H': return sizeof(unsigned short);
    case 'i': return sizeof(int);
    case 'I': return sizeof(unsigned int);
    case 'l': return sizeof(long);
    case 'L': return sizeof(unsigned long);
    case 'q': return sizeof(long long);
    case 'Q': return sizeof(unsigned long long);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    default: return 0;
    }
}

/* Takes `obj` and `lock` (NULL: none), also on failure. */
static mproc_status_t wrap(mproc__sync_t *obj, mproc_lock_t *lock, int kind,
                          mproc_value_t **out)
{
    mproc_value_t *d = calloc(1, sizeof *d);
    if (!d) {
        mproc__sync_release(obj);
        mproc_lock_free(lock);
        return MPROC_ENOMEM;
    }
    d->obj = *obj;
    d->lock = lock;
    d->kind = kind;
    *out = d;
    return MPROC_OK;
}

static mproc_status_t create(mproc_value_t **out, int kind, char typecode, size_t n, int lock)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    size_t size = mproc_typecode_size(typecode);
    if (!size)
        return MPROC_EINVAL;
    if (n > (MAX_BYTES - DATA_OFFSET) / size)
        return MPROC_ETOOBIG;
    mproc_lock_t *l = NULL;
    mproc_status_t st = lock ? mproc_rlock_create(&l) : MPROC_OK;
    if (st)
        return st;
    mproc__sync_t obj;
    st = mproc__sync_create(&obj, kind, DATA_OFFSET + (n ? n : 1) * size);
    if (st) {
        mproc_lock_free(l);
        return st;
    }
    data_block_t *b = (data_block_t *)obj.shm.addr;
    b->typecode = typecode;
    b->n = (int64_t)n;
    return wrap(&obj, l, kind, out);
}

static void *data_of(mproc_value_t *d, int kind)
{
    return d && d->kind == kind ? (char *)d->obj.shm.addr + DATA_OFFSET : NULL;
}

static mproc_lock_t *lock_of(mproc_value_t *d, int kind)
{
    return d && d->kind == kind ? d->lock : NULL;
}

static char typecode_of(const mproc_value_t *d, int kind)
{
    return d && d->kind == kind ? (char)BLOCK(d)->typecode : 0;
}

static void release(mproc_value_t *d)
{
    if (!d)
        return;
    mproc_lock_free(d->lock);
    mproc__sync_release(&d->obj);
    free(d);
}

static mproc_status_t add_arg(mproc_args_t *args, const mproc_value_t *d, int kind)
{
    if (!d || d->kind != kind)
        return MPROC_EINVAL;
    const mproc__sync_t *objs[2] = {&d->obj, d->lock ? &d->lock->obj : NULL};
    return mproc__sync_add_arg(args, kind, 0, objs, d->lock ? 2 : 1);
}

static mproc_status_t get_arg(const mproc_args_t *args, size_t index, int kind,
                              mproc_value_t **out)
{
    const int kinds[2] = {kind, MPROC__OBJ_LOCK};
    mproc__sync_t objs[2];
    mproc_lock_t *lock = NULL;
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc_status_t st = mproc__sync_get_arg(args, index, kind, kinds, objs, 2, NULL);
    if (!st && objs[1].shm.addr && (st = mproc__lock_wrap(&objs[1], &lock)) != MPROC_OK)
        mproc__sync_release(&objs[0]);
    return st ? st : wrap(&objs[0], lock, kind, out);
}

mproc_status_t mproc_value_create(mproc_value_t **out, char typecode, int lock)
{
    return create(out, MPROC__OBJ_VALUE, typecode, 1, lock);
}

void *mproc_value_ptr(mproc_value_t *v)
{
    return data_of(v, MPROC__OBJ_VALUE);
}

mproc_lock_t *mproc_value_get_lock(mproc_value_t *v)
{
    return lock_of(v, MPROC__OBJ_VALUE);
}

char mproc_value_typecode(const mproc_value_t *v)
{
    return typecode_of(v, MPROC__OBJ_VALUE);
}

void mproc_value_free(mproc_value_t *v)
{
    release(v);
}

mproc_status_t mproc_args_add_value(mproc_args_t *args, const mproc_value_t *v)
{
    return add_arg(args, v, MPROC__OBJ_VALUE);
}

mproc_status_t mproc_args_get_value(const mproc_args_t *args, size_t index, mproc_value_t **out)
{
    return get_arg(args, index, MPROC__OBJ_VALUE, out);
}

mproc_status_t mproc_array_create(mproc_array_t **out, char typecode, size_t n, int lock)
{
    return create(out, MPROC__OBJ_ARRAY, typecode, n, lock);
}

void *mproc_array_ptr(mproc_array_t *a)
{
    return data_of(a, MPROC__OBJ_ARRAY);
}

size_t mproc_array_len(const mproc_array_t *a)
{
    return a && a->kind == MPROC__OBJ_ARRAY ? (size_t)BLOCK(a)->n : 0;
}

mproc_lock_t *mproc_array_get_lock(mproc_array_t *a)
{
    return lock_of(a, MPROC__OBJ_ARRAY);
}

char mproc_array_typecode(const mproc_array_t *a)
{
    return typecode_of(a, MPROC__OBJ_ARRAY);
}

void mproc_array_free(mproc_array_t *a)
{
    release(a);
}

mproc_status_t mproc_args_add_array(mproc_args_t *args, const mproc_array_t *a)
{
    return add_arg(args, a, MPROC__OBJ_ARRAY);
}

mproc_status_t mproc_args_get_array(const mproc_args_t *args, size_t index, mproc_array_t **out)
{
    return get_arg(args, index, MPROC__OBJ_ARRAY, out);
}
