/*
 * pool_squares.c on MPI ranks: the same Pool calls, with one option more
 * (opts.transport = mproc_mpi_transport()) and mproc_mpi_init() instead of
 * mproc_init(). Two ways to run it:
 *
 *   mpiexec -n 3 ./pool_mpi   rank 0 runs main, ranks 1-2 are the workers
 *   ./pool_mpi                the pool spawns 2 workers (MPI_Comm_spawn)
 *
 * What pool_squares shows last, a crashing task failing alone, is not here:
 * a dying rank ends the whole MPI job (docs/mpi.md).
 */
#include <mproc/mpi.h>
#include <stdio.h>
#include <string.h>

#include "pool_demo.h"

/* Which rank ran a task: -1 would mean this process, not an MPI worker. */
static int rank(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len;
    int r = mproc_mpi_rank();
    return mproc_task_output(out, &r, sizeof r);
}
MPROC_TASK(rank)

int main(int argc, char **argv)
{
    mproc_status_t st = mproc_mpi_init(&argc, &argv); /* worker ranks stay inside */
    mproc_pool_options_t opts = MPROC_POOL_OPTIONS_INIT;
    opts.processes = 2;
    opts.transport = mproc_mpi_transport();
    mproc_pool_t *pool = NULL;
    if (!st)
        st = mproc_pool_create(&pool, &opts);
    if (st) {
        fprintf(stderr, "%s\n", mproc_strerror(st));
        return 1;
    }

    st = map_and_imap(pool);

    int where = -1;
    mproc_pool_apply_into(pool, rank, NULL, 0, &where, sizeof where, NULL);
    long long seven = 7, result = 0;
    st = mproc_pool_apply_into(pool, square, &seven, sizeof seven, &result, sizeof result, NULL);
    printf("square(7) = %lld, and a task ran on MPI rank %d (this is rank %d)\n", result, where,
           mproc_mpi_rank());

    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);
    mproc_pool_free(pool);
    return st ? 1 : 0;
}
