/* A pool worker: run the initializer, then chunks of tasks until EOF. */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "fault.h"
#include "pool_wire.h"

#if defined(_MSC_VER)
#define NOINLINE __declspec(noinline)
#elif defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Any output but a fixed-size map's of 8 bytes: apart, so that the common
 * case below saves no registers and makes no call. */
static NOINLINE mproc_status_t output_slow(mproc_task_out_t *out, const void *data, size_t len)
{
    if (out && out->slot && len == out->slot_size && data) {
        memcpy(out->slot, data, len);
        out->in_slot = 1;
        return MPROC_OK;
    }
    if (!out || (!data && len))
        return MPROC_EINVAL;
    out->output.len = 0;
    out->in_slot = 0;
    return mproc__wbuf_put(&out->output, data, len);
}

mproc_status_t mproc_task_output(mproc_task_out_t *out, const void *data, size_t len)
{
    /* A fixed-size map's item of 8 bytes (the commonest): one plain move. */
    if (len == 8 && out && out->slot && out->slot_size == 8 && data) {
        memcpy(out->slot, data, 8);
        out->in_slot = 1;
        return MPROC_OK;
    }
    return output_slow(out, data, len);
}

int mproc_task_fail(mproc_task_out_t *out, int code, const char *message)
{
    if (out) {
        out->code = code;
        free(out->message);
        out->message = message ? mproc__strdup(message) : NULL;
    }
    return code;
}

mproc_status_t mproc_task_args(const void *input, size_t len, mproc_args_t **out)
{
    if (out)
        *out = NULL;
    if (!out || (!input && len))
        return MPROC_EINVAL;
    mproc__rbuf_t r = {input, len, 0};
    mproc_status_t st = mproc__args_decode(&r, out);
    if (!st && r.pos != len) {
        mproc_args_free(*out);
        *out = NULL;
        st = MPROC_EINVAL;
    }
    return st;
}

static void run_one(mproc_task_fn fn, const void *in, size_t len, mproc_task_out_t *out)
{
    out->output.len = 0;
    out->code = 0;
    out->in_slot = 0;
    if (out->message) {
        free(out->message);
        out->message = NULL;
    }
    int rc = fn(in, len, out);
    if (rc && !out->code)
        out->code = rc;
    MPROC_KILL_POINT("pool.worker.after_task");
}

static mproc_status_t put_record(mproc__wbuf_t *b, int32_t code, const void *p, size_t n)
{
    mproc_status_t st = mproc__wbuf_put(b, &code, sizeof code);
    uint64_t n64 = n;
    if (!st) st = mproc__wbuf_put(b, &n64, sizeof n64);
    if (!st) st = mproc__wbuf_put(b, p, n);
    return st;
}

/* The failure record of an item: its code and message. */
static mproc_status_t put_failure(mproc__wbuf_t *b, const mproc_task_out_t *out)
{
    const char *msg = out->message ? out->message : "";
    return put_record(b, out->code, msg, strlen(msg));
}

/* The task a chunk names: by name when registered; a fork worker may also be
 * sent the pointer itself. */
/* A fixed-size chunk with failures: replace the bare output array (at raw_at)
 * by one record per item, failed ones carrying their code and message. */
static mproc_status_t fixed_as_records(mproc__wbuf_t *res, size_t raw_at, size_t out_size,
                                       size_t count, const int32_t *codes,
                                       char *const *messages)
{
    size_t raw_size = out_size * count;
    unsigned char *raw = malloc(raw_size + 1);
    if (!raw)
        return MPROC_ENOMEM;
    memcpy(raw, res->data + raw_at, raw_size);
    res->len = raw_at;
    mproc_status_t st = MPROC_OK;
    for (size_t i = 0; i < count && !st; i++) {
        const char *msg = messages[i] ? messages[i] : "";
        st = codes[i] ? put_record(res, codes[i], msg, strlen(msg))
                      : put_record(res, 0, raw + i * out_size, out_size);
    }
    free(raw);
    return st;
}

/* The failures of a fixed-size chunk, kept aside until its end. */
typedef struct failures {
    int32_t *codes;
    char **messages;
    uint64_t n;
} failures_t;

/* Item i did not plainly succeed (task returned rc): a failure's code and
 * message are kept; a success that left a message behind loses it. */
static mproc_status_t settle(failures_t *f, size_t i, size_t count, int rc, mproc_task_out_t *out)
{
    if (!out->code)
        out->code = rc;
    if (!out->code && !out->in_slot)
        mproc_task_fail(out, MPROC__POOL_WRONG_SIZE,
                        "output size differs from the array's element size");
    if (!out->code) {
        free(out->message);
        out->message = NULL;
        return MPROC_OK;
    }
    if (!f->codes) {
        f->codes = calloc(count, sizeof *f->codes);
        f->messages = calloc(count, sizeof *f->messages);
        if (!f->codes || !f->messages)
            return MPROC_ENOMEM;
    }
    f->codes[i] = out->code;
    f->messages[i] = out->message;
    out->message = NULL;
    out->code = 0;
    f->n++;
    return MPROC_OK;
}

