/*
 * A pool's workers as local processes. The handler thread owns them: it
 * watches each worker's connection, takes results, buries a dead worker
 * (failing the chunk it held) and starts its replacement.
 *
 * A worker's end shows on its connection first (the OS closes its end of the
 * pipe); only then does the handler wait on its sentinel, to bury it once it
 * has exited. Waiting on every sentinel at every wait cost, under Wine, a
 * wineserver request per worker and task. A worker that ends while its pipe
 * stays open (a process it forked still holds its end) is found by asking
 * whether each worker is alive at least once per WORKERS_POLL.
 *
 * One chunk in flight per worker: with two, the handler could block sending
 * the second while the worker blocks sending back the first's result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

/* Seconds between two asks whether every worker is alive. */
#define WORKERS_POLL 1.0

/* What one wait of the handler watches: the wake pipe at 0, then each live
 * worker's connection, or its sentinel once its connection ended. */
typedef struct watch {
    mproc_sentinel_t *objs;
    int *who; /* the worker whose object objs[k] is (objs[0]: none) */
    int *ready;
    int *os_ready; /* the OS found objs[k] ready (not only bytes read ahead) */
    size_t n;
    double next_poll; /* when every worker is asked next whether it is alive */
} watch_t;

/* Results arrive here, reused, so a large result costs no fresh pages. */
static mproc_status_t recv_result(worker_t *w, double timeout, mproc__wbuf_t *buf)
{
    return mproc__connection_recv_reuse(w->conn, timeout, buf);
}

static mproc_status_t start_worker(mproc_pool_t *pool, worker_t *w)
{
    mproc_connection_t *mine, *theirs;
    mproc_status_t st = mproc_pipe(1, &mine, &theirs);
    if (st)
        return st;
    mproc_args_t *a = NULL;
    const char *init_name = pool->initializer ? mproc__target_name(pool->initializer) : NULL;
    st = mproc_args_create(&a);
    if (!st) st = mproc_args_add_connection(a, theirs);
    if (!st) st = mproc_args_add_str(a, init_name ? init_name : "");
    if (!st) st = mproc_args_add_int(a, init_name ? 0 : (int64_t)(intptr_t)pool->initializer);
    if (!st) st = mproc_args_add_int(a, pool->maxtasks);
    /* As items, not bytes: pipe ends and queues travel as they do to a Process. */
    if (!st) st = mproc__args_append(a, pool->initargs, 0);
    mproc_process_options_t o = MPROC_PROCESS_OPTIONS_INIT;
    o.daemon = 1;
    o.context = pool->context;
    mproc_process_t *p = NULL;
    if (!st) st = mproc_process_create(&p, mproc__pool_worker_target(), a, &o);
    if (!st && (st = mproc_process_start(p)) != MPROC_OK)
        mproc_process_free(p);
    mproc_args_free(a);
    mproc_connection_free(theirs);
    if (st) {
        mproc_connection_free(mine);
        return st;
    }
    *w = (worker_t){p, mine, NULL, 0, 0, 0, 0};
    return MPROC_OK;
}

static void describe_death(mproc_process_t *p, char *buf, size_t cap, int *code)
{
    int64_t exitcode = 0;
    mproc_process_exitcode(p, &exitcode);
    *code = (int)exitcode;
    if (exitcode < 0)
        snprintf(buf, cap, "worker %s was killed by signal %d", mproc_process_name(p),
                 (int)-exitcode);
    else
        snprintf(buf, cap, "worker %s exited with code %lld", mproc_process_name(p),
                 (long long)exitcode);
}

/* A worker ended: take what it still sent, fail what it held, free it (lock held). */
static void bury_worker(mproc_pool_t *pool, worker_t *w, finished_t *fin)
{
    mproc__pool_await_sends(pool, w);
    while (w->held && mproc__pool_recv_result(pool, w, fin) == MPROC_OK) {
    }
    mproc_process_join(w->proc, MPROC_FOREVER);
    if (w->held) {
        char why[160];
        int code;
        describe_death(w->proc, why, sizeof why, &code);
        mproc__pool_fail_chunk(pool, w->held, MPROC_EWORKERLOST, code, why, fin);
        w->held = NULL;
    }
    mproc_process_free(w->proc);
    mproc_connection_free(w->conn);
    *w = (worker_t){NULL, NULL, NULL, 0, 0, 0, 0};
}

