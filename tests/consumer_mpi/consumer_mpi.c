/* Built against an installed libmproc-mpi (find_package COMPONENTS mpi, or
 * pkg-config mproc-mpi): one task on a pool of MPI workers. Started alone,
 * the pool spawns its worker; under mpiexec, rank 1 is the worker. */
#include <mproc/mpi.h>

#include <stdio.h>
#include <string.h>

static int square(const void *in, size_t len, mproc_task_out_t *out)
{
    long long x = 0;
    if (len != sizeof x)
        return mproc_task_fail(out, 1, "expected a long long");
    memcpy(&x, in, sizeof x);
    x *= x;
    return mproc_task_output(out, &x, sizeof x);
}
MPROC_TASK(square)

int main(int argc, char **argv)
{
    mproc_status_t st = mproc_mpi_init(&argc, &argv);
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 1;
    o.transport = mproc_mpi_transport();
    mproc_pool_t *pool = NULL;
    long long x = 7, y = 0;
    if (!st)
        st = mproc_pool_create(&pool, &o);
    if (!st)
        st = mproc_pool_apply_into(pool, square, &x, sizeof x, &y, sizeof y, NULL);
    mproc_pool_free(pool);
    if (st || y != 49) {
        fprintf(stderr, "consumer_mpi: FAILED: %s, got %lld\n", mproc_strerror(st), y);
        return 1;
    }
    printf("consumer_mpi: 7 squared on an MPI worker is 49: ok\n");
    return 0;
}