/* MODE_FIXED: every task runs once; its output goes straight into the reply.
 * The chunk's head was checked: its inputs are all there, its outputs fit.
 * Per item only the call and one test: what run_one resets (code, message)
 * is clean on entry and cleaned by settle() whenever a task sets it. */
static mproc_status_t run_fixed(mproc__rbuf_t *r, mproc_task_fn fn, const mproc__pool_chunk_t *h,
                                mproc__wbuf_t *res, mproc_task_out_t *out, uint64_t *nfail)
{
    size_t in_size = (size_t)h->in_size, out_size = (size_t)h->out_size, count = (size_t)h->count;
    size_t raw_at;
    mproc_status_t st = mproc__wbuf_reserve(res, out_size * count, &raw_at);
    if (st)
        return st;
    failures_t f = {NULL, NULL, 0};
    unsigned char *slots = res->data + raw_at;
    const unsigned char *inputs = r->data + r->pos;
    out->code = 0;
    free(out->message);
    out->message = NULL;
    out->slot_size = out_size;
    /* Few live values, so that the loop keeps them in registers. */
    const unsigned char *end = inputs + count * in_size;
    out->slot = slots;
    for (const unsigned char *in = inputs; in != end; in += in_size, out->slot += out_size) {
        out->in_slot = 0;
        int rc = fn(in, in_size, out);
        MPROC_KILL_POINT("pool.worker.after_task");
        if ((rc | out->code) || !out->in_slot || out->message) {
            st = settle(&f, (size_t)(in - inputs) / in_size, count, rc, out);
            if (st)
                break;
        }
    }
    out->slot = NULL; /* the next chunk may be of another mode */
    *nfail = f.n;
    if (!st && f.n)
        st = fixed_as_records(res, raw_at, out_size, count, f.codes, f.messages);
    for (size_t i = 0; f.messages && i < count; i++)
        free(f.messages[i]);
    free(f.messages);
    free(f.codes);
    return st;
}

/* MODE_CHUNK: the chunk task runs once on all the chunk's inputs, which the
 * message aligned; a failure fails every item with its code. */
static mproc_status_t run_chunked(mproc__rbuf_t *r, mproc_chunk_task_fn fn,
                                  const mproc__pool_chunk_t *h, mproc__wbuf_t *res,
                                  uint64_t *nfail)
{
    size_t in_size = (size_t)h->in_size, out_size = (size_t)h->out_size, count = (size_t)h->count;
    size_t raw_at;
    const unsigned char *inputs = r->data + r->pos;
    unsigned char *copy = NULL;
    mproc_status_t st = mproc__wbuf_reserve(res, out_size * count, &raw_at);
    if (!st && (uintptr_t)inputs % MPROC__POOL_ALIGN) { /* not as a transport delivered it */
        copy = malloc(in_size * count);
        st = copy ? MPROC_OK : MPROC_ENOMEM;
        if (copy)
            inputs = memcpy(copy, inputs, in_size * count);
    }
    if (st)
        return st;
    int rc = fn(inputs, res->data + raw_at, count);
    free(copy);
    MPROC_KILL_POINT("pool.worker.after_task");
    if (!rc)
        return MPROC_OK;
    int32_t *codes = malloc(count * sizeof *codes);
    char **messages = calloc(count, sizeof *messages);
    st = codes && messages ? MPROC_OK : MPROC_ENOMEM;
    for (size_t i = 0; !st && i < count; i++)
        codes[i] = rc;
    if (!st)
        st = fixed_as_records(res, raw_at, out_size, count, codes, messages);
    *nfail = count;
    free(codes);
    free(messages);
    return st;
}

/* MODE_BYTES: one record per item, its output or its failure. */
static mproc_status_t run_bytes(mproc__rbuf_t *r, mproc_task_fn fn, mproc__pool_chunk_t *h,
                                mproc__wbuf_t *res, mproc_task_out_t *out, uint64_t *nfail)
{
    mproc_status_t st = MPROC_OK;
    for (uint64_t i = 0; i < h->count && !st; i++) {
        const unsigned char *in;
        size_t len;
        st = mproc__pool_chunk_input(r, h, &in, &len);
        if (st)
            break;
        run_one(fn, in, len, out);
        *nfail += out->code != 0;
        st = out->code ? put_failure(res, out)
                       : put_record(res, 0, out->output.data, out->output.len);
    }
    return st;
}

