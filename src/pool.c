/*
 * Pool, the parent's side. A handler thread owns the workers: it sends each
 * idle worker the next chunk of tasks over the worker's own connection, reads
 * results back, and watches the workers' sentinels. Knowing which chunk every
 * worker holds is what lets a dead worker's tasks fail with MPROC_EWORKERLOST
 * instead of hanging, as they do in CPython.
 *
 * One chunk in flight per worker: with two, the handler could block sending
 * the second while the worker blocks sending back the first's result.
 */
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <apr_time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pool_wire.h"

/* The lock and signal a pool shares with its results, which may outlive it. */
typedef struct hub {
    apr_pool_t *mem;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *changed;
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
    size_t *order;         /* iterators: indexes in completion order */
    size_t ndone, taken, next, last;
    int ordered;
};

struct mproc_pool_iter {
    mproc_async_result_t *r;
};

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
    mproc__wbuf_t initargs;
    mproc__wbuf_t inbox; /* the handler's receive buffer */
    uint64_t next_job;
};

/* ---- hub and results ------------------------------------------------------ */

static mproc_status_t hub_create(hub_t **out)
{
    apr_pool_t *mem;
    if (apr_pool_create(&mem, NULL) != APR_SUCCESS)
        return MPROC_ENOMEM;
    hub_t *h = apr_pcalloc(mem, sizeof *h);
    if (apr_thread_mutex_create(&h->lock, APR_THREAD_MUTEX_DEFAULT, mem) != APR_SUCCESS ||
        apr_thread_cond_create(&h->changed, mem) != APR_SUCCESS) {
        apr_pool_destroy(mem);
        return MPROC_EOS;
    }
    h->mem = mem;
    h->refs = 1;
    *out = h;
    return MPROC_OK;
}

/* One wait for a change, lock held: MPROC_ETIMEDOUT once the deadline
 * (< 0: none) has passed. Callers loop on their own condition. */
static mproc_status_t hub_wait(hub_t *h, double deadline)
{
    if (deadline < 0) {
        apr_thread_cond_wait(h->changed, h->lock);
        return MPROC_OK;
    }
    double left = deadline - mproc__os_now();
    if (left <= 0)
        return MPROC_ETIMEDOUT;
    apr_thread_cond_timedwait(h->changed, h->lock, (apr_interval_time_t)(left * 1e6) + 1);
    return MPROC_OK;
}

/* Called with the lock held; it is released (and maybe destroyed) here. */
static void hub_unref_unlock(hub_t *h)
{
    int last = --h->refs == 0;
    apr_thread_mutex_unlock(h->lock);
    if (last)
        apr_pool_destroy(h->mem);
}

static void result_destroy(mproc_async_result_t *r)
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
        result_destroy(r);
    if (last)
        hub_unref_unlock(h);
    else
        apr_thread_mutex_unlock(h->lock);
}

static mproc_async_result_t *result_new(mproc_pool_t *pool, size_t n, int with_items)
{
    mproc_async_result_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (with_items && n && !(r->items = calloc(n, sizeof *r->items))) {
        free(r);
        return NULL;
    }
    r->hub = pool->hub;
    r->n = r->remaining = n;
    r->refs = 2;
    return r;
}

/* Record one item's outcome (lock held). `data` is taken over. */
static void complete_item(mproc_async_result_t *r, size_t i, mproc_status_t status, int code,
                          unsigned char *data, size_t len)
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
        result_destroy(r);
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
        complete_item(c->job, c->start + i, status, code, (unsigned char *)mproc__strdup(why),
                      strlen(why));
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
    complete_item(t->res, t->start + i, status, code, copy, copy ? n : 0);
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
    if (!st) st = mproc_args_add_bytes(a, pool->initargs.data, pool->initargs.len);
    if (!st) st = mproc_args_add_int(a, pool->maxtasks);
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
    *w = (worker_t){p, mine, NULL, 0, 0};
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
        (void)hub_wait(pool->hub, -1.0);
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
    *w = (worker_t){NULL, NULL, NULL, 0, 0};
}

/* Give idle workers the next chunks (lock held). Any thread may: a submitter
 * sending its own chunk saves a wake-up of the handler, which then learns of
 * the result from the worker's connection as usual. */
