/*
 * Lock and RLock inside the core: what a Condition and a shared Value need
 * beyond the public calls.
 */
#ifndef MPROC_SYNC_LOCK_H
#define MPROC_SYNC_LOCK_H

#include "lock.h"
#include "mproc/sync.h"
#include "sync_obj.h"

/* The block of a Lock or RLock. */
typedef struct lock_block {
    mproc__sync_head_t head;
    mproc__lock_t lock;          /* owner: the holder's process token */
    volatile int64_t holder;     /* the holding thread (mproc__self_thread) */
    int64_t count;               /* RLock: levels held */
    int64_t recursive;
} mproc__lock_block_t;

struct mproc_lock {
    mproc__sync_t obj;
    mproc__lock_block_t *b;
    mproc__lock_view_t view;
};

/* A view that takes `obj` (released on failure too). */
mproc_status_t mproc__lock_wrap(mproc__sync_t *obj, mproc_lock_t **out);
/* A new view (own handles) of the lock behind `obj`. */
mproc_status_t mproc__lock_open(mproc__sync_t *obj, mproc_lock_t **out);
/* Release every level the caller holds; *levels says how many (for restore). */
mproc_status_t mproc__lock_release_all(mproc_lock_t *l, int64_t *levels);
/* Take the lock back with `levels` levels, waiting without limit: MPROC_OK
 * or MPROC_EOWNERDEAD. */
mproc_status_t mproc__lock_restore(mproc_lock_t *l, int64_t levels);

#endif
