/*
 * Pool, the parent's side: creating and ending a pool, and submitting jobs.
 * A handler thread owns the workers, local processes (pool_local.c) or
 * workers behind a transport (pool_remote.c); pool_chunks.c hands chunks
 * out and takes results back for both.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

/* The handler waits on its wake-up pipe, or in the transport's recv(). */
static void wake(mproc_pool_t *pool)
{
    if (!pool->transport) {
        (void)mproc_connection_send_bytes(pool->wake_wr, "", 0);
        return;
    }
    mproc__os_mutex_lock(&pool->hub->lock);
    if (pool->session)
        pool->transport->wake(pool->session);
    mproc__os_mutex_unlock(&pool->hub->lock);
}

/* ---- creating and ending a pool ------------------------------------------------ */

/* This process's open pools, for terminate_open_pools (mproc__lock held). */
static mproc_pool_t *open_pools;

/* At exit (mproc__pools_at_exit): terminate each local pool this process
 * created and still has, one at a time without the lock, which its handler
 * takes. */
static void terminate_open_pools(void)
{
    int64_t self = mproc__os_getpid();
    for (;;) {
        mproc__lock();
        mproc_pool_t *p = open_pools;
        while (p && (p->owner != self || p->handler_joined))
            p = p->next_open;
        mproc__unlock();
        if (!p)
            return;
        mproc_pool_terminate(p);
    }
}

static void add_open(mproc_pool_t *pool)
{
    pool->owner = mproc__os_getpid();
    mproc__lock();
    pool->next_open = open_pools;
    open_pools = pool;
    mproc__pools_at_exit = terminate_open_pools;
    mproc__unlock();
}

static void remove_open(mproc_pool_t *pool)
{
    mproc__lock();
    mproc_pool_t **link = &open_pools;
    while (*link && *link != pool)
        link = &(*link)->next_open;
    if (*link)
        *link = pool->next_open;
    mproc__unlock();
}

mproc_status_t mproc_pool_create(mproc_pool_t **out, const mproc_pool_options_t *opts)
{
    static const mproc_pool_options_t defaults = MPROC_POOL_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    if (out)
        *out = NULL;
    if (!out || opts->processes < 0 || opts->maxtasksperchild < 0)
        return MPROC_EINVAL;
    if (!mproc__g.initialized)
        return MPROC_ENOTINIT;
    if (mproc__g.self.daemon)
        return MPROC_EDAEMON;
    const mproc_context_t *ctx = opts->context;
    mproc_status_t st = ctx ? MPROC_OK : mproc_get_context(MPROC_METHOD_DEFAULT, &ctx);
    if (st)
        return st;
    const mproc_pool_transport_t *t = opts->transport;
    if (opts->initializer && (t || mproc_context_start_method(ctx) == MPROC_METHOD_SPAWN) &&
        !mproc__target_name(opts->initializer))
        return MPROC_ENOTREGISTERED;
    if (t && opts->maxtasksperchild)
        return MPROC_ENOTSUP; /* a remote worker cannot be replaced */
    /* The handler waits on a wake-up plus one object per worker (pool_local.c);
     * the limit documented when it waited on two (31 on Windows) stays. */
    int limit = t ? INT_MAX : (int)((mproc__os_wait_limit() - 1) / 2);
    if (opts->processes > limit)
        return MPROC_EINVAL;
    mproc_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool)
        return MPROC_ENOMEM;
    pool->nworkers = opts->processes ? opts->processes : t ? 0 : mproc_cpu_count();
    if (pool->nworkers > limit)
        pool->nworkers = limit;
    pool->maxtasks = opts->maxtasksperchild;
    pool->context = ctx;
    pool->initializer = opts->initializer;
    pool->transport = t;
    st = mproc__hub_create(&pool->hub);
    /* The pool's own copy (with its own handle duplicates): replacement workers
     * get objects as alive as the first ones, whatever the caller freed since
     * (Python's pool keeps initargs alive). */
    if (!st) st = mproc__args_clone(opts->initargs, &pool->initargs);
    if (!st) st = t ? mproc__pool_open_transport(pool) : mproc__pool_start_local(pool);
    if (!st && apr_pool_create(&pool->thread_mem, NULL) != APR_SUCCESS)
        st = MPROC_ENOMEM;
    apr_thread_start_t handler = t ? mproc__pool_remote_handler : mproc__pool_local_handler;
    if (!st && apr_thread_create(&pool->handler, NULL, handler, pool, pool->thread_mem) !=
                   APR_SUCCESS)
        st = MPROC_EOS;
    if (st) {
        pool->state = TERMINATE;
        pool->handler_joined = 1;
        mproc_pool_free(pool);
        return st;
    }
    /* Local workers only: a transport's are not this process's children,
     * and its library may have ended (MPI_Finalize) before this exit runs. */
    if (!t)
        add_open(pool);
    *out = pool;
    return MPROC_OK;
}

