/*
 * Blocks of shared memory with their semaphores (sync_obj.h): creation,
 * travel in argument lists, and the sleep that every object's wait uses.
 */
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "core.h"
#include "fault.h"
#include "sync_obj.h"

#define MAGIC 0x6d70726f73796e63LL /* "mprosync" */
#define MAX_BLOCK ((int64_t)1 << 40)
/* A sleeper looks again after FIRST_SLICE, then after twice as long each
 * time up to LONGEST_SLICE: a wake-up another sleeper took costs at most
 * that, and a long idle wait wakes twice a second. */
#define FIRST_SLICE 0.05
#define LONGEST_SLICE 0.5

static void clear(mproc__sync_t *o)
{
    memset(o, 0, sizeof *o);
    o->shm.handle = MPROC__OS_NO_HANDLE;
}

void mproc__sync_release(mproc__sync_t *o)
{
    for (int i = 0; i < MPROC__SYNC_SEMS; i++)
        mproc__os_sem_close(o->sems[i]);
    if (o->shm.addr)
        mproc__os_shm_release(&o->shm);
    clear(o);
}

mproc_status_t mproc__sync_create(mproc__sync_t *o, int kind, size_t size)
{
    clear(o);
    if (!mproc__g.initialized)
        return MPROC_ENOTINIT;
    mproc_status_t st = mproc__os_shm_create(size, &o->shm);
    for (int i = 0; i < MPROC__SYNC_SEMS && !st; i++)
        st = mproc__os_sem_create(0, &o->sems[i]);
    if (st) {
        mproc__sync_release(o);
        return st;
    }
    /* New shared memory reads as zeros everywhere: only the header is written. */
    mproc__sync_head_t *h = (mproc__sync_head_t *)o->shm.addr;
    h->kind = kind;
    h->size = (int64_t)size;
    h->magic = MAGIC;
    return MPROC_OK;
}

/* Map the block behind `h` (taken on success), whose size is in its header. */
static mproc_status_t attach(mproc__os_handle_t h, int kind, mproc__os_shm_t *out)
{
    mproc__os_handle_t again = MPROC__OS_NO_HANDLE;
    mproc__os_shm_t probe;
    mproc_status_t st = mproc__os_dup(h, &again);
    if (st)
        return st;
    st = mproc__os_shm_attach(again, sizeof(mproc__sync_head_t), &probe);
    if (st) {
        mproc__os_close(again);
        return st;
    }
    mproc__sync_head_t head = *(mproc__sync_head_t *)probe.addr;
    mproc__os_shm_release(&probe);
    if (head.magic != MAGIC || (kind && head.kind != kind) ||
        head.size < (int64_t)sizeof head || head.size > MAX_BLOCK)
        return MPROC_ETYPE;
    return mproc__os_shm_attach(h, (size_t)head.size, out);
}

/* A view from handles this view does not own (they are duplicated). */
static mproc_status_t open_handles(const mproc__os_handle_t *hs, int kind, mproc__sync_t *o)
{
    mproc__os_handle_t own[1 + MPROC__SYNC_SEMS];
    clear(o);
    for (int i = 0; i <= MPROC__SYNC_SEMS; i++)
        own[i] = MPROC__OS_NO_HANDLE;
    mproc_status_t st = MPROC_OK;
    for (int i = 0; i <= MPROC__SYNC_SEMS && !st; i++)
        st = mproc__os_dup(hs[i], &own[i]);
    if (!st && (st = attach(own[0], kind, &o->shm)) == MPROC_OK)
        own[0] = MPROC__OS_NO_HANDLE;
    for (int i = 0; i < MPROC__SYNC_SEMS && !st; i++)
        if ((st = mproc__os_sem_open(own[i + 1], &o->sems[i])) == MPROC_OK)
            own[i + 1] = MPROC__OS_NO_HANDLE;
    for (int i = 0; i <= MPROC__SYNC_SEMS; i++)
        mproc__os_close(own[i]);
    if (st)
        mproc__sync_release(o);
    return st;
}

static void handles_of(const mproc__sync_t *o, mproc__os_handle_t *hs)
{
    hs[0] = o->shm.handle;
    for (int i = 0; i < MPROC__SYNC_SEMS; i++)
        hs[i + 1] = mproc__os_sem_handle(o->sems[i]);
}

mproc_status_t mproc__sync_dup(const mproc__sync_t *from, mproc__sync_t *o)
{
    mproc__os_handle_t hs[1 + MPROC__SYNC_SEMS];
    handles_of(from, hs);
    return open_handles(hs, 0, o);
}

#define PER_BLOCK (1 + MPROC__SYNC_SEMS)

