/*
 * What docs/mpi.md claims about a dying worker (a task calls exit(7)):
 * - under mpiexec, Open MPI aborts the whole job: mpiexec ends with a
 *   failure instead of hanging (tests/mpi/expect_abort.sh checks that);
 * - started alone, with spawned workers on this host, the pool sees the
 *   worker die: its task fails with MPROC_EWORKERLOST, and the program goes
 *   on and ends normally.
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

static int fine(const void *in, size_t len, mproc_task_out_t *out)
{
    return mproc_task_output(out, in, len);
}
MPROC_TASK(fine)

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
    mproc_status_t died = mproc_async_result_get(r, 60);
    int code = 0;
    const char *why = "";
    mproc_async_result_error(r, &code, &why);
    printf("mpi_fault: survived with %s (code %d, %s)\n", mproc_err_name(died), code, why);
    mproc_async_result_free(r);
    /* The other worker takes it, unless Open MPI ended it too. */
    st = mproc_pool_apply(pool, fine, "x", 1, &r);
    mproc_async_result_error(r, &code, &why);
    printf("mpi_fault: the next task: %s (%s)\n", mproc_err_name(st), st ? why : "");
    mproc_async_result_free(r);
    mproc_pool_free(pool);
    printf("mpi_fault: pool freed\n");
    return died == MPROC_EWORKERLOST ? 0 : 1;
}