mproc_status_t mproc_pool_close(mproc_pool_t *pool)
{
    if (!pool)
        return MPROC_EINVAL;
    mproc__os_mutex_lock(&pool->hub->lock);
    if (pool->state == RUN)
        pool->state = CLOSE;
    mproc__os_mutex_unlock(&pool->hub->lock);
    wake(pool);
    return MPROC_OK;
}

static void join_handler(mproc_pool_t *pool)
{
    if (pool->handler_joined)
        return;
    apr_status_t rv;
    apr_thread_join(&rv, pool->handler);
    pool->handler_joined = 1;
}

mproc_status_t mproc_pool_terminate(mproc_pool_t *pool)
{
    if (!pool)
        return MPROC_EINVAL;
    mproc__os_mutex_lock(&pool->hub->lock);
    pool->state = TERMINATE;
    mproc__os_mutex_unlock(&pool->hub->lock);
    wake(pool);
    join_handler(pool);
    return MPROC_OK;
}

mproc_status_t mproc_pool_join(mproc_pool_t *pool, double timeout)
{
    double deadline;
    if (!pool || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    mproc__os_mutex_lock(&pool->hub->lock);
    mproc_status_t st = pool->state == RUN ? MPROC_ENOTCLOSED : MPROC_OK;
    while (!st && !pool->handler_done)
        st = mproc__hub_wait(pool->hub, deadline);
    mproc__os_mutex_unlock(&pool->hub->lock);
    if (!st)
        join_handler(pool);
    return st;
}

void mproc_pool_free(mproc_pool_t *pool)
{
    if (!pool)
        return;
    remove_open(pool);
    if (!pool->handler_joined) {
        if (pool->state == RUN)
            mproc_pool_terminate(pool);
        join_handler(pool);
    }
    for (int i = 0; pool->workers && i < pool->nworkers; i++) {
        /* Only when creation failed half-way: the handler buries workers itself. */
        worker_t *w = &pool->workers[i];
        if (w->proc) {
            mproc_process_kill(w->proc);
            mproc_process_join(w->proc, MPROC_FOREVER);
            mproc_process_free(w->proc);
            mproc_connection_free(w->conn);
        }
    }
    if (pool->session) /* only when creation failed half-way, as above */
        pool->transport->close(pool->session);
    free(pool->workers);
    free(pool->lost);
    mproc_connection_free(pool->wake_rd);
    mproc_connection_free(pool->wake_wr);
    mproc_args_free(pool->initargs); /* a clone: closes its own duplicates */
    mproc__wbuf_free(&pool->inbox);
    if (pool->thread_mem)
        apr_pool_destroy(pool->thread_mem);
    if (pool->hub) {
        mproc__os_mutex_lock(&pool->hub->lock);
        mproc__hub_unref_unlock(pool->hub);
    }
    free(pool);
}

/* ---- submitting ---------------------------------------------------------------- */

typedef struct source {
    int mode;
    const void *const *items; /* MODE_BYTES */
    const size_t *lens;
    const unsigned char *array; /* MODE_FIXED, MODE_CHUNK */
    size_t in_size, out_size;
    int lend; /* the caller's memory outlives the job: large inputs are not copied */
    size_t lend_after; /* the most message bytes an input may be lent after */
} source_t;

static mproc_status_t put_u64(mproc__wbuf_t *b, uint64_t v)
{
    return mproc__wbuf_put(b, &v, sizeof v);
}

/* An input: lent when it is large and may be, else copied into the message. */
static mproc_status_t put_input(const source_t *src, chunk_t *c, const void *p, size_t len)
{
    if (!src->lend || len < MPROC__POOL_LEND_MIN || c->msg.len > src->lend_after)
        return mproc__wbuf_put(&c->msg, p, len);
    lent_t *l = realloc(c->lent, (c->nlent + 1) * sizeof *l);
    if (!l)
        return MPROC_ENOMEM;
    c->lent = l;
    l[c->nlent++] = (lent_t){c->msg.len, p, len};
    return MPROC_OK;
}

static mproc_status_t encode_chunk(const source_t *src, mproc_task_fn fn, const char *name,
                                   uint64_t job, chunk_t *c)
{
    mproc__wbuf_t *b = &c->msg;
    size_t start = c->start, count = c->count;
    mproc_status_t st = put_u64(b, job);
    if (!st) st = put_u64(b, start);
    if (!st) st = put_u64(b, count);
    if (!st) st = mproc__wbuf_put_u32(b, (uint32_t)src->mode);
    if (!st) st = mproc__wbuf_put_i64(b, name ? 0 : (int64_t)(intptr_t)fn);
    if (!st) st = mproc__wbuf_put_str(b, name ? name : "");
    if (!st && src->mode != MPROC__POOL_MODE_BYTES) {
        st = put_u64(b, src->in_size);
        if (!st) st = put_u64(b, src->out_size);
        if (!st && src->mode == MPROC__POOL_MODE_CHUNK) {
            /* The worker receives the message at an aligned address. */
            static const unsigned char zeros[MPROC__POOL_ALIGN];
            size_t pad = (MPROC__POOL_ALIGN - (b->len + 8) % MPROC__POOL_ALIGN) % MPROC__POOL_ALIGN;
            st = put_u64(b, pad);
            if (!st) st = mproc__wbuf_put(b, zeros, pad);
        }
        if (!st) st = put_input(src, c, src->array + start * src->in_size, count * src->in_size);
        return st;
    }
    for (size_t i = start; !st && i < start + count; i++)
        st = put_u64(b, src->lens[i]);
    for (size_t i = start; !st && i < start + count; i++)
        st = put_input(src, c, src->items[i], src->lens[i]);
    return st;
}

/* A default chunk holds about this many input bytes at most (1 item at least). */
#define DEFAULT_CHUNK_BYTES ((size_t)1 << 20)

/* Python's divmod(len, workers * 4), rounded up, but no more items than fill
 * DEFAULT_CHUNK_BYTES when they average `bytes` / n: a worker receives a
 * chunk whole into one buffer, and one no cache holds (125 items of 1 MiB)
 * made map 2-4x slower than chunks of one such item (docs/mpi.md, Speed). */
static size_t default_chunksize(const mproc_pool_t *pool, size_t n, size_t bytes)
{
    size_t parts = (size_t)pool->nworkers * 4;
    size_t chunk = n / parts + (n % parts != 0);
    size_t mean = n ? bytes / n : 0;
    size_t fit = mean ? DEFAULT_CHUNK_BYTES / mean : chunk;
    fit = fit ? fit : 1;
    return chunk < fit ? chunk : fit;
}

/* A map's chunksize: the caller's, or the default for its items' sizes. */
static size_t map_chunksize(const mproc_pool_t *pool, const size_t *lens, size_t n,
                            size_t chunksize)
{
    if (!pool || chunksize)
        return chunksize;
    size_t sum = 0;
    for (size_t i = 0; lens && i < n; i++)
        sum = lens[i] > SIZE_MAX - sum ? SIZE_MAX : sum + lens[i];
    return default_chunksize(pool, n, sum);
}

/* Build the chunks of a job and queue them; on success the pool holds r.
 * A transport takes any lent inputs (pool_transport.h's parts). A local
 * worker's connection sends a chunk's head and one input after it
 * (mproc__connection_send_two): only a fixed-size map, whose chunk is its
 * head and then one run of inputs, lends there, and only after a small head. */
static mproc_status_t submit(mproc_pool_t *pool, mproc_task_fn fn, const source_t *lender,
                             mproc_async_result_t *r, size_t chunksize)
{
    source_t copy = *lender, *src = &copy;
    copy.lend = lender->lend && (pool->transport || src->mode != MPROC__POOL_MODE_BYTES);
    copy.lend_after = pool->transport ? SIZE_MAX : MPROC__POOL_LOCAL_HEAD_MAX;
    if (!fn)
        return MPROC_EINVAL;
    const char *name = mproc__task_name(fn);
    if (!name && (pool->transport ||
                  mproc_context_start_method(pool->context) == MPROC_METHOD_SPAWN))
        return MPROC_ENOTREGISTERED;
    for (size_t i = 0; src->mode == MPROC__POOL_MODE_BYTES && i < r->n; i++)
        if (!src->items[i] && src->lens[i])
            return MPROC_EINVAL;
    if (!chunksize)
        chunksize = 1;
    chunk_t *head = NULL, *last = NULL, **link = &head;
    mproc_status_t st = MPROC_OK;
    mproc__os_mutex_lock(&pool->hub->lock);
    uint64_t job = ++pool->next_job;
    int state = pool->state;
    mproc__os_mutex_unlock(&pool->hub->lock);
    if (state != RUN)
        return MPROC_ECLOSED;
    for (size_t start = 0; start < r->n && !st; start += chunksize) {
        chunk_t *c = calloc(1, sizeof *c);
        if (!c) {
            st = MPROC_ENOMEM;
            break;
        }
        c->job = r;
        c->start = start;
        c->count = r->n - start < chunksize ? r->n - start : chunksize;
        *link = last = c;
        link = &c->next;
        st = encode_chunk(src, fn, name, job, c);
    }
    mproc__os_mutex_lock(&pool->hub->lock);
    if (!st && pool->state != RUN)
        st = MPROC_ECLOSED;
    if (!st) {
        pool->hub->refs++; /* the result's */
        if (pool->pending_tail)
            pool->pending_tail->next = head;
        else
            pool->pending = head;
        if (last)
            pool->pending_tail = last;
        if (!r->n) {
            r->complete = r->ready = 1;
            r->refs--; /* no callbacks for an empty job, as nothing ran */
        }
        mproc__pool_dispatch(pool);
    }
    mproc__os_mutex_unlock(&pool->hub->lock);
    if (st) {
        while (head) {
            chunk_t *next = head->next;
            mproc__pool_chunk_free(head);
            head = next;
        }
        return st;
    }
    return MPROC_OK;
}

/* A job that lent the caller's memory: wait until no send reads it any more
 * (a worker lost mid-send completes its chunk before its sender returns). */
static mproc_status_t await_lent(mproc_async_result_t *r, mproc_status_t st)
{
    mproc__os_mutex_lock(&r->hub->lock);
    while (r->lent_sends)
        (void)mproc__hub_wait(r->hub, -1.0);
    mproc__os_mutex_unlock(&r->hub->lock);
    return st;
}

enum { ITER = 1, ORDERED = 2, LEND = 4 };

/* `how`: ITER (an imap's), ORDERED (imap's order), LEND (a call that waits
 * for the job, so that its items' memory outlives it: see await_lent). */
static mproc_status_t submit_items(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                                   const size_t *lens, size_t n, size_t chunksize,
                                   const mproc_async_options_t *opts, int how,
                                   mproc_async_result_t **out)
{
    int iter = how & ITER;
    static const mproc_async_options_t no_callbacks = MPROC_ASYNC_OPTIONS_INIT;
    if (!opts)
        opts = &no_callbacks;
    if (out)
        *out = NULL;
    if (!pool || !out || (n && (!items || !lens)))
        return MPROC_EINVAL;
    mproc_async_result_t *r = mproc__result_new(pool->hub, n, 1);
    if (r && iter)
        r->order = calloc(n ? n : 1, sizeof *r->order);
    if (!r || (iter && !r->order)) {
        if (r)
            mproc__result_destroy(r);
        return MPROC_ENOMEM;
    }
    r->callback = opts->callback;
    r->error_callback = opts->error_callback;
    r->user = opts->user;
    r->ordered = (how & ORDERED) != 0;
    source_t src = {MPROC__POOL_MODE_BYTES, items, lens, NULL, 0, 0, (how & LEND) != 0, 0};
    mproc_status_t st = submit(pool, fn, &src, r, chunksize);
    if (st) {
        mproc__result_destroy(r);
        return st;
    }
    *out = r;
    return MPROC_OK;
}

mproc_status_t mproc_pool_apply_async(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                      size_t len, const mproc_async_options_t *opts,
                                      mproc_async_result_t **result)
{
    const void *items[1] = {input};
    size_t lens[1] = {len};
    return submit_items(pool, fn, items, lens, 1, 1, opts, 0, result);
}

mproc_status_t mproc_pool_apply(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                size_t len, mproc_async_result_t **result)
{
    const void *items[1] = {input};
    size_t lens[1] = {len};
    mproc_status_t st = submit_items(pool, fn, items, lens, 1, 1, NULL, LEND, result);
    return st ? st : await_lent(*result, mproc_async_result_get(*result, MPROC_FOREVER));
}

mproc_status_t mproc_pool_apply_into(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                     size_t len, void *out, size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!out && cap)
        return MPROC_EINVAL;
    mproc_async_result_t *r = NULL;
    const void *data = NULL;
    size_t n = 0;
    mproc_status_t st = mproc_pool_apply(pool, fn, input, len, &r);
    if (!st)
        st = mproc_async_result_item(r, 0, &data, &n);
    if (!st && n > cap)
        st = MPROC_ESHORTBUF;
    if (!st && n)
        memcpy(out, data, n);
    if ((!st || st == MPROC_ESHORTBUF) && out_len)
        *out_len = n;
    mproc_async_result_free(r);
    return st;
}