mproc_status_t mproc__sync_add_arg(mproc_args_t *args, int kind, unsigned flags,
                                   const mproc__sync_t *const *objs, size_t n)
{
    if (!args || n * PER_BLOCK > MPROC__OBJ_MAX_HANDLES)
        return MPROC_EINVAL;
    mproc__obj_t obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = (mproc__obj_kind_t)kind;
    obj.flags = flags;
    obj.nhandles = n * PER_BLOCK;
    for (size_t i = 0; i < n; i++)
        handles_of(objs[i], obj.handles + i * PER_BLOCK);
    return mproc__args_add_object(args, &obj);
}

mproc_status_t mproc__sync_get_arg(const mproc_args_t *args, size_t index, int kind,
                                   const int *kinds, mproc__sync_t *objs, size_t n,
                                   unsigned *flags)
{
    mproc__obj_t obj;
    memset(&obj, 0, sizeof obj);
    for (size_t i = 0; i < n; i++)
        clear(&objs[i]);
    mproc_status_t st = mproc__args_get_object(args, index, (mproc__obj_kind_t)kind, &obj);
    if (!st && (obj.nhandles == 0 || obj.nhandles % PER_BLOCK || obj.nhandles > n * PER_BLOCK))
        st = MPROC_ETYPE;
    size_t opened = 0;
    for (; opened < obj.nhandles / PER_BLOCK && !st; opened++)
        st = open_handles(obj.handles + opened * PER_BLOCK, kinds[opened], &objs[opened]);
    if (st) {
        for (size_t i = 0; i < opened; i++)
            mproc__sync_release(&objs[i]);
        return st;
    }
    if (flags)
        *flags = obj.flags;
    return MPROC_OK;
}

void *mproc__sync_view_new(mproc__sync_t *obj, size_t view_size)
{
    mproc__sync_t *view = calloc(1, view_size);
    if (!view) {
        mproc__sync_release(obj);
        return NULL;
    }
    *view = *obj;
    return view;
}

void mproc__sync_view_free(void *view)
{
    if (!view)
        return;
    mproc__sync_release((mproc__sync_t *)view);
    free(view);
}

mproc_status_t mproc__sync_view_add_arg(mproc_args_t *args, int kind, const void *view)
{
    if (!view)
        return MPROC_EINVAL;
    const mproc__sync_t *objs[1] = {(const mproc__sync_t *)view};
    return mproc__sync_add_arg(args, kind, 0, objs, 1);
}

mproc_status_t mproc__sync_view_get_arg(const mproc_args_t *args, size_t index, int kind,
                                        size_t view_size, void **out)
{
    mproc__sync_t obj;
    const int kinds[1] = {kind};
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    mproc_status_t st = mproc__sync_get_arg(args, index, kind, kinds, &obj, 1, NULL);
    if (st)
        return st;
    *out = mproc__sync_view_new(&obj, view_size);
    return *out ? MPROC_OK : MPROC_ENOMEM;
}

mproc_status_t mproc__sync_sleep(mproc__sync_t *o, int sem, volatile int64_t *sleepers,
                                 int (*ready)(void *ctx), void *ctx, double deadline)
{
    double slice = FIRST_SLICE;
    for (;; slice = slice * 2 < LONGEST_SLICE ? slice * 2 : LONGEST_SLICE) {
        int r = ready(ctx);
        if (r)
            return r > 0 ? MPROC_OK : r;
        double now = mproc__os_now();
        if (deadline >= 0 && now >= deadline)
            return MPROC_ETIMEDOUT;
        /* Counted first, then the last look: a waker that changed the state
         * before the count is seen here, one that changed it after sees it. */
        mproc__add(sleepers, 1);
        MPROC_KILL_POINT("sync.sleep.after_count");
        r = ready(ctx);
        if (r) {
            mproc__add(sleepers, -1);
            return r > 0 ? MPROC_OK : r;
        }
        double until = now + slice;
        if (deadline >= 0 && until > deadline)
            until = deadline;
        mproc_status_t st = mproc__os_sem_wait(o->sems[sem], until);
        mproc__add(sleepers, -1);
        if (st && st != MPROC_ETIMEDOUT)
            return st;
    }
}

void mproc__sync_wake(mproc__sync_t *o, int sem, volatile int64_t *sleepers, int64_t n)
{
    int64_t asleep = mproc__load(sleepers);
    for (int64_t i = 0; i < n && i < asleep; i++)
        (void)mproc__os_sem_post(o->sems[sem]);
}

mproc_status_t mproc__sync_deadline(int block, double timeout, double *deadline)
{
    if (timeout != timeout)
        return MPROC_EINVAL;
    if (!block) {
        *deadline = 0.0;
        return MPROC_OK;
    }
    return mproc__deadline(timeout, deadline);
}
