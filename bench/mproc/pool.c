/* pool_map: Pool(2) maps square over 1,000,000 integers (default chunksize),
 * items/s; for the sweep, parameters: workers (default 2), chunksize (default
 * 0: Python's), and a third, 1: the same with a chunk task (square_chunk, a
 * vectorizable loop per chunk) instead of a call per item. pool_apply_rtt: Pool(2).apply of the identity in a loop, mean
 * seconds per call. bench_mpi runs the same figures on MPI ranks. */
#include <mproc/mproc.h>
#include <stdlib.h>
#include <string.h>

#include "../bench.h"
#include "pool_bench.h"

const mproc_pool_transport_t *bench_pool_transport;

static void check(const char *what, mproc_status_t st)
{
    if (st)
        bench_fail(what, mproc_strerror(st));
}

static int square(const void *in, size_t len, mproc_task_out_t *out)
{
    int64_t v;
    (void)len;
    memcpy(&v, in, sizeof v);
    v *= v;
    return mproc_task_output(out, &v, sizeof v);
}
MPROC_TASK(square)

static int square_chunk(const void *in, void *out, size_t n)
{
    const int64_t *a = in;
    int64_t *b = out;
    for (size_t i = 0; i < n; i++)
        b[i] = a[i] * a[i];
    return 0;
}
MPROC_CHUNK_TASK(square_chunk)

static int identity(const void *in, size_t len, mproc_task_out_t *out)
{
    return mproc_task_output(out, in, len);
}
MPROC_TASK(identity)

static mproc_pool_t *pool_of(long workers)
{
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    mproc_pool_t *pool;
    o.processes = (int)workers;
    o.transport = bench_pool_transport;
    check("mproc_pool_create", mproc_pool_create(&pool, &o));
    return pool;
}

mproc_pool_t *bench_pool2(void)
{
    return pool_of(2);
}

void bench_pool_done(mproc_pool_t *pool)
{
    check("mproc_pool_close", mproc_pool_close(pool));
    check("mproc_pool_join", mproc_pool_join(pool, MPROC_FOREVER));
    mproc_pool_free(pool);
}

static double pool_map(long n)
{
    int64_t *in = malloc((size_t)n * sizeof *in), *out = malloc((size_t)n * sizeof *out);
    for (long i = 0; i < n; i++)
        in[i] = i;
    mproc_pool_t *pool = pool_of(bench_param(0, 2));
    size_t chunksize = (size_t)bench_param(1, 0);
    int chunked = bench_param(2, 0) == 1;
    double t0 = bench_now();
    check("mproc_pool_map_array",
          chunked ? mproc_pool_map_array_chunks(pool, square_chunk, in, (size_t)n, sizeof *in,
                                                out, sizeof *out, chunksize, NULL)
                  : mproc_pool_map_array(pool, square, in, (size_t)n, sizeof *in, out,
                                         sizeof *out, chunksize, NULL));
    double elapsed = bench_now() - t0;
    if (out[n - 1] != (int64_t)(n - 1) * (n - 1))
        bench_fail("pool_map", "wrong result");
    bench_pool_done(pool);
    free(in);
    free(out);
    return (double)n / elapsed;
}
BENCH_FIGURE("pool_map", "items/s", pool_map)

static void apply_one(void *pool)
{
    int64_t v = 1, back = 0;
    check("mproc_pool_apply_into",
          mproc_pool_apply_into(pool, identity, &v, sizeof v, &back, sizeof back, NULL));
}

static double pool_apply_rtt(long n)
{
    mproc_pool_t *pool = pool_of(2);
    double rtt = bench_median_window(n, apply_one, pool);
    bench_pool_done(pool);
    return rtt;
}
BENCH_FIGURE("pool_apply_rtt", "s", pool_apply_rtt)