mproc_status_t mproc_pool_map_async(mproc_pool_t *pool, mproc_task_fn fn,
                                    const void *const *items, const size_t *lens, size_t n,
                                    size_t chunksize, const mproc_async_options_t *opts,
                                    mproc_async_result_t **result)
{
    return submit_items(pool, fn, items, lens, n, map_chunksize(pool, lens, n, chunksize), opts,
                        0, result);
}

mproc_status_t mproc_pool_map(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                              const size_t *lens, size_t n, size_t chunksize,
                              mproc_async_result_t **result)
{
    mproc_status_t st = submit_items(pool, fn, items, lens, n,
                                     map_chunksize(pool, lens, n, chunksize), NULL, LEND, result);
    return st ? st : await_lent(*result, mproc_async_result_get(*result, MPROC_FOREVER));
}

/* A fixed-size map whose `fn` runs per item (MODE_FIXED) or per chunk (MODE_CHUNK). */
static mproc_status_t map_fixed(mproc_pool_t *pool, int mode, mproc_task_fn fn, const void *in,
                                size_t n, size_t in_size, void *out, size_t out_size,
                                size_t chunksize, size_t *failed_index)
{
    if (failed_index)
        *failed_index = 0;
    if (!pool || !in_size || !out_size || (n && (!in || !out)))
        return MPROC_EINVAL;
    if (n > SIZE_MAX / in_size || n > SIZE_MAX / out_size)
        return MPROC_EINVAL; /* no such arrays: their byte counts would wrap */
    mproc_async_result_t *r = mproc__result_new(pool->hub, n, 0);
    if (!r)
        return MPROC_ENOMEM;
    r->out = out;
    r->out_size = out_size;
    source_t src = {mode, NULL, NULL, in, in_size, out_size, 1, 0};
    mproc_status_t st = submit(pool, fn, &src, r, chunksize ? chunksize
                                                  : default_chunksize(pool, n, n * in_size));
    if (st) {
        mproc__result_destroy(r);
        return st;
    }
    st = await_lent(r, mproc_async_result_get(r, MPROC_FOREVER));
    if (st && failed_index)
        *failed_index = r->fail_index;
    mproc_async_result_free(r);
    return st;
}

