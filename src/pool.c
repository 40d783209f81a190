/*
 * Pool, the parent's side. A handler thread owns the workers: it sends each
 * idle worker the next chunk of tasks over the worker's own connection, reads
 * results back, and watches the workers' sentinels. Knowing which chunk every
 * worker holds is what lets a dead worker's tasks fail with MPROC_EWORKERLOST
 * instead of hanging, as they do in CPython.
 *
 * One chunk in flight per worker: with two, the handler could block sending
 * the second while the worker blocks sending back the first's result.
 *
 * Workers may instead run elsewhere, behind a transport (pool_transport.h,
 * e.g. MPI ranks): the same chunks and results travel as its messages, and a
 * handler of its own (at the end of this file) waits on the transport.
 */
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pool_result.h"
#include "pool_wire.h"

typedef struct chunk {
    struct chunk *next;
    mproc_async_result_t *job;
    size_t start, count;
    mproc__wbuf_t msg;
} chunk_t;

typedef struct worker {
    mproc_process_t *proc;
    mproc_connection_t *conn;
    chunk_t *held; /* the chunk it runs, or NULL */
    long sent;     /* chunks sent, for maxtasksperchild */
    int sending;   /* threads sending to it right now: it is not freed meanwhile */
    int initialized; /* its initializer succeeded: it takes tasks */
} worker_t;

/* Results arrive here, reused, so a large result costs no fresh pages. */
static mproc_status_t recv_result(worker_t *w, double timeout, mproc__wbuf_t *buf)
{
    return mproc__connection_recv_reuse(w->conn, timeout, buf);
}

enum { RUN, CLOSE, TERMINATE };

struct mproc_pool {
    hub_t *hub;
    int state, handler_done, handler_joined;
    int nworkers;
    long maxtasks;
    worker_t *workers;
    chunk_t *pending, *pending_tail;
    mproc_connection_t *wake_rd, *wake_wr;
    apr_pool_t *thread_mem;
    apr_thread_t *handler;
    const mproc_context_t *context;
    mproc_target_fn initializer;
    mproc_args_t *initargs; /* owns duplicates of the handles it holds */
    mproc__wbuf_t inbox; /* the handler's receive buffer */
    uint64_t next_job;
    const mproc_pool_transport_t *transport; /* NULL: local worker processes */
    void *session;                           /* the transport's, until it is closed */
    unsigned char *lost;                     /* per remote worker: it died */
};

/* ---- the handler's side ---------------------------------------------------- */

typedef struct finished {
    mproc_async_result_t **list;
    size_t n, cap;
} finished_t;

static void set_ready(mproc_pool_t *pool, mproc_async_result_t *r)
{
    r->ready = 1;
    apr_thread_cond_broadcast(pool->hub->changed);
    if (--r->refs == 0) {
        /* The caller let go first. The hub cannot reach 0 here: the pool holds it. */
        mproc__result_destroy(r);
        pool->hub->refs--;
    }
}

/* A result whose last item just completed: its callbacks run next, then it is ready. */
static void maybe_ready(mproc_pool_t *pool, mproc_async_result_t *r, finished_t *fin)
{
    if (r->remaining || r->complete)
        return;
    r->complete = 1;
    if (fin->n == fin->cap) {
        size_t cap = fin->cap ? fin->cap * 2 : 16;
        mproc_async_result_t **l = realloc(fin->list, cap * sizeof *l);
        if (!l) {
            set_ready(pool, r); /* no memory for its callbacks: ready without them */
            return;
        }
        fin->list = l;
        fin->cap = cap;
    }
    fin->list[fin->n++] = r;
}

/* Run callbacks outside the lock, then mark those results ready (lock held on entry and exit). */
static void run_callbacks(mproc_pool_t *pool, finished_t *fin)
{
    if (!fin->n)
        return;
    apr_thread_mutex_unlock(pool->hub->lock);
    for (size_t i = 0; i < fin->n; i++) {
        mproc_async_result_t *r = fin->list[i];
        mproc_result_callback cb = r->status ? r->error_callback : r->callback;
        if (cb)
            cb(r, r->user);
    }
    apr_thread_mutex_lock(pool->hub->lock);
    for (size_t i = 0; i < fin->n; i++)
        set_ready(pool, fin->list[i]);
    fin->n = 0;
}

