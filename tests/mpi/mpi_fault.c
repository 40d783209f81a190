/*
 * What docs/mpi.md claims about a dying worker rank: a task that ends its
 * process (here exit(7)) cannot be detected by the pool under Open MPI; the
 * job is aborted, so mpiexec (or this program, started alone) ends with a
 * failure instead of hanging. tests/mpi/expect_abort.sh checks that.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc/mpi.h>

static int exits(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    exit(7);
}
MPROC_TASK(exits)

int main(int argc, char **argv)
{
    mproc_status_t st = mproc_mpi_init(&argc, &argv);
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 2;
    o.transport = mproc_mpi_transport();
    mproc_pool_t *pool = NULL;
    if (!st)
        st = mproc_pool_create(&pool, &o);
    if (st) {
        fprintf(stderr, "mpi_fault: %s\n", mproc_strerror(st));
        return 2;
    }
    mproc_async_result_t *r = NULL;
    st = mproc_pool_apply_async(pool, exits, NULL, 0, NULL, &r);
    printf("mpi_fault: submitted (%s)\n", mproc_strerror(st));
    fflush(stdout);
    st = mproc_async_result_get(r, 60);
    printf("mpi_fault: survived with %s\n", mproc_strerror(st));
    mproc_async_result_free(r);
    mproc_pool_free(pool);
    return 0;
}
