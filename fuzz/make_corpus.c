/*
 * Writes the seed corpus of each fuzz target from real encoded values:
 *   fuzz_make_corpus <dir>   (fuzz/corpus: <dir>/<target>/<seed>)
 * The files are checked in; rerun this when an encoding changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args_internal.h"
#include "mproc/connection.h"
#include "pool_wire.h"
#include "queue_frame.h"

static const char *root;

static void put(const char *target, const char *seed, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, seed);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void check(mproc_status_t st)
{
    if (st) {
        fprintf(stderr, "make_corpus: %s\n", mproc_strerror(st));
        exit(1);
    }
}

static void args_seeds(void)
{
    mproc_args_t *a;
    mproc__wbuf_t b = {0};
    check(mproc_args_create(&a));
    check(mproc__args_encode(a, &b));
    put("fuzz_args", "empty", b.data, b.len);
    check(mproc_args_add_int(a, -42));
    check(mproc_args_add_double(a, 2.5));
    check(mproc_args_add_str(a, "hello"));
    check(mproc_args_add_bytes(a, "\0\1\2", 3));
    b.len = 0;
    check(mproc__args_encode(a, &b));
    put("fuzz_args", "scalars_str_bytes", b.data, b.len);
    mproc__obj_t conn = {MPROC__OBJ_CONNECTION, 3, 2, {5, 6}};
    check(mproc__args_add_object(a, &conn));
    check(mproc__args_add_handle(a, 7));
    check(mproc_args_add_str(a, ""));
    b.len = 0;
    check(mproc__args_encode(a, &b));
    put("fuzz_args", "with_objects", b.data, b.len);
    mproc__wbuf_free(&b);
    mproc_args_free(a);
}

static void frame(mproc__wbuf_t *b, const char *msg, size_t len)
{
    check(mproc__wbuf_put_u32(b, (uint32_t)len));
    check(mproc__wbuf_put(b, msg, len));
}

/* A frame in the long form, as a sender writes one of 4 GiB or more. */
static void long_frame(mproc__wbuf_t *b, const char *msg, uint64_t declared, size_t len)
{
    check(mproc__wbuf_put_u32(b, UINT32_MAX));
    check(mproc__wbuf_put(b, &declared, sizeof declared));
    check(mproc__wbuf_put(b, msg, len));
}

static void connection_seeds(void)
{
    mproc__wbuf_t b = {0};
    frame(&b, "hello", 5);
    put("fuzz_connection", "one", b.data, b.len);
    frame(&b, "", 0);
    frame(&b, "a longer message than sixteen bytes", 35);
    put("fuzz_connection", "three", b.data, b.len);
    b.len = 0;
    frame(&b, "cut short", 9);
    put("fuzz_connection", "truncated", b.data, b.len - 3);
    b.len = 0;
    long_frame(&b, "long form", 9, 9);
    frame(&b, "then short", 10);
    put("fuzz_connection", "long_form", b.data, b.len);
    b.len = 0;
    long_frame(&b, "", (uint64_t)5 << 30, 0); /* above the bound: refused */
    put("fuzz_connection", "long_above_bound", b.data, b.len);
    b.len = 0;
    long_frame(&b, "", UINT64_MAX, 0); /* above any object */
    put("fuzz_connection", "long_impossible", b.data, b.len);
    b.len = 0;
    long_frame(&b, "", 9, 0);
    put("fuzz_connection", "long_header_cut", b.data, 7);
    mproc__wbuf_free(&b);
}

static void put_u64(mproc__wbuf_t *b, uint64_t v)
{
    check(mproc__wbuf_put(b, &v, sizeof v));
}

/* `how`: the target's selector, a chunk (0: decoded; 2 | shift << 2: run). */
static void chunk_head(mproc__wbuf_t *b, unsigned char how, uint64_t count, uint32_t mode,
                       const char *name)
{
    b->len = 0;
    check(mproc__wbuf_put(b, &how, 1));
    put_u64(b, 1);                       /* job */
    put_u64(b, 0);                       /* start */
    put_u64(b, count);
    check(mproc__wbuf_put_u32(b, mode));
    check(mproc__wbuf_put_i64(b, 0));
    check(mproc__wbuf_put_str(b, name));
}

static void result_head(mproc__wbuf_t *b, unsigned char how, uint64_t count, uint64_t nfail)
{
    b->len = 0;
    check(mproc__wbuf_put(b, &how, 1));
    put_u64(b, 1); /* job */
    put_u64(b, 0); /* start */
    put_u64(b, count);
    put_u64(b, nfail);
}

static void record(mproc__wbuf_t *b, int32_t code, const char *p, size_t n)
{
    check(mproc__wbuf_put(b, &code, sizeof code));
    put_u64(b, n);
    check(mproc__wbuf_put(b, p, n));
}

/* A chunk task's chunk: sizes, the padding that aligns its inputs in the
 * message (the selector byte is not part of it), then the inputs. */
