/* start_join_fork / start_join_spawn: create, start, join and free a Process
 * whose target does nothing; mean seconds per process (median of window
 * means). */
#include <mproc/mproc.h>

#include "../bench.h"

static int empty(const mproc_args_t *args)
{
    (void)args;
    return 0;
}
MPROC_TARGET(empty)

static void check(const char *what, mproc_status_t st)
{
    if (st)
        bench_fail(what, mproc_strerror(st));
}

static void one(void *opts)
{
    mproc_process_t *p;
    check("mproc_process_create", mproc_process_create(&p, empty, NULL, opts));
    check("mproc_process_start", mproc_process_start(p));
    check("mproc_process_join", mproc_process_join(p, MPROC_FOREVER));
    mproc_process_free(p);
}

static double start_join(mproc_start_method_t method, long iterations)
{
    mproc_process_options_t opts = MPROC_PROCESS_OPTIONS_INIT;
    check("mproc_get_context", mproc_get_context(method, &opts.context));
    return bench_median_window(iterations, one, &opts);
}

static double start_join_fork(long iterations)
{
    return start_join(MPROC_METHOD_FORK, iterations);
}
BENCH_FIGURE("start_join_fork", "s", start_join_fork)

static double start_join_spawn(long iterations)
{
    return start_join(MPROC_METHOD_SPAWN, iterations);
}
BENCH_FIGURE("start_join_spawn", "s", start_join_spawn)
