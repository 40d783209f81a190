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

static void chunk_head(mproc__wbuf_t *b, uint64_t count, uint32_t mode, const char *name)
{
    b->len = 0;
    check(mproc__wbuf_put(b, "\0", 1)); /* the target's selector: a chunk */
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

static void pool_seeds(void)
{
    mproc__wbuf_t b = {0};
    chunk_head(&b, 2, MPROC__POOL_MODE_BYTES, "square");
    put_u64(&b, 2);
    put_u64(&b, 3);
    check(mproc__wbuf_put(&b, "abcde", 5));
    put("fuzz_pool_wire", "chunk_bytes", b.data, b.len);
    chunk_head(&b, 2, MPROC__POOL_MODE_FIXED, "square");
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
    queue_seeds();
    return 0;
}