static void dispatch(mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers && pool->pending; i++) {
        worker_t *w = &pool->workers[i];
        if (!w->proc || w->held || (pool->maxtasks && w->sent >= pool->maxtasks))
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
        apr_thread_mutex_unlock(pool->hub->lock);
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
        if (ready[1 + 2 * i] && recv_result(w, 0, &pool->inbox) == MPROC_OK)
            take_result(pool, w, pool->inbox.data, pool->inbox.len, fin);
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
    while (pool->pending) {
        chunk_t *c = pool->pending;
        pool->pending = c->next;
        fail_chunk(pool, c, MPROC_ECLOSED, 0, "the pool was terminated", fin);
    }
    pool->pending_tail = NULL;
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

static void wake(mproc_pool_t *pool)
{
    (void)mproc_connection_send_bytes(pool->wake_wr, "", 0);
}

/* ---- creating and ending a pool ------------------------------------------------ */

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
    if (opts->initializer && mproc_context_start_method(ctx) == MPROC_METHOD_SPAWN &&
        !mproc__target_name(opts->initializer))
        return MPROC_ENOTREGISTERED;
    /* The handler waits on a wake-up plus a connection and a sentinel per worker. */
    int limit = (int)((mproc__os_wait_limit() - 1) / 2);
    if (opts->processes > limit)
        return MPROC_EINVAL;
    mproc_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool)
        return MPROC_ENOMEM;
    pool->nworkers = opts->processes ? opts->processes : mproc_cpu_count();
    if (pool->nworkers > limit)
        pool->nworkers = limit;
    pool->maxtasks = opts->maxtasksperchild;
    pool->context = ctx;
    pool->initializer = opts->initializer;
    pool->workers = calloc((size_t)pool->nworkers, sizeof *pool->workers);
    st = pool->workers ? hub_create(&pool->hub) : MPROC_ENOMEM;
    if (!st) st = mproc__args_encode(opts->initargs, &pool->initargs);
    if (!st) st = mproc_pipe(0, &pool->wake_rd, &pool->wake_wr);
    for (int i = 0; i < pool->nworkers && !st; i++)
        st = start_worker(pool, &pool->workers[i]);
    if (!st && apr_pool_create(&pool->thread_mem, NULL) != APR_SUCCESS)
        st = MPROC_ENOMEM;
    if (!st && apr_thread_create(&pool->handler, NULL, handler_main, pool, pool->thread_mem) !=
                   APR_SUCCESS)
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
        st = hub_wait(pool->hub, deadline);
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
    free(pool->workers);
    mproc_connection_free(pool->wake_rd);
    mproc_connection_free(pool->wake_wr);
    mproc__wbuf_free(&pool->initargs);
    mproc__wbuf_free(&pool->inbox);
    if (pool->thread_mem)
        apr_pool_destroy(pool->thread_mem);
    if (pool->hub) {
        apr_thread_mutex_lock(pool->hub->lock);
        hub_unref_unlock(pool->hub);
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
    if (!name && mproc_context_start_method(pool->context) == MPROC_METHOD_SPAWN)
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
                                   mproc_result_callback cb, mproc_result_callback ecb, void *user,
                                   int iter, int ordered, mproc_async_result_t **out)
{
    if (!pool || !out || (n && (!items || !lens)))
        return MPROC_EINVAL;
    mproc_async_result_t *r = result_new(pool, n, 1);
    if (!r || (iter && !(r->order = calloc(n ? n : 1, sizeof *r->order)))) {
        if (r)
            result_destroy(r);
        return MPROC_ENOMEM;
    }
    r->callback = cb;
    r->error_callback = ecb;
    r->user = user;
    r->ordered = ordered;
    source_t src = {MPROC__POOL_MODE_BYTES, items, lens, NULL, 0, 0};
    mproc_status_t st = submit(pool, fn, &src, r, chunksize);
    if (st) {
        result_destroy(r);
        return st;
    }
    *out = r;
    return MPROC_OK;
}

mproc_status_t mproc_pool_apply_async(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                      size_t len, mproc_result_callback callback,
                                      mproc_result_callback error_callback, void *user,
                                      mproc_async_result_t **result)
{
    const void *items[1] = {input};
    size_t lens[1] = {len};
    return submit_items(pool, fn, items, lens, 1, 1, callback, error_callback, user, 0, 0, result);
}

mproc_status_t mproc_pool_apply(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                size_t len, mproc_async_result_t **result)
{
    mproc_status_t st = mproc_pool_apply_async(pool, fn, input, len, NULL, NULL, NULL, result);
    return st ? st : mproc_async_result_get(*result, MPROC_FOREVER);
}

