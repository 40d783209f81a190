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
    mproc__os_cond_broadcast(&pool->hub->changed);
    if (--r->refs == 0) {
        /* The caller let go first. The hub cannot reach 0 here: the pool holds it. */
        mproc__result_destroy(r);
        pool->hub->refs--;
    }
}

/* A chunk's items completed: an imap's consumer takes them now; a result
 * whose last item completed runs its callbacks next, then it is ready. */
static void maybe_ready(mproc_pool_t *pool, mproc_async_result_t *r, finished_t *fin)
{
    if (r->order)
        mproc__os_cond_broadcast(&pool->hub->changed);
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
    mproc__os_mutex_unlock(&pool->hub->lock);
    for (size_t i = 0; i < fin->n; i++) {
        mproc_async_result_t *r = fin->list[i];
        mproc_result_callback cb = r->status ? r->error_callback : r->callback;
        if (cb)
            cb(r, r->user);
    }
    mproc__os_mutex_lock(&pool->hub->lock);
    for (size_t i = 0; i < fin->n; i++)
        set_ready(pool, fin->list[i]);
    fin->n = 0;
}

void mproc__pool_chunk_free(chunk_t *c)
{
    mproc__wbuf_free(&c->msg);
    free(c->lent);
    free(c);
}

void mproc__pool_fail_chunk(mproc_pool_t *pool, chunk_t *c, mproc_status_t status, int code,
                            const char *why, finished_t *fin)
{
    for (size_t i = 0; i < c->count; i++)
        mproc__result_complete_item(c->job, c->start + i, status, code,
                                    (unsigned char *)mproc__strdup(why), strlen(why));
    maybe_ready(pool, c->job, fin);
    mproc__pool_chunk_free(c);
}

typedef struct taking {
    mproc_async_result_t *res;
    size_t start;
} taking_t;

/* One item of a result (lock held): its output or message is kept as a C string. */
static void take_item(void *ctx, size_t i, mproc_status_t status, int32_t code,
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
    if (mproc__pool_decode_result(msg, len, c->start, c->count, fixed,
                                  res->out_size, &bare, take_item, &t)) {
        mproc__pool_fail_chunk(pool, c, MPROC_EWORKERLOST, 0, "malformed result from a worker",
                               fin);
        return;
    }
    if (bare)
        res->remaining -= c->count;
    maybe_ready(pool, res, fin);
    mproc__pool_chunk_free(c);
}

static int bare_for(const void *head, void *chunk)
{
    const chunk_t *c = chunk;
    return mproc__pool_result_is_bare(head, c->start, c->count);
}

mproc_status_t mproc__pool_recv_result(mproc_pool_t *pool, worker_t *w, finished_t *fin)
{
    chunk_t *c = w->held;
    mproc_async_result_t *res = c ? c->job : NULL;
    unsigned char head[MPROC__POOL_RESULT_HEAD];
    int split = 0;
    mproc_status_t st =
        res && !res->items
            ? mproc__connection_recv_split(w->conn, 0, head, sizeof head,
                                           res->out + c->start * res->out_size,
                                           c->count * res->out_size, bare_for, c, &pool->inbox,
                                           &split)
            : mproc__connection_recv_reuse(w->conn, 0, &pool->inbox);
    if (st)
        return st;
    if (!split) {
        mproc__pool_take_result(pool, w, pool->inbox.data, pool->inbox.len, fin);
        return MPROC_OK;
    }
    w->held = NULL;
    res->remaining -= c->count;
    maybe_ready(pool, res, fin);
    mproc__pool_chunk_free(c);
    return MPROC_OK;
}

/* Send a chunk's message (lock not held): its own bytes with the lent inputs
 * in their places. A local pool lends at most one input, after the whole
 * head (submit in pool.c); a transport takes any parts. */