static void chunk_task(mproc__wbuf_t *b, unsigned char how, const char *name, const char *in,
                       uint64_t count)
{
    chunk_head(b, how, count, MPROC__POOL_MODE_CHUNK, name);
    put_u64(b, 4); /* in_size */
    put_u64(b, 8); /* out_size */
    uint64_t pad = (MPROC__POOL_ALIGN - (b->len - 1 + 8) % MPROC__POOL_ALIGN) % MPROC__POOL_ALIGN;
    put_u64(b, pad);
    check(mproc__wbuf_put(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", (size_t)pad));
    check(mproc__wbuf_put(b, in, (size_t)count * 4));
}

/* Chunks the target runs with its tasks (fz_task, fz_chunk): the outcomes
 * their inputs choose, by pointer and by name, inputs aligned or not. */
static void run_seeds(mproc__wbuf_t *b)
{
    chunk_head(b, 2, 3, MPROC__POOL_MODE_BYTES, "");
    put_u64(b, 1);
    put_u64(b, 2);
    put_u64(b, 3);
    check(mproc__wbuf_put(b, "\0\1\2\3\3\3", 6)); /* echoed, a bare non-zero return, a message left */
    put("fuzz_pool_wire", "run_bytes", b->data, b->len);
    chunk_head(b, 2, 4, MPROC__POOL_MODE_FIXED, "fz_task");
    put_u64(b, 1);
    put_u64(b, 8);
    check(mproc__wbuf_put(b, "\0\1\2\3", 4)); /* one success, three failures */
    put("fuzz_pool_wire", "run_fixed", b->data, b->len);
    chunk_head(b, 2, 2, MPROC__POOL_MODE_FIXED, "");
    put_u64(b, 1);
    put_u64(b, 8);
    check(mproc__wbuf_put(b, "\0\0", 2)); /* all succeed: the bare array */
    put("fuzz_pool_wire", "run_fixed_bare", b->data, b->len);
    chunk_task(b, 2, "", "\1\0\0\0\2\0\0\0\3\0\0\0", 3);
    put("fuzz_pool_wire", "run_chunk_task", b->data, b->len);
    chunk_task(b, 2 | 3 << 2, "fz_chunk", "\1\0\0\0\2\0\0\0", 2); /* copied to align */
    put("fuzz_pool_wire", "run_chunk_task_unaligned", b->data, b->len);
    chunk_task(b, 2, "", "\377\0\0\0\2\0\0\0", 2); /* the chunk task fails */
    put("fuzz_pool_wire", "run_chunk_task_fails", b->data, b->len);
    chunk_task(b, 0, "square", "\1\0\0\0", 1); /* decoded only */
    put("fuzz_pool_wire", "chunk_chunk_task", b->data, b->len);
}

static void pool_seeds(void)
{
    mproc__wbuf_t b = {0};
    chunk_head(&b, 0, 2, MPROC__POOL_MODE_BYTES, "square");
    put_u64(&b, 2);
    put_u64(&b, 3);
    check(mproc__wbuf_put(&b, "abcde", 5));
    put("fuzz_pool_wire", "chunk_bytes", b.data, b.len);
    chunk_head(&b, 0, 2, MPROC__POOL_MODE_FIXED, "square");
    put_u64(&b, 4);
    put_u64(&b, 8);
    check(mproc__wbuf_put(&b, "\1\0\0\0\2\0\0\0", 8));
    put("fuzz_pool_wire", "chunk_fixed", b.data, b.len);
    result_head(&b, 1, 2, 1);
    record(&b, 0, "ok", 2);
    record(&b, 7, "failed", 6);
    put("fuzz_pool_wire", "result_bytes", b.data, b.len);
    unsigned char fixed4 = 1 | 2 | (3 << 2); /* fixed, 4-byte outputs */
    result_head(&b, fixed4, 2, 0);
    check(mproc__wbuf_put(&b, "\1\0\0\0\4\0\0\0", 8));
    put("fuzz_pool_wire", "result_fixed", b.data, b.len);
    result_head(&b, fixed4, 2, 1);
    record(&b, 0, "\1\0\0\0", 4);
    record(&b, -1, "output size differs", 19);
    put("fuzz_pool_wire", "result_fixed_failure", b.data, b.len);
    run_seeds(&b);
    mproc__wbuf_free(&b);
}

/* A worker's result for the chunk [start, start + 2) of 8-byte outputs, in a
 * frame: a bare array, or records when nfail is not 0; `extra` bytes more. */
static void result_frame(mproc__wbuf_t *b, uint64_t start, uint64_t nfail, size_t extra)
{
    mproc__wbuf_t m = {0};
    uint64_t head[4] = {1, start, 2, nfail};
    check(mproc__wbuf_put(&m, head, sizeof head));
    if (nfail) {
        record(&m, 0, "\1\0\0\0\0\0\0\0", 8);
        record(&m, 5, "failed", 6);
    } else {
        check(mproc__wbuf_put(&m, "\1\0\0\0\0\0\0\0\2\0\0\0\0\0\0\0", 16));
    }
    check(mproc__wbuf_put(&m, "\0\0\0\0", extra));
    frame(b, (const char *)m.data, m.len);
    mproc__wbuf_free(&m);
}

/* fuzz_pool_recv: out_size - 1, count, start, a cut (x 16 bytes), then results. */
static void recv_seed(const char *seed, unsigned char cut, uint64_t start, uint64_t nfail,
                      size_t extra, int twice)
{
    mproc__wbuf_t b = {0};
    unsigned char params[4] = {7, 2, 0, cut};
    check(mproc__wbuf_put(&b, params, sizeof params));
    result_frame(&b, start, nfail, extra);
    if (twice)
        result_frame(&b, 0, !nfail, 0);
    put("fuzz_pool_recv", seed, b.data, b.len);
    mproc__wbuf_free(&b);
}

static void recv_seeds(void)
{
    recv_seed("bare", 255, 0, 0, 0, 0);
    recv_seed("bare_then_records", 255, 0, 0, 0, 1);
    recv_seed("records_then_bare", 255, 0, 1, 0, 1);
    recv_seed("cut_in_head", 1, 0, 0, 0, 0);
    recv_seed("cut_in_outputs", 3, 0, 0, 0, 1);
    recv_seed("another_chunk", 255, 2, 0, 0, 0);
    recv_seed("one_byte_more", 255, 0, 0, 1, 0);
    /* A bare result in a long-form header. */
    mproc__wbuf_t b = {0};
    unsigned char params[4] = {7, 2, 0, 255};
    uint64_t head[4] = {1, 0, 2, 0};
    check(mproc__wbuf_put(&b, params, sizeof params));
    long_frame(&b, (const char *)head, sizeof head + 16, sizeof head);
    check(mproc__wbuf_put(&b, "\3\0\0\0\0\0\0\0\4\0\0\0\0\0\0\0", 16));
    put("fuzz_pool_recv", "long_form", b.data, b.len);
    mproc__wbuf_free(&b);
}

/* Rings as a producer leaves them: messages (one empty), a wrap mark that
 * ends the lap, a frame whose bytes cross the ring's end; the last 4 bytes of
 * each seed are the tail the walk reads up to. */
static void ring_frame(unsigned char *ring, size_t at, uint32_t len, uint32_t seq)
{
    memcpy(ring + at, &len, 4);
    memcpy(ring + at + 4, &seq, 4);
}

static void queue_seeds(void)
{
    static unsigned char ring[4096 + 4];
    uint32_t tail;
    ring_frame(ring, 0, 5, 1);
    memcpy(ring + 8, "hello", 5);
    ring_frame(ring, 16, 0, 2);
    ring_frame(ring, 24, 3, 3);
    memcpy(ring + 32, "abc", 3);
    tail = 40;
    memcpy(ring + 4096, &tail, 4);
    put("fuzz_queue_frames", "messages", ring, sizeof ring);
    ring_frame(ring, 40, 0xFFFFFFFFu, 0); /* wrap: the next frame is at 0 */
    tail = 4096 + 16;
    memcpy(ring + 4096, &tail, 4);
    put("fuzz_queue_frames", "wrap", ring, sizeof ring);
    memset(ring, 0, sizeof ring);
    ring_frame(ring, 4080, 100, 7); /* its bytes run on from the ring's start */
    tail = 4096 + 120;
    memcpy(ring + 4096, &tail, 4);
    put("fuzz_queue_frames", "across_the_end", ring + 4000, sizeof ring - 4000);
    /* decode_alone's view: offset, log2 of the ring, then a jump mark. */
    unsigned char jump[16] = {0};
    uint32_t at = 4096, shift = 24, mark[2] = {0xFFFFFFFEu, 3};
    memcpy(jump, &at, 4);
    memcpy(jump + 4, &shift, 4);
    memcpy(jump + 8, mark, 8);
    put("fuzz_queue_frames", "jump", jump, sizeof jump);
    /* A long message (LONG_MARK, sequence number, u64 length) whose header
     * runs over the ring's end, and decode_alone's view of a forged one. */
    memset(ring, 0, sizeof ring);
    uint64_t big = ((uint64_t)1 << 32) + 3;
    ring_frame(ring, 4088, 0xFFFFFFFDu, 9);
    memcpy(ring, &big, 8);
    tail = 3 * 4096;
    memcpy(ring + 4096, &tail, 4);
    put("fuzz_queue_frames", "long", ring, sizeof ring);
    unsigned char forged[24] = {0};
    uint32_t long_mark[4] = {0xFFFFFFFDu, 1, 7, 0}; /* a long length that is short */
    memcpy(forged, &at, 4);
    memcpy(forged + 4, &shift, 4);
    memcpy(forged + 8, long_mark, 16);
    put("fuzz_queue_frames", "long_forged", forged, sizeof forged);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    args_seeds();
    connection_seeds();
    pool_seeds();
    recv_seeds();
    queue_seeds();
    return 0;
}