static void fail_chunk(mproc_pool_t *pool, chunk_t *c, mproc_status_t status, int code,
                       const char *why, finished_t *fin)
{
    for (size_t i = 0; i < c->count; i++)
        mproc__result_complete_item(c->job, c->start + i, status, code,
                                    (unsigned char *)mproc__strdup(why), strlen(why));
    maybe_ready(pool, c->job, fin);
    mproc__wbuf_free(&c->msg);
    free(c);
}

typedef struct taking {
    mproc_async_result_t *res;
    size_t start;
} taking_t;

/* One item of a result (lock held): its output or message is kept as a C string. */
static void take_item(void *ctx, uint32_t i, mproc_status_t status, int32_t code,
                      const unsigned char *p, size_t n)
{
    taking_t *t = ctx;
    unsigned char *copy = p ? malloc(n + 1) : NULL;
    if (copy) {
        memcpy(copy, p, n);
        copy[n] = '\0';
    }
    mproc__result_complete_item(t->res, t->start + i, status, code, copy, copy ? n : 0);
}

/* Parse a result message for the chunk the worker held (lock held). */
static void take_result(mproc_pool_t *pool, worker_t *w, const unsigned char *msg, size_t len,
                        finished_t *fin)
{
    chunk_t *c = w->held;
    w->held = NULL;
    if (!c)
        return;
    mproc_async_result_t *res = c->job;
    taking_t t = {res, c->start};
    unsigned char *fixed = res->items ? NULL : res->out + c->start * res->out_size;
    int bare = 0;
    if (mproc__pool_decode_result(msg, len, (uint32_t)c->start, (uint32_t)c->count, fixed,
                                  res->out_size, &bare, take_item, &t)) {
        fail_chunk(pool, c, MPROC_EWORKERLOST, 0, "malformed result from a worker", fin);
        return;
    }
    if (bare)
        res->remaining -= c->count;
    maybe_ready(pool, res, fin);
    mproc__wbuf_free(&c->msg);
    free(c);
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
    *w = (worker_t){p, mine, NULL, 0, 0, 0};
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
    while (w->sending)
        (void)mproc__hub_wait(pool->hub, -1.0);
    while (w->held && recv_result(w, 0, &pool->inbox) == MPROC_OK)
        take_result(pool, w, pool->inbox.data, pool->inbox.len, fin);
    mproc_process_join(w->proc, MPROC_FOREVER);
    if (w->held) {
        char why[160];
        int code;
        describe_death(w->proc, why, sizeof why, &code);
        fail_chunk(pool, w->held, MPROC_EWORKERLOST, code, why, fin);
        w->held = NULL;
    }
    mproc_process_free(w->proc);
    mproc_connection_free(w->conn);
    *w = (worker_t){NULL, NULL, NULL, 0, 0, 0};
}

/* Give idle workers the next chunks (lock held). Any thread may: a submitter
 * sending its own chunk saves a wake-up of the handler, which then learns of
 * the result from the worker's connection as usual. */
static void dispatch(mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers && pool->pending; i++) {
        worker_t *w = &pool->workers[i];
        if ((pool->transport ? pool->lost[i] : !w->proc || !w->initialized) || w->held ||
            (pool->maxtasks && w->sent >= pool->maxtasks))
            continue;
        chunk_t *c = pool->pending;
        pool->pending = c->next;
        if (!pool->pending)
            pool->pending_tail = NULL;
        c->next = NULL;
        w->held = c;
        w->sent++;
        w->sending++;
        /* The sender owns the bytes: the chunk's result may be taken (and the
         * chunk freed) by the handler before this thread returns from send.
         * A worker that died meanwhile is buried, and the chunk failed, once
         * no one is sending to it. */
        mproc__wbuf_t msg = c->msg;
        c->msg = (mproc__wbuf_t){0};
        void *session = pool->session;
        apr_thread_mutex_unlock(pool->hub->lock);
        if (pool->transport)
            (void)pool->transport->send(session, i, msg.data, msg.len);
        else
            (void)mproc_connection_send_bytes(w->conn, msg.data, msg.len);
        mproc__wbuf_free(&msg);
        apr_thread_mutex_lock(pool->hub->lock);
        if (--w->sending == 0)
            apr_thread_cond_broadcast(pool->hub->changed);
    }
}

