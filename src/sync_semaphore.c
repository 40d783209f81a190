/*
 * Semaphore and BoundedSemaphore: the counter is a word in shared memory, so
 * every platform can read it (get_value) and an uncontended acquire or
 * release is one compare-and-swap. Waiters sleep on the block's semaphore; a
 * release posts only when it sees a sleeper (sync_obj.c's handshake).
 */
#include <stdlib.h>

#include "atomic.h"
#include "fault.h"
#include "mproc/sync.h"
#include "sync_obj.h"

typedef struct sem_block {
    mproc__sync_head_t head;
    volatile int64_t value;
    int64_t bound; /* BoundedSemaphore: the largest value; 0: unbounded */
    volatile int64_t sleepers;
} sem_block_t;

struct mproc_semaphore {
    mproc__sync_t obj;
};

#define MAX_VALUE INT32_MAX

#define BLOCK(s) ((sem_block_t *)(s)->obj.shm.addr)

static mproc_status_t create(mproc_semaphore_t **out, int64_t value, int bounded)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    if (value < 0 || value > MAX_VALUE)
        return MPROC_EINVAL;
    mproc__sync_t obj;
    mproc_status_t st = mproc__sync_create(&obj, MPROC__OBJ_SEMAPHORE, sizeof(sem_block_t));
    if (st)
        return st;
    sem_block_t *b = (sem_block_t *)obj.shm.addr;
    b->value = value;
    b->bound = bounded ? value : 0;
    *out = mproc__sync_view_new(&obj, sizeof **out);
    return *out ? MPROC_OK : MPROC_ENOMEM;
}

mproc_status_t mproc_semaphore_create(mproc_semaphore_t **out, int64_t value)
{
    return create(out, value, 0);
}

mproc_status_t mproc_bounded_semaphore_create(mproc_semaphore_t **out, int64_t value)
{
    return create(out, value, 1);
}

static int try_take(void *ctx)
{
    sem_block_t *b = ctx;
    for (int64_t v = mproc__load(&b->value); v > 0; v = mproc__load(&b->value))
        if (mproc__cas(&b->value, v, v - 1))
            return 1;
    return 0;
}

mproc_status_t mproc_semaphore_acquire(mproc_semaphore_t *s, int block, double timeout)
{
    double deadline;
    if (!s)
        return MPROC_EINVAL;
    mproc_status_t st = mproc__sync_deadline(block, timeout, &deadline);
    if (st)
        return st;
    if (!try_take(BLOCK(s)))
        st = mproc__sync_sleep(&s->obj, 0, &BLOCK(s)->sleepers, try_take, BLOCK(s), deadline);
    if (!st)
        MPROC_KILL_POINT("semaphore.acquire.after_take");
    return st;
}

mproc_status_t mproc_semaphore_release(mproc_semaphore_t *s)
{
    if (!s)
        return MPROC_EINVAL;
    sem_block_t *b = BLOCK(s);
    int64_t limit = b->bound ? b->bound : MAX_VALUE;
    for (;;) {
        int64_t v = mproc__load(&b->value);
        if (v >= limit)
            return MPROC_EOVERRELEASE;
        if (mproc__cas(&b->value, v, v + 1))
            break;
    }
    MPROC_KILL_POINT("semaphore.release.after_count");
    mproc__sync_wake(&s->obj, 0, &b->sleepers, 1);
    return MPROC_OK;
}

mproc_status_t mproc_semaphore_get_value(const mproc_semaphore_t *s, int64_t *value)
{
    if (!value)
        return MPROC_EINVAL;
    *value = 0;
    if (!s)
        return MPROC_EINVAL;
    *value = mproc__load(&BLOCK(s)->value);
    return MPROC_OK;
}

void mproc_semaphore_free(mproc_semaphore_t *s)
{
    mproc__sync_view_free(s);
}

mproc_status_t mproc_args_add_semaphore(mproc_args_t *args, const mproc_semaphore_t *s)
{
    return mproc__sync_view_add_arg(args, MPROC__OBJ_SEMAPHORE, s);
}

mproc_status_t mproc_args_get_semaphore(const mproc_args_t *args, size_t index,
                                        mproc_semaphore_t **out)
{
    void *view = NULL;
    if (!out)
        return MPROC_EINVAL;
    mproc_status_t st =
        mproc__sync_view_get_arg(args, index, MPROC__OBJ_SEMAPHORE, sizeof **out, &view);
    *out = view;
    return st;
}