mproc_status_t mproc_pool_map_array(mproc_pool_t *pool, mproc_task_fn fn, const void *in,
                                    size_t n, size_t in_size, void *out, size_t out_size,
                                    size_t chunksize, size_t *failed_index)
{
    return map_fixed(pool, MPROC__POOL_MODE_FIXED, fn, in, n, in_size, out, out_size, chunksize,
                     failed_index);
}

mproc_status_t mproc_pool_map_array_chunks(mproc_pool_t *pool, mproc_chunk_task_fn fn,
                                           const void *in, size_t n, size_t in_size, void *out,
                                           size_t out_size, size_t chunksize,
                                           size_t *failed_index)
{
    /* Registered and sent as a task (MPROC_CHUNK_TASK); the chunk's mode says
     * which type the worker calls it as. */
    mproc_task_fn as_task = fn ? (mproc_task_fn)(void (*)(void))fn : NULL;
    return map_fixed(pool, MPROC__POOL_MODE_CHUNK, as_task, in, n, in_size, out, out_size,
                     chunksize, failed_index);
}

mproc_status_t mproc_pool_starmap_async(mproc_pool_t *pool, mproc_task_fn fn,
                                        const mproc_args_t *const *arglists, size_t n,
                                        size_t chunksize, const mproc_async_options_t *opts,
                                        mproc_async_result_t **result)
{
    if (result)
        *result = NULL;
    if (!pool || (n && !arglists))
        return MPROC_EINVAL;
    mproc__wbuf_t *enc = calloc(n ? n : 1, sizeof *enc);
    const void **items = calloc(n ? n : 1, sizeof *items);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    mproc_status_t st = enc && items && lens ? MPROC_OK : MPROC_ENOMEM;
    for (size_t i = 0; i < n && !st; i++) {
        mproc__os_handle_t *h = NULL;
        size_t nh = 0;
        st = mproc__args_handles(arglists[i], &h, &nh);
        free(h);
        if (!st && nh)
            st = MPROC_EINVAL; /* a worker cannot receive handles this way */
        if (!st)
            st = mproc__args_encode(arglists[i], &enc[i]);
        if (!st) {
            items[i] = enc[i].data;
            lens[i] = enc[i].len;
        }
    }
    if (!st)
        st = mproc_pool_map_async(pool, fn, items, lens, n, chunksize, opts, result);
    for (size_t i = 0; enc && i < n; i++)
        mproc__wbuf_free(&enc[i]);
    free(enc);
    free(items);
    free(lens);
    return st;
}