static int busy(const mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers; i++)
        if (pool->workers[i].held)
            return 1;
    return pool->pending != NULL;
}

/* A worker's first message: its initializer's return value (0: success). */
static int init_succeeded(const mproc__wbuf_t *msg)
{
    int32_t code = -1;
    if (msg->len == sizeof code)
        memcpy(&code, msg->data, sizeof code);
    return code == 0;
}

/* Wait for the first workers' initializers: a failure fails mproc_pool_create. */
static mproc_status_t await_initializers(mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers; i++) {
        worker_t *w = &pool->workers[i];
        if (recv_result(w, MPROC_FOREVER, &pool->inbox) != MPROC_OK ||
            !init_succeeded(&pool->inbox))
            return MPROC_EINITIALIZER;
        w->initialized = 1;
    }
    return MPROC_OK;
}

static void handle_ready(mproc_pool_t *pool, const int *ready, finished_t *fin)
{
    char drain[64];
    size_t n;
    if (ready[0])
        while (mproc_connection_recv_bytes_into(pool->wake_rd, 0, drain, sizeof drain, &n) == MPROC_OK) {
        }
    for (int i = 0; i < pool->nworkers; i++) {
        worker_t *w = &pool->workers[i];
        if (!w->proc)
            continue;
        if (ready[1 + 2 * i] && recv_result(w, 0, &pool->inbox) == MPROC_OK) {
            if (w->initialized)
                take_result(pool, w, pool->inbox.data, pool->inbox.len, fin);
            else /* a replacement whose initializer failed ends, and is replaced (as Python) */
                w->initialized = init_succeeded(&pool->inbox);
        }
        if (ready[2 + 2 * i])
            bury_worker(pool, w, fin);
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

static void fail_pending(mproc_pool_t *pool, mproc_status_t status, const char *why,
                         finished_t *fin)
{
    while (pool->pending) {
        chunk_t *c = pool->pending;
        pool->pending = c->next;
        fail_chunk(pool, c, status, 0, why, fin);
    }
    pool->pending_tail = NULL;
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
    apr_thread_mutex_unlock(pool->hub->lock);
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
    apr_thread_mutex_lock(pool->hub->lock);
    for (int i = 0; i < pool->nworkers; i++)
        if (pool->workers[i].proc)
            bury_worker(pool, &pool->workers[i], fin);
    fail_pending(pool, MPROC_ECLOSED, "the pool was terminated", fin);
}

static void *APR_THREAD_FUNC handler_main(apr_thread_t *thread, void *arg)
{
    mproc_pool_t *pool = arg;
    finished_t fin = {NULL, 0, 0};
    size_t nobj = 1 + 2 * (size_t)pool->nworkers;
    mproc_sentinel_t *objs = calloc(nobj, sizeof *objs);
    int *ready = calloc(nobj, sizeof *ready);
    apr_thread_mutex_lock(pool->hub->lock);
    while (objs && ready && pool->state != TERMINATE) {
        dispatch(pool);
        if (pool->state == CLOSE && !busy(pool))
            break;
        /* Dead slots wait on the wake pipe again: harmless, and keeps indexes fixed. */
        mproc_connection_waitable(pool->wake_rd, &objs[0]);
        for (int i = 0; i < pool->nworkers; i++) {
            worker_t *w = &pool->workers[i];
            objs[1 + 2 * i] = objs[2 + 2 * i] = objs[0];
            if (w->proc) {
                mproc_connection_waitable(w->conn, &objs[1 + 2 * i]);
                mproc_process_sentinel(w->proc, &objs[2 + 2 * i]);
            }
        }
        apr_thread_mutex_unlock(pool->hub->lock);
        memset(ready, 0, nobj * sizeof *ready);
        mproc_status_t st = mproc_wait(objs, nobj, 1.0, ready);
        apr_thread_mutex_lock(pool->hub->lock);
        if (st == MPROC_OK)
            handle_ready(pool, ready, &fin);
        else if (st != MPROC_ETIMEDOUT)
            apr_sleep(10000); /* an OS error: do not spin on it */
        replace_workers(pool);
        run_callbacks(pool, &fin);
    }
    stop_workers(pool, &fin);
    run_callbacks(pool, &fin);
    pool->handler_done = 1;
    apr_thread_cond_broadcast(pool->hub->changed);
    apr_thread_mutex_unlock(pool->hub->lock);
    free(fin.list);
    free(objs);
    free(ready);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static void *APR_THREAD_FUNC remote_handler_main(apr_thread_t *thread, void *arg);

static void wake(mproc_pool_t *pool)
{
    if (!pool->transport) {
        (void)mproc_connection_send_bytes(pool->wake_wr, "", 0);
        return;
    }
    apr_thread_mutex_lock(pool->hub->lock);
    if (pool->session)
        pool->transport->wake(pool->session);
    apr_thread_mutex_unlock(pool->hub->lock);
}

/* ---- creating and ending a pool ------------------------------------------------ */

static mproc_status_t start_local_workers(mproc_pool_t *pool)
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

/* The transport starts the workers; it tells how many (nworkers 0: its default). */
static mproc_status_t open_transport(mproc_pool_t *pool)
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
    return st;
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
    /* The handler waits on a wake-up plus a connection and a sentinel per worker. */
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
    if (!st) st = t ? open_transport(pool) : start_local_workers(pool);
    if (!st && apr_pool_create(&pool->thread_mem, NULL) != APR_SUCCESS)
        st = MPROC_ENOMEM;
    if (!st && apr_thread_create(&pool->handler, NULL, t ? remote_handler_main : handler_main,
                                 pool, pool->thread_mem) != APR_SUCCESS)
        st = MPROC_EOS;
    if (st) {
        pool->state = TERMINATE;
        pool->handler_joined = 1;
        mproc_pool_free(pool);
        return st;
    }
    *out = pool;
    return MPROC_OK;
}

mproc_status_t mproc_pool_close(mproc_pool_t *pool)
{
    if (!pool)
        return MPROC_EINVAL;
    apr_thread_mutex_lock(pool->hub->lock);
    if (pool->state == RUN)
        pool->state = CLOSE;
    apr_thread_mutex_unlock(pool->hub->lock);
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
    apr_thread_mutex_lock(pool->hub->lock);
    pool->state = TERMINATE;
    apr_thread_mutex_unlock(pool->hub->lock);
    wake(pool);
    join_handler(pool);
    return MPROC_OK;
}

mproc_status_t mproc_pool_join(mproc_pool_t *pool, double timeout)
{
    double deadline;
    if (!pool || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    apr_thread_mutex_lock(pool->hub->lock);
    mproc_status_t st = pool->state == RUN ? MPROC_ENOTCLOSED : MPROC_OK;
    while (!st && !pool->handler_done)
        st = mproc__hub_wait(pool->hub, deadline);
    apr_thread_mutex_unlock(pool->hub->lock);
    if (!st)
        join_handler(pool);
    return st;
}

void mproc_pool_free(mproc_pool_t *pool)
{
    if (!pool)
        return;
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
        apr_thread_mutex_lock(pool->hub->lock);
        mproc__hub_unref_unlock(pool->hub);
    }
    free(pool);
}

/* ---- submitting ---------------------------------------------------------------- */

typedef struct source {
    int mode;
    const void *const *items; /* MODE_BYTES */
    const size_t *lens;
    const unsigned char *array; /* MODE_FIXED */
    size_t in_size, out_size;
} source_t;

static mproc_status_t encode_chunk(const source_t *src, mproc_task_fn fn, const char *name,
                                   uint64_t job, size_t start, size_t count, mproc__wbuf_t *b)
{
    mproc_status_t st = mproc__wbuf_put(b, &job, sizeof job);
    if (!st) st = mproc__wbuf_put_u32(b, (uint32_t)start);
    if (!st) st = mproc__wbuf_put_u32(b, (uint32_t)count);
    if (!st) st = mproc__wbuf_put_u32(b, (uint32_t)src->mode);
    if (!st) st = mproc__wbuf_put_i64(b, name ? 0 : (int64_t)(intptr_t)fn);
    if (!st) st = mproc__wbuf_put_str(b, name ? name : "");
    if (!st && src->mode == MPROC__POOL_MODE_FIXED) {
        st = mproc__wbuf_put_u32(b, (uint32_t)src->in_size);
        if (!st) st = mproc__wbuf_put_u32(b, (uint32_t)src->out_size);
        if (!st) st = mproc__wbuf_put(b, src->array + start * src->in_size, count * src->in_size);
    }
    for (size_t i = start; !st && src->mode == MPROC__POOL_MODE_BYTES && i < start + count; i++) {
        st = mproc__wbuf_put_u32(b, (uint32_t)src->lens[i]);
        if (!st) st = mproc__wbuf_put(b, src->items[i], src->lens[i]);
    }
    if (!st && b->len > MPROC_MESSAGE_MAX_BYTES)
        st = MPROC_ETOOBIG;
    return st;
}

static size_t default_chunksize(const mproc_pool_t *pool, size_t n)
{
    /* Python: divmod(len, workers * 4), rounded up. */
    size_t parts = (size_t)pool->nworkers * 4;
    return n / parts + (n % parts != 0);
}

/* Build the chunks of a job and queue them; on success the pool holds r. */
static mproc_status_t submit(mproc_pool_t *pool, mproc_task_fn fn, const source_t *src,
                             mproc_async_result_t *r, size_t chunksize)
{
    if (!fn)
        return MPROC_EINVAL;
    const char *name = mproc__task_name(fn);
    if (!name && (pool->transport ||
                  mproc_context_start_method(pool->context) == MPROC_METHOD_SPAWN))
        return MPROC_ENOTREGISTERED;
    for (size_t i = 0; src->mode == MPROC__POOL_MODE_BYTES && i < r->n; i++)
        if ((!src->items[i] && src->lens[i]) || src->lens[i] > MPROC_MESSAGE_MAX_BYTES)
            return src->lens[i] > MPROC_MESSAGE_MAX_BYTES ? MPROC_ETOOBIG : MPROC_EINVAL;
    if (!chunksize)
        chunksize = 1;
    chunk_t *head = NULL, *last = NULL, **link = &head;
    mproc_status_t st = MPROC_OK;
    apr_thread_mutex_lock(pool->hub->lock);
    uint64_t job = ++pool->next_job;
    int state = pool->state;
    apr_thread_mutex_unlock(pool->hub->lock);
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
        st = encode_chunk(src, fn, name, job, c->start, c->count, &c->msg);
    }
    apr_thread_mutex_lock(pool->hub->lock);
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
        dispatch(pool);
    }
    apr_thread_mutex_unlock(pool->hub->lock);
    if (st) {
        while (head) {
            chunk_t *next = head->next;
            mproc__wbuf_free(&head->msg);
            free(head);
            head = next;
        }
        return st;
    }
    return MPROC_OK;
}