/* Wait for the first workers' initializers: a failure fails mproc_pool_create. */
static mproc_status_t await_initializers(mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers; i++) {
        worker_t *w = &pool->workers[i];
        if (recv_result(w, MPROC_FOREVER, &pool->inbox) != MPROC_OK ||
            !mproc__pool_init_succeeded(pool->inbox.data, pool->inbox.len))
            return MPROC_EINITIALIZER;
        w->initialized = 1;
    }
    return MPROC_OK;
}

/* A worker's connection is ready: take its result, or a replacement's
 * initializer's status (one that failed ends, and is replaced, as Python). A
 * connection that ended (or failed) is not waited on again. */
static void take_from(mproc_pool_t *pool, worker_t *w, int os_ready, finished_t *fin)
{
    mproc_status_t st;
    if (os_ready) /* the handler alone reads it: the read cannot block */
        mproc__connection_said_ready(w->conn);
    if (w->initialized) {
        st = mproc__pool_recv_result(pool, w, fin);
    } else {
        st = recv_result(w, 0, &pool->inbox);
        if (!st)
            w->initialized = mproc__pool_init_succeeded(pool->inbox.data, pool->inbox.len);
    }
    if (st && st != MPROC_ETIMEDOUT)
        w->conn_ended = 1;
}

static void handle_ready(mproc_pool_t *pool, const watch_t *wt, finished_t *fin)
{
    char drain[64];
    size_t n;
    if (wt->ready[0])
        while (mproc_connection_recv_bytes_into(pool->wake_rd, 0, drain, sizeof drain, &n) == MPROC_OK) {
        }
    for (size_t k = 1; k < wt->n; k++) {
        worker_t *w = &pool->workers[wt->who[k]];
        if (!wt->ready[k] || !w->proc)
            continue;
        if (w->conn_ended)
            bury_worker(pool, w, fin); /* its sentinel: it has exited */
        else
            take_from(pool, w, wt->os_ready[k], fin);
    }
}

/* Is every live worker alive? One that exited with its connection still open
 * is buried. (Asked of the OS, not of the sentinel: a spawned worker's is its
 * end of a socket pair, which the process holding its pipe holds too.) */
static void poll_workers(mproc_pool_t *pool, finished_t *fin)
{
    for (int i = 0; i < pool->nworkers; i++) {
        worker_t *w = &pool->workers[i];
        int alive = 1;
        if (w->proc && mproc_process_is_alive(w->proc, &alive) == MPROC_OK && !alive)
            bury_worker(pool, w, fin);
    }
}

/* Fill wt with what the handler waits on now (lock held). */
static void watch_workers(mproc_pool_t *pool, watch_t *wt)
{
    mproc_connection_waitable(pool->wake_rd, &wt->objs[0]);
    wt->n = 1;
    for (int i = 0; i < pool->nworkers; i++) {
        worker_t *w = &pool->workers[i];
        mproc_sentinel_t *o = &wt->objs[wt->n];
        if (!w->proc)
            continue;
        if (!w->conn_ended && mproc_connection_waitable(w->conn, o) != MPROC_OK)
            w->conn_ended = 1; /* it stopped receiving (a malformed length) */
        if (w->conn_ended)
            mproc_process_sentinel(w->proc, o);
        wt->who[wt->n++] = i;
    }
}

/* One wait for a worker or a wake-up (lock held, released meanwhile), then
 * what it found, and the poll of the workers when due. */
static void watch_once(mproc_pool_t *pool, watch_t *wt, finished_t *fin)
{
    watch_workers(pool, wt);
    double left = wt->next_poll - mproc__os_now();
    mproc__os_mutex_unlock(&pool->hub->lock);
    mproc_status_t st = mproc__wait(wt->objs, wt->n, left > 0 ? left : 0, wt->ready, wt->os_ready);
    mproc__os_mutex_lock(&pool->hub->lock);
    if (st == MPROC_OK)
        handle_ready(pool, wt, fin);
    else if (st != MPROC_ETIMEDOUT)
        apr_sleep(10000); /* an OS error: do not spin on it */
    if (mproc__os_now() >= wt->next_poll) {
        poll_workers(pool, fin);
        wt->next_poll = mproc__os_now() + WORKERS_POLL;
    }
}

