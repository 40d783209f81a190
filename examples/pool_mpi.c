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

static int square(const void *in, size_t len, mproc_task_out_t *out)
{
    long long x;
    if (len != sizeof x)
        return mproc_task_fail(out, 1, "expected a long long");
    memcpy(&x, in, sizeof x);
    x *= x;
    return mproc_task_output(out, &x, sizeof x);
}
MPROC_TASK(square)

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

    long long in[10], out[10];
    for (int i = 0; i < 10; i++)
        in[i] = i;
    st = mproc_pool_map_array(pool, square, in, 10, sizeof in[0], out, sizeof out[0], 0, NULL);
    printf("map:");
    for (int i = 0; i < 10 && !st; i++)
        printf(" %lld", out[i]);
    printf("\n");

    const void *items[5];
    size_t lens[5];
    for (int i = 0; i < 5; i++) {
        items[i] = &in[i];
        lens[i] = sizeof in[i];
    }
    mproc_pool_iter_t *it;
    if (mproc_pool_imap_unordered(pool, square, items, lens, 5, 1, &it) == MPROC_OK) {
        const void *data;
        size_t len, index;
        long long r;
        while (mproc_pool_iter_next(it, MPROC_FOREVER, &data, &len, &index) == MPROC_OK) {
            memcpy(&r, data, sizeof r);
            printf("imap_unordered: square(%zu) = %lld\n", index, r);
        }
        mproc_pool_iter_free(it);
    }

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