static mproc_status_t submit_items(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                                   const size_t *lens, size_t n, size_t chunksize,
                                   const mproc_async_options_t *opts, int iter, int ordered,
                                   mproc_async_result_t **out)
{
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
    r->ordered = ordered;
    source_t src = {MPROC__POOL_MODE_BYTES, items, lens, NULL, 0, 0};
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
    return submit_items(pool, fn, items, lens, 1, 1, opts, 0, 0, result);
}

mproc_status_t mproc_pool_apply(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                size_t len, mproc_async_result_t **result)
{
    mproc_status_t st = mproc_pool_apply_async(pool, fn, input, len, NULL, result);
    return st ? st : mproc_async_result_get(*result, MPROC_FOREVER);
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
    if (pool && !chunksize)
        chunksize = default_chunksize(pool, n);
    return submit_items(pool, fn, items, lens, n, chunksize, opts, 0, 0, result);
}

mproc_status_t mproc_pool_map(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                              const size_t *lens, size_t n, size_t chunksize,
                              mproc_async_result_t **result)
{
    mproc_status_t st = mproc_pool_map_async(pool, fn, items, lens, n, chunksize, NULL, result);
    return st ? st : mproc_async_result_get(*result, MPROC_FOREVER);
}

mproc_status_t mproc_pool_map_array(mproc_pool_t *pool, mproc_task_fn fn, const void *in,
                                    size_t n, size_t in_size, void *out, size_t out_size,
                                    size_t chunksize, size_t *failed_index)
{
    if (failed_index)
        *failed_index = 0;
    if (!pool || !in_size || !out_size || (n && (!in || !out)) || in_size > UINT32_MAX ||
        out_size > UINT32_MAX)
        return MPROC_EINVAL;
    mproc_async_result_t *r = mproc__result_new(pool->hub, n, 0);
    if (!r)
        return MPROC_ENOMEM;
    r->out = out;
    r->out_size = out_size;
    source_t src = {MPROC__POOL_MODE_FIXED, NULL, NULL, in, in_size, out_size};
    mproc_status_t st = submit(pool, fn, &src, r, chunksize ? chunksize : default_chunksize(pool, n));
    if (st) {
        mproc__result_destroy(r);
        return st;
    }
    st = mproc_async_result_get(r, MPROC_FOREVER);
    if (st && failed_index)
        *failed_index = r->fail_index;
    mproc_async_result_free(r);
    return st;
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
    mproc_status_t st = submit_items(pool, fn, items, lens, n, chunksize, NULL, 1, ordered, &i->r);
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

/* ---- workers behind a transport ------------------------------------------------ */

/* Take the next result if one comes within `timeout` (lock held; released
 * while waiting: only this thread receives, submitters may send meanwhile). */
static void remote_take(mproc_pool_t *pool, double timeout, finished_t *fin)
{
    void *session = pool->session;
    int i = -1;
    const void *data = NULL;
    size_t len = 0;
    apr_thread_mutex_unlock(pool->hub->lock);
    mproc_status_t st = pool->transport->recv(session, timeout, &i, &data, &len);
    apr_thread_mutex_lock(pool->hub->lock);
    if (i < 0 || i >= pool->nworkers)
        return;
    worker_t *w = &pool->workers[i];
    if (!st) {
        take_result(pool, w, data, len, fin);
    } else if (st == MPROC_EWORKERLOST && !pool->lost[i]) {
        /* The transport saw it die: its tasks fail, the others carry on
         * without it (a remote worker is not replaced). */
        char why[160];
        snprintf(why, sizeof why, "%.*s", (int)(len < 159 ? len : 159), (const char *)data);
        pool->lost[i] = 1;
        if (w->held)
            fail_chunk(pool, w->held, MPROC_EWORKERLOST, -1, why, fin);
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

/* As handler_main, but a remote worker can be neither watched nor killed:
 * on terminate, the chunks the workers hold run to their end (their results
 * are kept) and only those still waiting fail. */
static void *APR_THREAD_FUNC remote_handler_main(apr_thread_t *thread, void *arg)
{
    mproc_pool_t *pool = arg;
    finished_t fin = {NULL, 0, 0};
    apr_thread_mutex_lock(pool->hub->lock);
    while (pool->state != TERMINATE) {
        dispatch(pool);
        if (all_lost(pool))
            fail_pending(pool, MPROC_EWORKERLOST, "every worker of the pool died", &fin);
        if (pool->state == CLOSE && !busy(pool))
            break;
        remote_take(pool, 1.0, &fin);
        run_callbacks(pool, &fin);
    }
    fail_pending(pool, MPROC_ECLOSED, "the pool was terminated", &fin);
    while (busy(pool)) {
        remote_take(pool, 1.0, &fin);
        run_callbacks(pool, &fin);
    }
    for (int i = 0; i < pool->nworkers; i++)
        while (pool->workers[i].sending) /* a submitter still in send() uses the session */
            (void)mproc__hub_wait(pool->hub, -1.0);
    void *session = pool->session;
    pool->session = NULL; /* wake() no longer reaches it */
    apr_thread_mutex_unlock(pool->hub->lock);
    pool->transport->close(session);
    apr_thread_mutex_lock(pool->hub->lock);
    run_callbacks(pool, &fin);
    pool->handler_done = 1;
    apr_thread_cond_broadcast(pool->hub->changed);
    apr_thread_mutex_unlock(pool->hub->lock);
    free(fin.list);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}