mproc_status_t mproc_pool_map_async(mproc_pool_t *pool, mproc_task_fn fn,
                                    const void *const *items, const size_t *lens, size_t n,
                                    size_t chunksize, mproc_result_callback callback,
                                    mproc_result_callback error_callback, void *user,
                                    mproc_async_result_t **result)
{
    if (pool && !chunksize)
        chunksize = default_chunksize(pool, n);
    return submit_items(pool, fn, items, lens, n, chunksize, callback, error_callback, user, 0, 0,
                        result);
}

mproc_status_t mproc_pool_map(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                              const size_t *lens, size_t n, size_t chunksize,
                              mproc_async_result_t **result)
{
    mproc_status_t st =
        mproc_pool_map_async(pool, fn, items, lens, n, chunksize, NULL, NULL, NULL, result);
    return st ? st : mproc_async_result_get(*result, MPROC_FOREVER);
}

mproc_status_t mproc_pool_map_array(mproc_pool_t *pool, mproc_task_fn fn, const void *in,
                                    size_t n, size_t in_size, void *out, size_t out_size,
                                    size_t chunksize, size_t *failed_index)
{
    if (!pool || !in_size || !out_size || (n && (!in || !out)) || in_size > UINT32_MAX ||
        out_size > UINT32_MAX)
        return MPROC_EINVAL;
    mproc_async_result_t *r = result_new(pool, n, 0);
    if (!r)
        return MPROC_ENOMEM;
    r->out = out;
    r->out_size = out_size;
    source_t src = {MPROC__POOL_MODE_FIXED, NULL, NULL, in, in_size, out_size};
    mproc_status_t st = submit(pool, fn, &src, r, chunksize ? chunksize : default_chunksize(pool, n));
    if (st) {
        result_destroy(r);
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
                                        size_t chunksize, mproc_result_callback callback,
                                        mproc_result_callback error_callback, void *user,
                                        mproc_async_result_t **result)
{
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
        st = mproc_pool_map_async(pool, fn, items, lens, n, chunksize, callback, error_callback,
                                  user, result);
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
    mproc_status_t st =
        mproc_pool_starmap_async(pool, fn, arglists, n, chunksize, NULL, NULL, NULL, result);
    return st ? st : mproc_async_result_get(*result, MPROC_FOREVER);
}

mproc_status_t mproc_pool_imap(mproc_pool_t *pool, mproc_task_fn fn, const void *const *items,
                               const size_t *lens, size_t n, size_t chunksize, int ordered,
                               mproc_pool_iter_t **it)
{
    if (!it)
        return MPROC_EINVAL;
    mproc_pool_iter_t *i = calloc(1, sizeof *i);
    if (!i)
        return MPROC_ENOMEM;
    mproc_status_t st = submit_items(pool, fn, items, lens, n, chunksize, NULL, NULL, NULL, 1,
                                     ordered != 0, &i->r);
    if (st) {
        free(i);
        return st;
    }
    *it = i;
    return MPROC_OK;
}

/* ---- waiting for results ------------------------------------------------------- */

/* Wait with the hub's lock held until done(r) or the deadline. */
static mproc_status_t wait_locked(mproc_async_result_t *r, int (*done)(mproc_async_result_t *),
                                  double deadline)
{
    mproc_status_t st = MPROC_OK;
    while (!st && !done(r))
        st = hub_wait(r->hub, deadline);
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
    apr_thread_mutex_lock(r->hub->lock);
    mproc_status_t st = wait_locked(r, is_ready, deadline);
    apr_thread_mutex_unlock(r->hub->lock);
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
    apr_thread_mutex_lock(r->hub->lock);
    int ready = r->ready;
    apr_thread_mutex_unlock(r->hub->lock);
    return ready;
}

mproc_status_t mproc_async_result_successful(mproc_async_result_t *r, int *ok)
{
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
    apr_thread_mutex_lock(r->hub->lock);
    result_unref_unlock(r);
}

/* ---- iterators ------------------------------------------------------------------ */

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
    if (!it || !data || !len || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    mproc_async_result_t *r = it->r;
    apr_thread_mutex_lock(r->hub->lock);
    mproc_status_t st = wait_locked(r, next_available, deadline);
    size_t i = 0;
    if (!st && (r->ordered ? r->next >= r->n : r->taken >= r->n))
        st = MPROC_EDONE;
    if (!st) {
        i = r->ordered ? r->next++ : r->order[r->taken++];
        r->last = i;
        st = r->items[i].status;
        *data = r->items[i].data ? r->items[i].data : (const void *)"";
        *len = r->items[i].len;
        if (index)
            *index = i;
    }
    apr_thread_mutex_unlock(r->hub->lock);
    return st;
}

mproc_status_t mproc_pool_iter_error(const mproc_pool_iter_t *it, int *code, const char **message)
{
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
