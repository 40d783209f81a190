/*
 * The C sides of the MPI figures, each run as
 *   bench_mpi <figure> <iterations> <side>
 * with side `mpi` (the Pool with the MPI transport, under mpiexec -n 3: two
 * worker ranks), `local` (the local Pool(2), started alone) or `raw` (plain
 * MPI_Send/MPI_Recv of the same messages, under mpiexec -n 3).
 *
 * pool_map (bench/mproc/pool.c): map of square over n int64 (default
 * chunksize, n / 8), items/s. mpi_map_1MiB: map over n items of 1 MiB, each
 * task returning 8 bytes, B/s of input; raw sends the n messages of 1 MiB
 * to the two ranks in turn, each answering 8 bytes, as a chunk's results
 * would (BENCH_RAW_SPAN=125: each rank receives into 125 MiB in turn, as a
 * pool worker receives a chunk of 125 items, instead of one cache-hot MiB);
 * BENCH_CHUNKSIZE=k maps in chunks of k items instead of the pool's default).
 */
#include <mpi.h>
#include <mproc/mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../bench.h"
#include "../mproc/pool_bench.h"

#define MIB ((size_t)1 << 20)

enum { SIDE_MPI, SIDE_LOCAL, SIDE_RAW };
static int side;

static void check(const char *what, mproc_status_t st)
{
    if (st)
        bench_fail(what, mproc_strerror(st));
}

static int size_of(const void *in, size_t len, mproc_task_out_t *out)
{
    int64_t n = (int64_t)len + ((const unsigned char *)in)[len - 1];
    return mproc_task_output(out, &n, sizeof n);
}
MPROC_TASK(size_of)

/* The raw floor: rank 0 sends n messages of 1 MiB, ranks 1 and 2 in turn,
 * and collects an 8-byte answer for each. */
static double raw_1MiB(long n, unsigned char *buf)
{
    long counts[2] = {(n + 1) / 2, n / 2};
    double t0 = bench_now();
    for (int r = 0; r < 2; r++)
        MPI_Send(&counts[r], 1, MPI_LONG, r + 1, 1, MPI_COMM_WORLD);
    for (long i = 0; i < n; i++)
        MPI_Send(buf, (int)MIB, MPI_BYTE, 1 + (int)(i % 2), 2, MPI_COMM_WORLD);
    for (long i = 0; i < n; i++) {
        int64_t answer;
        MPI_Recv(&answer, 8, MPI_BYTE, MPI_ANY_SOURCE, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    return (double)n * (double)MIB / (bench_now() - t0);
}

static void raw_worker(void)
{
    /* BENCH_RAW_SPAN=k: receive into k MiB in turn (a pool worker receives a
     * chunk of k items into one buffer) instead of one cache-hot MiB. */
    const char *k = getenv("BENCH_RAW_SPAN");
    size_t span = k && atoi(k) > 0 ? (size_t)atoi(k) : 1;
    unsigned char *big = calloc(span, MIB);
    if (!big)
        bench_fail("raw_worker", "no memory");
    for (;;) {
        long count;
        MPI_Recv(&count, 1, MPI_LONG, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (count < 0)
            break;
        for (long i = 0; i < count; i++) {
            unsigned char *buf = big + (size_t)(i % (long)span) * MIB;
            MPI_Recv(buf, (int)MIB, MPI_BYTE, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            int64_t answer = (int64_t)MIB + buf[MIB - 1];
            MPI_Send(&answer, 8, MPI_BYTE, 0, 3, MPI_COMM_WORLD);
        }
    }
    free(big);
}

static double map_1MiB(long n)
{
    unsigned char *buf = malloc(MIB);
    memset(buf, 7, MIB);
    if (side == SIDE_RAW) {
        double rate = raw_1MiB(n, buf);
        free(buf);
        return rate;
    }
    const void **items = malloc((size_t)n * sizeof *items);
    size_t *lens = malloc((size_t)n * sizeof *lens);
    for (long i = 0; i < n; i++) {
        items[i] = buf; /* the same bytes each time, as the raw side sends */
        lens[i] = MIB;
    }
    mproc_pool_t *pool = bench_pool2();
    mproc_async_result_t *r = NULL;
    /* BENCH_CHUNKSIZE=k: chunks of k items (default: the pool's choice). */
    const char *k = getenv("BENCH_CHUNKSIZE");
    size_t chunksize = k && atoi(k) > 0 ? (size_t)atoi(k) : 0;
    double t0 = bench_now();
    check("mproc_pool_map", mproc_pool_map(pool, size_of, items, lens, (size_t)n, chunksize, &r));
    double elapsed = bench_now() - t0;
    const void *p;
    size_t len;
    int64_t v = 0;
    check("mproc_async_result_item", mproc_async_result_item(r, (size_t)n - 1, &p, &len));
    memcpy(&v, p, sizeof v);
    if (v != (int64_t)MIB + 7)
        bench_fail("mpi_map_1MiB", "wrong result");
    mproc_async_result_free(r);
    bench_pool_done(pool);
    free(items);
    free(lens);
    free(buf);
    return (double)n * (double)MIB / elapsed;
}
BENCH_FIGURE("mpi_map_1MiB", "B/s", map_1MiB)

int main(int argc, char **argv)
{
    if (argc != 4)
        bench_fail("usage", "bench_mpi <figure> <iterations> <mpi|local|raw>");
    side = strcmp(argv[3], "mpi") == 0 ? SIDE_MPI : strcmp(argv[3], "raw") == 0 ? SIDE_RAW
                                                                                 : SIDE_LOCAL;
    int rc;
    if (side == SIDE_RAW) {
        MPI_Init(&argc, &argv);
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        if (rank != 0) {
            raw_worker();
            MPI_Finalize();
            return 0;
        }
        rc = bench_main(3, argv);
        long stop = -1;
        for (int r = 1; r <= 2; r++)
            MPI_Send(&stop, 1, MPI_LONG, r, 1, MPI_COMM_WORLD);
        MPI_Finalize();
        return rc;
    }
    if (side == SIDE_MPI)
        bench_pool_transport = mproc_mpi_transport();
    /* First: worker ranks (mpi) and spawned children (local) stay inside. */
    mproc_status_t st = side == SIDE_MPI ? mproc_mpi_init(&argc, &argv) : mproc_init(argc, argv);
    if (st)
        bench_fail("init", mproc_strerror(st));
    return bench_main(3, argv);
}
