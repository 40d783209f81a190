/*
 * A pool's workers behind a transport (pool_transport.h, e.g. MPI ranks):
 * the same chunks and results travel as the transport's messages, and a
 * handler of its own waits on the transport instead of on processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

/* Every worker's first message is its initializer's result, as a local
 * worker's: a failure, or a worker lost before it, fails the creation. All
 * are taken even so: none is left for the transport's next pool. */
static mproc_status_t await_initializers(mproc_pool_t *pool)
{
    mproc_status_t failed = MPROC_OK;
    for (int waiting = pool->nworkers; waiting > 0;) {
        int i = -1;
        const void *data = NULL;
        size_t len = 0;
        mproc_status_t st = pool->transport->recv(pool->session, 1.0, &i, &data, &len);
        if (st == MPROC_ETIMEDOUT)
            continue;
        if (st && st != MPROC_EWORKERLOST)
            return st;
        if (i < 0 || i >= pool->nworkers || pool->workers[i].initialized)
            return MPROC_EINITIALIZER; /* not the protocol: nothing more to trust */
        pool->workers[i].initialized = 1; /* answered */
        if (st || !mproc__pool_init_succeeded(data, len))
            failed = MPROC_EINITIALIZER;
        waiting--;
    }
    return failed;
}

/* The transport starts the workers; it tells how many (nworkers 0: its default). */
mproc_status_t mproc__pool_open_transport(mproc_pool_t *pool)
{
    mproc__wbuf_t setup = {0}, initargs = {0};
    const char *init = pool->initializer ? mproc__target_name(pool->initializer) : "";
    mproc__os_handle_t *handles = NULL;
    size_t nhandles = 0;
    mproc_status_t st = mproc__args_handles(pool->initargs, &handles, &nhandles);
    free(handles);
    if (!st && nhandles)
        st = MPROC_ENOTSUP; /* an OS handle means nothing on another host */
    if (!st)
        st = mproc__args_encode(pool->initargs, &initargs);
    if (!st)
        st = mproc__pool_setup_encode(init, &initargs, &setup);
    mproc__wbuf_free(&initargs);
    if (!st)
        st = pool->transport->open(&pool->nworkers, setup.data, setup.len, &pool->session);
    mproc__wbuf_free(&setup);
    if (!st && pool->nworkers <= 0)
        st = MPROC_EINVAL;
    if (!st) {
        pool->workers = calloc((size_t)pool->nworkers, sizeof *pool->workers);
        pool->lost = calloc((size_t)pool->nworkers, 1);
        st = pool->workers && pool->lost ? MPROC_OK : MPROC_ENOMEM;
    }
    if (!st)
        st = await_initializers(pool);
    return st;
}

/* Take the next result if one comes within `timeout` (lock held; released
 * while waiting: only this thread receives, submitters may send meanwhile). */
static void remote_take(mproc_pool_t *pool, double timeout, finished_t *fin)
{
    void *session = pool->session;
    int i = -1;
    const void *data = NULL;
    size_t len = 0;
    mproc__os_mutex_unlock(&pool->hub->lock);
    mproc_status_t st = pool->transport->recv(session, timeout, &i, &data, &len);
    mproc__os_mutex_lock(&pool->hub->lock);
    if (i < 0 || i >= pool->nworkers)
        return;
    worker_t *w = &pool->workers[i];
    if (!st) {
        mproc__pool_take_result(pool, w, data, len, fin);
    } else if (st == MPROC_EWORKERLOST && !pool->lost[i]) {
        /* The transport saw it die: its tasks fail, the others carry on
         * without it (a remote worker is not replaced). */
        char why[160];
        snprintf(why, sizeof why, "%.*s", (int)(len < 159 ? len : 159), (const char *)data);
        pool->lost[i] = 1;
        if (w->held)
            mproc__pool_fail_chunk(pool, w->held, MPROC_EWORKERLOST, -1, why, fin);
        w->held = NULL;
    }
}

static int all_lost(const mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers; i++)
        if (!pool->lost[i])
            return 0;
    return 1;
}

/* As the local handler (pool_local.c), but a remote worker can be neither
 * watched nor killed: on terminate, the chunks the workers hold run to their
 * end (their results are kept) and only those still waiting fail. */
void *APR_THREAD_FUNC mproc__pool_remote_handler(apr_thread_t *thread, void *arg)
{
    mproc_pool_t *pool = arg;
    finished_t fin = {NULL, 0, 0};
    mproc__os_mutex_lock(&pool->hub->lock);
    while (pool->state != TERMINATE) {
        mproc__pool_dispatch(pool);
        mproc__pool_fail_unsent(pool, &fin);
        if (all_lost(pool))
            mproc__pool_fail_pending(pool, MPROC_EWORKERLOST, "every worker of the pool died",
                                     &fin);
        if (pool->state == CLOSE && !mproc__pool_busy(pool))
            break;
        remote_take(pool, 1.0, &fin);
        mproc__pool_run_callbacks(pool, &fin);
    }
    mproc__pool_fail_pending(pool, MPROC_ECLOSED, "the pool was terminated", &fin);
    for (;;) {
        mproc__pool_fail_unsent(pool, &fin);
        if (!mproc__pool_busy(pool))
            break;
        remote_take(pool, 1.0, &fin);
        mproc__pool_run_callbacks(pool, &fin);
    }
    for (int i = 0; i < pool->nworkers; i++) /* a submitter still in send() uses the session */
        mproc__pool_await_sends(pool, &pool->workers[i]);
    mproc__pool_fail_unsent(pool, &fin);
    void *session = pool->session;
    pool->session = NULL; /* wake() no longer reaches it */
    mproc__os_mutex_unlock(&pool->hub->lock);
    pool->transport->close(session);
    mproc__os_mutex_lock(&pool->hub->lock);
    mproc__pool_run_callbacks(pool, &fin);
    pool->handler_done = 1;
    mproc__os_cond_broadcast(&pool->hub->changed);
    mproc__os_mutex_unlock(&pool->hub->lock);
    free(fin.list);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}
