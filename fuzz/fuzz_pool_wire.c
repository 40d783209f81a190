/*
 * The pool's two messages (src/pool_wire.h): a chunk of tasks as a worker
 * receives it, and a result as the parent receives it from a worker that may
 * be broken or killed mid-write. The first byte chooses: bit 0 chunk/result.
 * A result: bit 1 a fixed-size map, bits 2-7 its output size minus one.
 * A chunk: bit 1 clear, its head and inputs are only decoded; set, the
 * worker runs it (mproc__pool_run_chunk, every mode, chunk tasks included)
 * with this file's tasks, from bits 2-5 bytes past a 16-byte boundary, and
 * the result it builds must decode as the parent decodes it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mproc/pool.h"
#include "pool_wire.h"

typedef struct span {
    const unsigned char *msg;
    size_t len;
    uint64_t count, visits;
} span_t;

static void visit(void *ctx, size_t i, mproc_status_t status, int32_t code,
                  const unsigned char *p, size_t len)
{
    span_t *s = ctx;
    (void)code;
    if (i >= s->count || s->visits++ != i)
        abort();
    if (status == MPROC_EWORKERLOST ? p != NULL : (p < s->msg || len > (size_t)(s->msg + s->len - p)))
        abort();
}

static void chunk(const unsigned char *data, size_t size)
{
    mproc__rbuf_t r = {data, size, 0};
    mproc__pool_chunk_t h;
    if (mproc__pool_chunk_head(&r, &h) != MPROC_OK)
        return;
    free(h.name);
    if (h.mode != MPROC__POOL_MODE_BYTES) { /* fixed, or a chunk task's aligned inputs */
        if (h.count > (size - r.pos) / h.in_size || h.count > SIZE_MAX / h.out_size)
            abort();
        return;
    }
    /* The head checked every length: each input is there, in order, to the end at most. */
    const unsigned char *end = NULL;
    for (uint64_t i = 0; i < h.count; i++) {
        const unsigned char *p;
        size_t len;
        if (mproc__pool_chunk_input(&r, &h, &p, &len) != MPROC_OK)
            abort();
        if (p < data + r.pos || len > size - (size_t)(p - data) || (end && p != end))
            abort();
        if (len && p[len - 1] != data[p - data + len - 1])
            abort();
        end = p + len;
    }
}

static void result(unsigned char how, const unsigned char *data, size_t size)
{
    uint64_t start = 0, count = 0;
    if (size >= 24) { /* the chunk the parent sent is the one the worker names */
        memcpy(&start, data + 8, 8);
        memcpy(&count, data + 16, 8);
    }
    if (count > 1 << 16)
        return; /* the parent only accepts the count it sent: a real chunk's */
    size_t out_size = (size_t)(how >> 2) + 1;
    unsigned char *fixed = NULL;
    if ((how & 2) && (uint64_t)count * out_size <= 1 << 20)
        fixed = malloc(count * out_size + 1);
    span_t s = {data, size, count, 0};
    int bare = 0;
    if (mproc__pool_decode_result(data, size, start, count, fixed, out_size, &bare, visit, &s) ==
            MPROC_OK &&
        !bare && s.visits != count)
        abort(); /* every item gets an outcome */
    free(fixed);
}

/* Outputs a run chunk may make: far below -malloc_limit_mb (a real parent
 * sizes them from its own array before it sends the chunk). */
#define MOST_OUTPUT ((size_t)1 << 20)
static const unsigned char zeros[MOST_OUTPUT];

/* The element sizes of the chunk being run: what a real task knows itself. */
static size_t task_in_size, task_out_size;

/* A task whose input's last byte picks its outcome: an output (of the map's
 * size, or the input back), a failure with a message, a bare non-zero
 * return, or an output of any size with a message left behind. */
static int fz_task(const void *in, size_t len, mproc_task_out_t *out)
{
    const unsigned char *b = in;
    switch (len ? b[len - 1] & 3 : 0) {
    case 0:
        return task_out_size ? mproc_task_output(out, zeros, task_out_size)
                             : mproc_task_output(out, in, len);
    case 1:
        return mproc_task_fail(out, 7, "failed");
    case 2:
        return 3;
    default:
        (void)mproc_task_output(out, in, len);
        (void)mproc_task_fail(out, 0, "left behind");
        return 0;
    }
}
MPROC_TASK(fz_task)

/* A chunk task: each output is its input's first byte repeated; a chunk
 * whose first or last byte is 0xff fails. pool.h promises both arrays aligned. */
