/*
 * What every synchronisation object and shared value is made of: a block of
 * anonymous shared memory that starts with a header naming its kind, and two
 * semaphores to sleep on. Nothing has a name, so nothing outlives the last
 * process that uses it, killed or not. An object reaches a child as an
 * argument item holding the handles of one or more such blocks.
 */
#ifndef MPROC_SYNC_OBJ_H
#define MPROC_SYNC_OBJ_H

#include "args_internal.h"
#include "platform.h"

#define MPROC__SYNC_SEMS 2

/* The first bytes of every block. */
typedef struct mproc__sync_head {
    int64_t magic;
    int64_t kind; /* an mproc__obj_kind_t */
    int64_t size; /* of the whole block */
    volatile int64_t light_users; /* always 0: a lock here uses full fences */
} mproc__sync_head_t;

/* This process's view of one block. */
typedef struct mproc__sync {
    mproc__os_shm_t shm;
    mproc__os_sem_t *sems[MPROC__SYNC_SEMS];
} mproc__sync_t;

/* A new zeroed block of `size` bytes (header included) of `kind`.
 * MPROC_ENOTINIT before mproc_init(); OS errors. */
mproc_status_t mproc__sync_create(mproc__sync_t *o, int kind, size_t size);
/* Another view of the same block (own handles): for an object that keeps a
 * reference to another (a Condition to its lock). */
mproc_status_t mproc__sync_dup(const mproc__sync_t *from, mproc__sync_t *o);
void mproc__sync_release(mproc__sync_t *o);

/* An argument item of `kind` (flags free for the caller) holding n blocks. */
mproc_status_t mproc__sync_add_arg(mproc_args_t *args, int kind, unsigned flags,
                                   const mproc__sync_t *const *objs, size_t n);
/* Open the blocks of item `index`, which must be of `kind` with 1 to n
 * blocks (those it lacks are left cleared: shm.addr NULL); kinds[i] is what
 * block i must be (0: any). On failure nothing stays open. */
mproc_status_t mproc__sync_get_arg(const mproc_args_t *args, size_t index, int kind,
                                   const int *kinds, mproc__sync_t *objs, size_t n,
                                   unsigned *flags);

/* Views on the heap: a struct of `view_size` bytes whose first member is an
 * mproc__sync_t. view_new takes `obj` (released on failure: NULL). */
void *mproc__sync_view_new(mproc__sync_t *obj, size_t view_size);
void mproc__sync_view_free(void *view); /* NULL is ignored */
/* A view's one block as an argument item of `kind`, and back: `*out` NULL on
 * failure (MPROC_EINVAL for NULL view or out). */
mproc_status_t mproc__sync_view_add_arg(mproc_args_t *args, int kind, const void *view);
mproc_status_t mproc__sync_view_get_arg(const mproc_args_t *args, size_t index, int kind,
                                        size_t view_size, void **out);

/* Wait on semaphore `sem` of `o` until ready(ctx) is non-zero (it then
 * returns MPROC_OK for > 0, the status itself for < 0) or the deadline (< 0:
 * none) passes (MPROC_ETIMEDOUT). The sleeper counts itself in *sleepers
 * before its last look; it looks again after 50 ms, then after longer
 * slices up to 0.5 s, so a wake-up taken by another sleeper only delays it. */
mproc_status_t mproc__sync_sleep(mproc__sync_t *o, int sem, volatile int64_t *sleepers,
                                 int (*ready)(void *ctx), void *ctx, double deadline);
/* Wake up to n of the sleepers counted in *sleepers. */
void mproc__sync_wake(mproc__sync_t *o, int sem, volatile int64_t *sleepers, int64_t n);

/* A timeout (timeout.h) as a deadline; block 0 polls. MPROC_EINVAL for NaN. */
mproc_status_t mproc__sync_deadline(int block, double timeout, double *deadline);

#endif