mproc_status_t mproc__pool_run_chunk(mproc__rbuf_t *r, mproc__wbuf_t *res, mproc_task_out_t *out)
{
    mproc__pool_chunk_t h;
    mproc_status_t st = mproc__pool_chunk_head(r, &h);
    if (st)
        return st;
    uint64_t job = h.job;
    /* By name when registered; a fork worker may also be sent the pointer itself. */
    mproc_task_fn fn = *h.name ? mproc__task_by_name(h.name) : (mproc_task_fn)(intptr_t)h.fn;
    free(h.name);
    if (!fn)
        return MPROC_ENOTREGISTERED;
    res->len = 0;
    uint64_t nfail = 0;
    st = mproc__wbuf_put(res, &job, sizeof job);
    if (!st) st = mproc__wbuf_put(res, &h.start, sizeof h.start);
    if (!st) st = mproc__wbuf_put(res, &h.count, sizeof h.count);
    size_t nfail_at = res->len;
    if (!st) st = mproc__wbuf_put(res, &nfail, sizeof nfail);
    if (!st)
        st = h.mode == MPROC__POOL_MODE_FIXED ? run_fixed(r, fn, &h, res, out, &nfail)
             : h.mode == MPROC__POOL_MODE_CHUNK
                 ? run_chunked(r, (mproc_chunk_task_fn)(void (*)(void))fn, &h, res, &nfail)
                 : run_bytes(r, fn, &h, res, out, &nfail);
    if (!st)
        memcpy(res->data + nfail_at, &nfail, sizeof nfail);
    return st;
}

/* Run the initializer (if any) on initargs, the items from index `from` on,
 * and tell the pool its return value: the pool's first message from a worker. */
static int initialize(mproc_connection_t *c, mproc_target_fn init, const mproc_args_t *args,
                      size_t from)
{
    int32_t code = 0;
    if (init) {
        mproc_args_t *ia = NULL;
        if (mproc_args_create(&ia) || mproc__args_append(ia, args, from)) {
            mproc_args_free(ia);
            return MPROC_EXIT_WORKER_INITARGS;
        }
        code = (int32_t)init(ia);
        mproc_args_free(ia);
    }
    if (mproc_connection_send_bytes(c, &code, sizeof code))
        return MPROC_EXIT_WORKER_SEND;
    return code ? MPROC_EXIT_WORKER_INIT : 0;
}

/* args: connection, initializer name, initializer pointer, maxtasks, then initargs' items. */
static int pool_worker(const mproc_args_t *args)
{
    mproc_connection_t *c;
    const char *init_name = "";
    int64_t init_ptr = 0, maxtasks = 0;
    if (mproc_args_get_connection(args, 0, &c) || mproc_args_get_str(args, 1, &init_name) ||
        mproc_args_get_int(args, 2, &init_ptr) || mproc_args_get_int(args, 3, &maxtasks))
        return MPROC_EXIT_WORKER_ARGS;
    mproc_target_fn init = *init_name ? mproc__target_by_name(init_name)
                                      : (mproc_target_fn)(intptr_t)init_ptr;
    int failed = initialize(c, init, args, 4);
    if (failed)
        return failed;
    MPROC_KILL_POINT("pool.worker.after_init");
    mproc_task_out_t out = {{0}, 0, NULL, NULL, 0, 0};
    mproc__wbuf_t res = {0}, chunk = {0}; /* reused: no fresh pages per chunk */
    for (int64_t done = 0; maxtasks == 0 || done < maxtasks; done++) {
        mproc_status_t st = mproc__connection_recv_reuse(c, MPROC_FOREVER, &chunk);
        if (st == MPROC_EEOF)
            break; /* the pool closed this worker's connection: done */
        if (st)
            return MPROC_EXIT_WORKER_RECV;
        MPROC_KILL_POINT("pool.worker.after_recv");
        mproc__rbuf_t r = {chunk.data, chunk.len, 0};
        st = mproc__pool_run_chunk(&r, &res, &out);
        if (st || mproc_connection_send_bytes(c, res.data, res.len))
            return MPROC_EXIT_WORKER_SEND;
        MPROC_KILL_POINT("pool.worker.after_send");
    }
    mproc__wbuf_free(&res);
    mproc__wbuf_free(&chunk);
    mproc__wbuf_free(&out.output);
    free(out.message);
    mproc_connection_free(c);
    return 0;
}

static mproc_target_entry_t worker_entry = {pool_worker, "mproc__pool_worker", NULL};

void mproc__pool_register(void)
{
    (void)mproc_register_target(&worker_entry);
}

mproc_target_fn mproc__pool_worker_target(void)
{
    return pool_worker;
}
