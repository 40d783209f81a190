/*
 * A pool worker reached through a transport (pool_transport.h): the same
 * chunks and results as a local worker's, over the backend's messages. Its
 * setup comes as the first message instead of as process arguments, and
 * names the initializer: a remote process shares no addresses with the pool.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "mproc/pool_transport.h"
#include "pool_wire.h"

mproc_status_t mproc__pool_setup_encode(const char *init_name, const mproc__wbuf_t *initargs,
                                        mproc__wbuf_t *out)
{
    mproc_status_t st = mproc__wbuf_put_str(out, init_name);
    if (!st) st = mproc__wbuf_put_u32(out, (uint32_t)initargs->len);
    if (!st) st = mproc__wbuf_put(out, initargs->data, initargs->len);
    return st;
}

/* Decode the setup and run the initializer it names: 0 or a worker exit code;
 * *result receives the initializer's return value. */
static int run_setup(const void *data, size_t len, int32_t *result)
{
    mproc__rbuf_t r = {data, len, 0};
    char *name = NULL;
    uint32_t n = 0;
    if (mproc__rbuf_get_str(&r, &name) || mproc__rbuf_get_u32(&r, &n) || n != len - r.pos) {
        free(name);
        return MPROC_EXIT_WORKER_ARGS;
    }
    mproc_target_fn init = *name ? mproc__target_by_name(name) : NULL;
    int bad = *name && !init;
    free(name);
    if (bad)
        return MPROC_EXIT_WORKER_ARGS;
    if (init) {
        mproc_args_t *ia = NULL;
        if (mproc_task_args(r.data + r.pos, n, &ia))
            return MPROC_EXIT_WORKER_INITARGS;
        *result = (int32_t)init(ia);
        mproc_args_free(ia);
    }
    return 0;
}

/* Set up from the first message and tell the pool how it went, as a local
 * worker does: the initializer's return value, or the exit code when the
 * setup could not be used (the pool then fails, a remote worker possibly
 * being one it cannot see end). 0, or the worker exit code. */
static int set_up(const mproc_worker_io_t *io, const void *data, size_t len)
{
    int32_t result = 0;
    int rc = run_setup(data, len, &result);
    int32_t reply = rc ? rc : result;
    if (io->send(io->self, &reply, sizeof reply))
        return MPROC_EXIT_WORKER_SEND;
    return rc ? rc : result ? MPROC_EXIT_WORKER_INIT : 0;
}

int mproc_pool_serve(const mproc_worker_io_t *io)
{
    const void *data;
    size_t len;
    if (!io || !io->recv || !io->send)
        return MPROC_EXIT_WORKER_ARGS;
    mproc_status_t first = io->recv(io->self, &data, &len);
    if (first == MPROC_EEOF)
        return 0; /* ended before a pool came */
    int rc = first ? MPROC_EXIT_WORKER_RECV : set_up(io, data, len);
    mproc_task_out_t out = {{0}, 0, NULL, NULL, 0, 0};
    mproc__wbuf_t res = {0}; /* reused: no fresh pages per chunk */
    while (!rc) {
        mproc_status_t st = io->recv(io->self, &data, &len);
        if (st == MPROC_EEOF)
            break;
        if (st) {
            rc = MPROC_EXIT_WORKER_RECV;
            break;
        }
        mproc__rbuf_t r = {data, len, 0};
        st = mproc__pool_run_chunk(&r, &res, &out);
        if (st || io->send(io->self, res.data, res.len))
            rc = MPROC_EXIT_WORKER_SEND;
    }
    mproc__wbuf_free(&res);
    mproc__wbuf_free(&out.output);
    free(out.message);
    return rc;
}
