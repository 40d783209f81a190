/*
 * Python's
 *
 *   with Pool(4) as pool:
 *       print(pool.map(square, range(10)))
 *       for r in pool.imap_unordered(square, range(5)): print("got", r)
 *
 * in C, and what Python's Pool cannot do: a worker killed in the middle of a
 * task fails that task, and the pool carries on.
 */
#include <mproc/mproc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_demo.h"

static int crash(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    /* A bug in the task kills the worker. Not abort(): an MSVC Debug CRT
     * shows a dialog there and the worker never dies. SIGSEGV's default
     * action ends the process at once everywhere (POSIX: killed by the
     * signal; Windows CRT: exit code 3), with no dialog or core prompt. */
    raise(SIGSEGV);
    _Exit(3); /* if the program ignores SIGSEGV */
}
MPROC_TASK(crash)

int main(int argc, char **argv)
{
    mproc_status_t st = mproc_init(argc, argv);
    mproc_pool_options_t opts = MPROC_POOL_OPTIONS_INIT;
    opts.processes = 4;
    mproc_pool_t *pool = NULL;
    if (!st)
        st = mproc_pool_create(&pool, &opts);
    if (st) {
        fprintf(stderr, "%s\n", mproc_strerror(st));
        return 1;
    }

    st = map_and_imap(pool);

    /* apply() with the result object, to read why the task failed; NULL if
     * the call itself failed, so the free below is safe either way. */
    mproc_async_result_t *r;
    int code = 0;
    const char *why = "";
    st = mproc_pool_apply(pool, crash, NULL, 0, &r);
    mproc_async_result_error(r, &code, &why);
    printf("crashing task: %s (%s)\n", mproc_err_name(st), why);
    mproc_async_result_free(r);
    /* apply() of a fixed-size value: one call. */
    long long seven = 7, result = 0;
    st = mproc_pool_apply_into(pool, square, &seven, sizeof seven, &result, sizeof result, NULL);
    printf("and the pool carries on: square(7) = %lld\n", result);

    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);
    mproc_pool_free(pool);
    return st ? 1 : 0;
}