static void replace_workers(mproc_pool_t *pool)
{
    if (pool->state == TERMINATE || (pool->state == CLOSE && !pool->pending))
        return;
    for (int i = 0; i < pool->nworkers; i++)
        if (!pool->workers[i].proc)
            (void)start_worker(pool, &pool->workers[i]); /* tried again next round */
}

static void stop_workers(mproc_pool_t *pool, finished_t *fin)
{
    int terminate = pool->state == TERMINATE;
    for (int i = 0; i < pool->nworkers; i++) {
        worker_t *w = &pool->workers[i];
        if (!w->proc)
            continue;
        if (terminate)
            mproc_process_terminate(w->proc);
        else
            mproc_connection_close(w->conn); /* EOF: the worker returns */
    }
    mproc__os_mutex_unlock(&pool->hub->lock);
    /* Workers stuck in a task that ignores SIGTERM get SIGKILL after a second. */
    double deadline = mproc__os_now() + 1.0;
    for (int i = 0; i < pool->nworkers; i++) {
        worker_t *w = &pool->workers[i];
        if (!w->proc)
            continue;
        double left = deadline - mproc__os_now();
        if (!terminate)
            mproc_process_join(w->proc, MPROC_FOREVER);
        else if (mproc_process_join(w->proc, left > 0 ? left : 0) == MPROC_ETIMEDOUT)
            mproc_process_kill(w->proc);
    }
    mproc__os_mutex_lock(&pool->hub->lock);
    for (int i = 0; i < pool->nworkers; i++)
        if (pool->workers[i].proc)
            bury_worker(pool, &pool->workers[i], fin);
    mproc__pool_fail_pending(pool, MPROC_ECLOSED, "the pool was terminated", fin);
    mproc__pool_fail_unsent(pool, fin);
}

void *APR_THREAD_FUNC mproc__pool_local_handler(apr_thread_t *thread, void *arg)
{
    mproc_pool_t *pool = arg;
    finished_t fin = {NULL, 0, 0};
    size_t nobj = 1 + (size_t)pool->nworkers;
    watch_t wt = {calloc(nobj, sizeof *wt.objs), calloc(nobj, sizeof *wt.who),
                  calloc(nobj, sizeof *wt.ready), calloc(nobj, sizeof *wt.os_ready), 0,
                  mproc__os_now() + WORKERS_POLL};
    int ok = wt.objs && wt.who && wt.ready && wt.os_ready;
    mproc__os_mutex_lock(&pool->hub->lock);
    while (ok && pool->state != TERMINATE) {
        mproc__pool_dispatch(pool);
        mproc__pool_fail_unsent(pool, &fin);
        if (pool->state == CLOSE && !mproc__pool_busy(pool))
            break;
        watch_once(pool, &wt, &fin);
        replace_workers(pool);
        mproc__pool_run_callbacks(pool, &fin);
    }
    stop_workers(pool, &fin);
    mproc__pool_run_callbacks(pool, &fin);
    pool->handler_done = 1;
    mproc__os_cond_broadcast(&pool->hub->changed);
    mproc__os_mutex_unlock(&pool->hub->lock);
    free(fin.list);
    free(wt.objs);
    free(wt.who);
    free(wt.ready);
    free(wt.os_ready);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

mproc_status_t mproc__pool_start_local(mproc_pool_t *pool)
{
    pool->workers = calloc((size_t)pool->nworkers, sizeof *pool->workers);
    mproc_status_t st = pool->workers ? mproc_pipe(0, &pool->wake_rd, &pool->wake_wr)
                                      : MPROC_ENOMEM;
    for (int i = 0; i < pool->nworkers && !st; i++)
        st = start_worker(pool, &pool->workers[i]);
    if (!st)
        st = await_initializers(pool);
    return st;
}