mproc_status_t mproc_pool_starmap(mproc_pool_t *pool, mproc_task_fn fn,
                                  const mproc_args_t *const *arglists, size_t n, size_t chunksize,
                                  mproc_async_result_t **result)
{
    mproc_status_t st = mproc_pool_starmap_async(pool, fn, arglists, n, chunksize, NULL, result);
    return st ? st : mproc_async_result_get(*result, MPROC_FOREVER);
}

static mproc_status_t imap(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                           const size_t *lens, size_t n, size_t chunksize, int ordered,
                           mproc_pool_iter_t **it)
{
    if (!it)
        return MPROC_EINVAL;
    *it = NULL;
    mproc_pool_iter_t *i = calloc(1, sizeof *i);
    if (!i)
        return MPROC_ENOMEM;
    mproc_status_t st = submit_items(pool, fn, items, lens, n, chunksize, NULL,
                                     ITER | (ordered ? ORDERED : 0), &i->r);
    if (st) {
        free(i);
        return st;
    }
    *it = i;
    return MPROC_OK;
}

mproc_status_t mproc_pool_imap(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                               const size_t *lens, size_t n, size_t chunksize,
                               mproc_pool_iter_t **it)
{
    return imap(pool, fn, items, lens, n, chunksize, 1, it);
}

mproc_status_t mproc_pool_imap_unordered(mproc_pool_t *pool, mproc_task_fn fn,
                                         const void *const *items, const size_t *lens, size_t n,
                                         size_t chunksize, mproc_pool_iter_t **it)
{
    return imap(pool, fn, items, lens, n, chunksize, 0, it);
}