static int fz_chunk(const void *in, void *out, size_t n)
{
    const unsigned char *b = in;
    if ((uintptr_t)in % MPROC__POOL_ALIGN || (uintptr_t)out % MPROC__POOL_ALIGN)
        abort();
    if (n && (b[0] == 0xff || b[n * task_in_size - 1] == 0xff))
        return 9;
    for (size_t i = 0; i < n; i++)
        memset((unsigned char *)out + i * task_out_size, b[i * task_in_size], task_out_size);
    return 0;
}
MPROC_CHUNK_TASK(fz_chunk)

/* Where a chunk's fn field is: after job, start, count and mode. */
#define FN_AT (3 * sizeof(uint64_t) + sizeof(uint32_t))

/* Make the chunk one this file's tasks can run, as a parent would have sent
 * it; 0 if no parent sends it (the task's kind is not the mode's, or the
 * outputs exceed the bound). */
static int runnable(unsigned char *msg, const mproc__pool_chunk_t *h)
{
    int chunked = h->mode == MPROC__POOL_MODE_CHUNK;
    if (h->mode != MPROC__POOL_MODE_BYTES && h->count && h->out_size > MOST_OUTPUT / h->count)
        return 0;
    task_in_size = (size_t)h->in_size;
    task_out_size = (size_t)h->out_size;
    if (*h->name)
        return strcmp(h->name, chunked ? "fz_task" : "fz_chunk") != 0;
    /* By pointer (a fork worker): the parent's own function, never a forged address. */
    mproc_task_fn fn = chunked ? (mproc_task_fn)(void (*)(void))fz_chunk : fz_task;
    int64_t ptr = (int64_t)(intptr_t)fn;
    memcpy(msg + FN_AT, &ptr, sizeof ptr);
    return 1;
}

static void own_item(void *ctx, size_t i, mproc_status_t status, int32_t code,
                     const unsigned char *p, size_t len)
{
    if (status == MPROC_EWORKERLOST)
        abort(); /* the worker's own result is well formed */
    visit(ctx, i, status, code, p, len);
}

/* The worker's reply decodes as the parent decodes it, every item accounted
 * for; a chunk task's outputs are those of its inputs, copied to align or not. */
static void check_reply(const mproc__pool_chunk_t *h, const unsigned char *inputs,
                        const mproc__wbuf_t *res)
{
    size_t out_size = (size_t)h->out_size;
    unsigned char *fixed = NULL;
    if (h->mode != MPROC__POOL_MODE_BYTES)
        fixed = malloc((size_t)h->count * out_size + 1);
    span_t s = {res->data, res->len, h->count, 0};
    int bare = 0;
    if (mproc__pool_decode_result(res->data, res->len, h->start, h->count, fixed, out_size, &bare,
                                  own_item, &s) != MPROC_OK ||
        (!bare && s.visits != h->count))
        abort();
    for (uint64_t i = 0; bare && h->mode == MPROC__POOL_MODE_CHUNK && i < h->count; i++)
        if (fixed[i * out_size + out_size - 1] != inputs[i * h->in_size])
            abort();
    free(fixed);
}

/* Run a chunk as a worker does, its message `shift` bytes past an aligned address. */
static void run(unsigned shift, const unsigned char *data, size_t size)
{
    static mproc_task_out_t out; /* reused from chunk to chunk, as by a worker */
    static mproc__wbuf_t res;
    void *mem = NULL;
    if (posix_memalign(&mem, MPROC__POOL_ALIGN, shift + size + 1) != 0)
        abort();
    unsigned char *msg = (unsigned char *)mem + shift;
    memcpy(msg, data, size);
    mproc__rbuf_t r = {msg, size, 0};
    mproc__pool_chunk_t h;
    mproc_status_t head = mproc__pool_chunk_head(&r, &h);
    const unsigned char *inputs = msg + r.pos;
    r.pos = 0;
    if (head) {
        if (mproc__pool_run_chunk(&r, &res, &out) != head)
            abort(); /* refused as the head was */
    } else if (runnable(msg, &h)) {
        mproc_status_t st = mproc__pool_run_chunk(&r, &res, &out);
        if (st == MPROC_OK)
            check_reply(&h, inputs, &res);
        else if (st != MPROC_ENOTREGISTERED)
            abort();
    }
    free(h.name);
    free(mem);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        result(data[0], data + 1, size - 1);
    else if (data[0] & 2)
        run((data[0] >> 2) & 15, data + 1, size - 1);
    else
        chunk(data + 1, size - 1);
    return 0;
}
