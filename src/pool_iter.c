/* The imap / imap_unordered iterators: one result, taken an item at a time. */
#include <stdlib.h>

#include "pool_result.h"

static int next_available(mproc_async_result_t *r)
{
    if (r->ordered)
        return r->next >= r->n || r->items[r->next].done;
    return r->taken >= r->n || r->taken < r->ndone;
}

mproc_status_t mproc_pool_iter_next(mproc_pool_iter_t *it, double timeout, const void **data,
                                    size_t *len, size_t *index)
{
    double deadline;
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (index)
        *index = 0;
    if (!it || !data || !len || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    mproc_async_result_t *r = it->r;
    mproc__os_mutex_lock(&r->hub->lock);
    mproc_status_t st = mproc__result_wait_locked(r, next_available, deadline);
    size_t i = 0;
    if (!st && (r->ordered ? r->next >= r->n : r->taken >= r->n))
        st = MPROC_EDONE;
    if (!st) {
        i = r->ordered ? r->next++ : r->order[r->taken++];
        r->last = i;
        st = r->items[i].status;
        if (!st) {
            *data = r->items[i].data ? r->items[i].data : (const void *)"";
            *len = r->items[i].len;
        }
        if (index)
            *index = i; /* also for a failed item: which one it was */
    }
    mproc__os_mutex_unlock(&r->hub->lock);
    return st;
}

mproc_status_t mproc_pool_iter_error(const mproc_pool_iter_t *it, int *code, const char **message)
{
    if (code)
        *code = 0;
    if (message)
        *message = NULL;
    if (!it || !code || !message)
        return MPROC_EINVAL;
    const item_t *item = it->r->n ? &it->r->items[it->r->last] : NULL;
    if (!item || !item->done || !item->status)
        return MPROC_ENOTREADY;
    *code = item->code;
    *message = item->data ? (const char *)item->data : mproc_strerror(item->status);
    return MPROC_OK;
}

void mproc_pool_iter_free(mproc_pool_iter_t *it)
{
    if (!it)
        return;
    mproc_async_result_free(it->r);
    free(it);
}
