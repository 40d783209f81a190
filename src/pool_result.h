/*
 * The pool's results, shared by the pool (which completes them on its handler
 * thread), AsyncResult (pool_result.c) and the imap iterators (pool_iter.c).
 * A result may outlive its pool: both hold the hub, which is freed with the
 * last of them.
 */
#ifndef MPROC_POOL_RESULT_H
#define MPROC_POOL_RESULT_H

#include <apr_pools.h>

#include "core.h"

/* The lock and signal a pool shares with its results, which may outlive it.
 * The OS's own (platform.h), not APR's: a result's waiter is woken once per
 * apply, and under Wine APR's condition costs two wineserver requests there. */
typedef struct hub {
    apr_pool_t *mem;
    mproc__os_mutex_t lock;
    mproc__os_cond_t changed;
    int refs;
} hub_t;

typedef struct item {
    int done;
    mproc_status_t status; /* MPROC_OK, ETASK, EWORKERLOST or ECLOSED */
    int code;
    unsigned char *data;   /* the output, or the failure's NUL-terminated message */
    size_t len;
} item_t;

struct mproc_async_result {
    hub_t *hub;
    int refs;              /* the caller's, and the pool's until callbacks ran */
    size_t n, remaining;
    item_t *items;         /* NULL for a fixed-size map, whose outputs go to `out` */
    unsigned char *out;
    size_t out_size;
    int complete;          /* every item done: accessors work (callbacks see this) */
    int ready;             /* and callbacks ran: get() and wait() return (as Python) */
    mproc_status_t status; /* the first failure, or MPROC_OK */
    size_t fail_index;
    int fail_code;
    char *fail_message;
    mproc_result_callback callback, error_callback;
    void *user;
    int lent_sends;        /* sends reading the caller's memory right now */
    size_t *order;         /* iterators: indexes in completion order */
    size_t ndone, taken, next, last;
    int ordered;
};

struct mproc_pool_iter {
    mproc_async_result_t *r;
};

mproc_status_t mproc__hub_create(hub_t **out);
/* One wait for a change, lock held: MPROC_ETIMEDOUT once the deadline
 * (< 0: none) has passed. Callers loop on their own condition. */
mproc_status_t mproc__hub_wait(hub_t *h, double deadline);
/* Called with the lock held; it is released (and maybe destroyed) here. */
void mproc__hub_unref_unlock(hub_t *h);

/* A result of n items (with_items 0: a fixed-size map writing to `out`),
 * referenced by the caller and by the pool until its callbacks ran. */
mproc_async_result_t *mproc__result_new(hub_t *hub, size_t n, int with_items);
void mproc__result_destroy(mproc_async_result_t *r);
/* Record one item's outcome (lock held). `data` is taken over. */
void mproc__result_complete_item(mproc_async_result_t *r, size_t i, mproc_status_t status,
                                 int code, unsigned char *data, size_t len);
/* Wait with the hub's lock held until done(r) or the deadline. */
mproc_status_t mproc__result_wait_locked(mproc_async_result_t *r,
                                         int (*done)(mproc_async_result_t *), double deadline);

#endif