static mproc_status_t send_chunk(mproc_pool_t *pool, void *session, worker_t *w, int i,
                                 const mproc__wbuf_t *msg, const lent_t *lent, size_t nlent)
{
    if (!pool->transport && !nlent)
        return mproc_connection_send_bytes(w->conn, msg->data, msg->len);
    if (!pool->transport)
        return nlent == 1 && lent->at == msg->len
                   ? mproc__connection_send_two(w->conn, msg->data, msg->len, lent->data,
                                                lent->len)
                   : MPROC_EINVAL;
    mproc_pool_part_t one, *parts = nlent ? malloc((2 * nlent + 1) * sizeof *parts) : &one;
    if (!parts)
        return MPROC_ENOMEM;
    size_t n = 0, from = 0;
    for (size_t k = 0; k < nlent; k++) {
        if (lent[k].at > from)
            parts[n++] = (mproc_pool_part_t){msg->data + from, lent[k].at - from};
        parts[n++] = (mproc_pool_part_t){lent[k].data, lent[k].len};
        from = lent[k].at;
    }
    if (msg->len > from || n == 0)
        parts[n++] = (mproc_pool_part_t){msg->data + from, msg->len - from};
    mproc_status_t st = pool->transport->send(session, i, parts, n);
    if (parts != &one)
        free(parts);
    return st;
}

/* A chunk that could not be sent at all (MPROC_ENOMEM, MPROC_ETOOBIG,
 * MPROC_EINVAL for parts a local worker's connection cannot send; lock
 * held): its tasks are to fail with that status, instead of waiting for a
 * result that cannot come. (Any other failure means the worker is gone: it is
 * buried, or reported by the transport, and its chunk fails with
 * MPROC_EWORKERLOST.) The handler fails it (mproc__pool_fail_unsent), so that
 * callbacks run on its thread. */
static void unsent(mproc_pool_t *pool, worker_t *w, mproc_status_t st)
{
    chunk_t *c = w->held;
    w->held = NULL;
    c->failed = st;
    c->next = pool->unsent;
    pool->unsent = c;
    if (pool->transport)
        pool->transport->wake(pool->session);
    else
        (void)mproc_connection_send_bytes(pool->wake_wr, "", 0);
}

void mproc__pool_fail_unsent(mproc_pool_t *pool, finished_t *fin)
{
    while (pool->unsent) {
        chunk_t *c = pool->unsent;
        pool->unsent = c->next;
        mproc__pool_fail_chunk(pool, c, c->failed, 0, mproc_strerror(c->failed), fin);
    }
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
         * no one is sending to it. Lent inputs are the caller's: its job
         * counts the sends reading them, and the caller waits for none. */
        mproc__wbuf_t msg = c->msg;
        lent_t *lent = c->lent;
        size_t nlent = c->nlent;
        mproc_async_result_t *job = nlent ? c->job : NULL;
        c->msg = (mproc__wbuf_t){0};
        c->lent = NULL;
        c->nlent = 0;
        if (job)
            job->lent_sends++;
        void *session = pool->session;
        mproc__os_mutex_unlock(&pool->hub->lock);
        mproc_status_t st = send_chunk(pool, session, w, i, &msg, lent, nlent);
        mproc__wbuf_free(&msg);
        free(lent);
        mproc__os_mutex_lock(&pool->hub->lock);
        if (job)
            job->lent_sends--;
        if ((st == MPROC_ENOMEM || st == MPROC_ETOOBIG || st == MPROC_EINVAL) && w->held == c)
            unsent(pool, w, st);
        /* Wake only who waits for this: the caller of a waiting call once
         * its job is ready and no send reads its memory (await_lent in
         * pool.c), or the handler waiting for a worker's sends to end. A
         * caller woken at every chunk, to find its job unfinished, cost
         * the sending thread two context switches per chunk. */
        if ((--w->sending == 0 && pool->awaiting_sends) ||
            (job && !job->lent_sends && job->ready))
            mproc__os_cond_broadcast(&pool->hub->changed);
    }
}

void mproc__pool_await_sends(mproc_pool_t *pool, const worker_t *w)
{
    pool->awaiting_sends++;
    while (w->sending)
        (void)mproc__hub_wait(pool->hub, -1.0);
    pool->awaiting_sends--;
}

int mproc__pool_busy(const mproc_pool_t *pool)
{
    for (int i = 0; i < pool->nworkers; i++)
        if (pool->workers[i].held)
            return 1;
    return pool->pending || pool->unsent;
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
