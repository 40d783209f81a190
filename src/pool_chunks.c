/*
 * The pool's bookkeeping, whichever way its workers run: chunks go out to
 * idle workers, results come back into their jobs, and finished jobs run
 * their callbacks. Knowing which chunk every worker holds is what lets a dead
 * worker's tasks fail with MPROC_EWORKERLOST instead of hanging, as they do
 * in CPython.
 */
#include <stdlib.h>
#include <string.h>

#include "pool_core.h"

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
void mproc__pool_run_callbacks(mproc_pool_t *pool, finished_t *fin)
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

void mproc__pool_fail_chunk(mproc_pool_t *pool, chunk_t *c, mproc_status_t status, int code,
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
void mproc__pool_take_result(mproc_pool_t *pool, worker_t *w, const unsigned char *msg,
                             size_t len, finished_t *fin)
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
        mproc__pool_fail_chunk(pool, c, MPROC_EWORKERLOST, 0, "malformed result from a worker",
                               fin);
        return;
    }
    if (bare)
        res->remaining -= c->count;
    maybe_ready(pool, res, fin);
    mproc__wbuf_free(&c->msg);
    free(c);
}

/* Give idle workers the next chunks (lock held). Any thread may: a submitter
 * sending its own chunk saves a wake-up of the handler, which then learns of
 * the result from the worker's connection as usual. */
void mproc__pool_dispatch(mproc_pool_t *pool)
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

int mproc__pool_busy(const mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers; i++)
        if (pool->workers[i].held)
            return 1;
    return pool->pending != NULL;
}

void mproc__pool_fail_pending(mproc_pool_t *pool, mproc_status_t status, const char *why,
                              finished_t *fin)
{
    while (pool->pending) {
        chunk_t *c = pool->pending;
        pool->pending = c->next;
        mproc__pool_fail_chunk(pool, c, status, 0, why, fin);
    }
    pool->pending_tail = NULL;
}
