/* AsyncResult: the hub results wait on, and the calls that read a result. */
#include <apr_pools.h>
#include <stdlib.h>

#include "pool_result.h"

/* The hub's memory goes with its pool: its condition is destroyed first. */
static apr_status_t hub_cleanup(void *data)
{
    mproc__os_cond_destroy(&((hub_t *)data)->changed);
    return APR_SUCCESS;
}

mproc_status_t mproc__hub_create(hub_t **out)
{
    apr_pool_t *mem;
    if (apr_pool_create(&mem, NULL) != APR_SUCCESS)
        return MPROC_ENOMEM;
    hub_t *h = apr_pcalloc(mem, sizeof *h);
    if (mproc__os_mutex_init(&h->lock) || mproc__os_cond_init(&h->changed)) {
        apr_pool_destroy(mem);
        return MPROC_EOS;
    }
    apr_pool_cleanup_register(mem, h, hub_cleanup, apr_pool_cleanup_null);
    h->mem = mem;
    h->refs = 1;
    *out = h;
    return MPROC_OK;
}

mproc_status_t mproc__hub_wait(hub_t *h, double deadline)
{
    return mproc__os_cond_wait(&h->changed, &h->lock, deadline);
}

void mproc__hub_unref_unlock(hub_t *h)
{
    int last = --h->refs == 0;
    mproc__os_mutex_unlock(&h->lock);
    if (last)
        apr_pool_destroy(h->mem);
}

void mproc__result_destroy(mproc_async_result_t *r)
{
    for (size_t i = 0; r->items && i < r->n; i++)
        free(r->items[i].data);
    free(r->items);
    free(r->order);
    free(r->fail_message);
    free(r);
}

/* Drop one reference to a result; the lock is held and released here. */
static void result_unref_unlock(mproc_async_result_t *r)
{
    hub_t *h = r->hub;
    int last = --r->refs == 0;
    if (last)
        mproc__result_destroy(r);
    if (last)
        mproc__hub_unref_unlock(h);
    else
        mproc__os_mutex_unlock(&h->lock);
}

mproc_async_result_t *mproc__result_new(hub_t *hub, size_t n, int with_items)
{
    mproc_async_result_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (with_items && n) {
        r->items = calloc(n, sizeof *r->items);
        if (!r->items) {
            free(r);
            return NULL;
        }
    }
    r->hub = hub;
    r->n = r->remaining = n;
    r->refs = 2;
    return r;
}

void mproc__result_complete_item(mproc_async_result_t *r, size_t i, mproc_status_t status,
                                  int code, unsigned char *data, size_t len)
{
    if (r->items) {
        r->items[i] = (item_t){1, status, code, data, len};
    } else {
        free(data);
    }
    if (status && !r->status) {
        r->status = status;
        r->fail_index = i;
        r->fail_code = code;
        r->fail_message = mproc__strdup(r->items && data ? (char *)data : mproc_strerror(status));
    }
    if (r->order)
        r->order[r->ndone++] = i;
    r->remaining--;
}

mproc_status_t mproc__result_wait_locked(mproc_async_result_t *r,
                                         int (*done)(mproc_async_result_t *), double deadline)
{
    mproc_status_t st = MPROC_OK;
    while (!st && !done(r))
        st = mproc__hub_wait(r->hub, deadline);
    return st;
}

static int is_ready(mproc_async_result_t *r)
{
    return r->ready;
}

mproc_status_t mproc_async_result_wait(mproc_async_result_t *r, double timeout)
{
    double deadline;
    if (!r || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    mproc__os_mutex_lock(&r->hub->lock);
    mproc_status_t st = mproc__result_wait_locked(r, is_ready, deadline);
    mproc__os_mutex_unlock(&r->hub->lock);
    return st;
}

mproc_status_t mproc_async_result_get(mproc_async_result_t *r, double timeout)
{
    mproc_status_t st = mproc_async_result_wait(r, timeout);
    return st ? st : r->status;
}

int mproc_async_result_ready(mproc_async_result_t *r)
{
    if (!r)
        return 0;
    mproc__os_mutex_lock(&r->hub->lock);
    int ready = r->ready;
    mproc__os_mutex_unlock(&r->hub->lock);
    return ready;
}

mproc_status_t mproc_async_result_successful(mproc_async_result_t *r, int *ok)
{
    if (ok)
        *ok = 0;
    if (!r || !ok)
        return MPROC_EINVAL;
    if (!mproc_async_result_ready(r))
        return MPROC_ENOTREADY;
    *ok = r->status == MPROC_OK;
    return MPROC_OK;
}

size_t mproc_async_result_count(const mproc_async_result_t *r)
{
    return r ? r->n : 0;
}

mproc_status_t mproc_async_result_item(const mproc_async_result_t *r, size_t index,
                                       const void **data, size_t *len)
{
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (!r || !data || !len)
        return MPROC_EINVAL;
    if (index >= r->n)
        return MPROC_ERANGE;
    if (!r->complete || !r->items)
        return r->items ? MPROC_ENOTREADY : MPROC_EINVAL;
    const item_t *it = &r->items[index];
    if (it->status)
        return it->status;
    *data = it->data ? it->data : (const void *)"";
    *len = it->len;
    return MPROC_OK;
}

mproc_status_t mproc_async_result_error(const mproc_async_result_t *r, int *code,
                                        const char **message)
{
    if (code)
        *code = 0;
    if (message)
        *message = NULL;
    if (!r || !code || !message)
        return MPROC_EINVAL;
    if (!r->complete || !r->status)
        return MPROC_ENOTREADY;
    *code = r->fail_code;
    *message = r->fail_message ? r->fail_message : mproc_strerror(r->status);
    return MPROC_OK;
}

void mproc_async_result_free(mproc_async_result_t *r)
{
    if (!r)
        return;
    mproc__os_mutex_lock(&r->hub->lock);
    result_unref_unlock(r);
}
