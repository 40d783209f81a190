/* Helpers for the figures that start children (queue.c, sync.c). */
#include "children.h"

#include "../bench.h"

void bench_join_ok(mproc_process_t *p)
{
    int64_t code = -1;
    mproc_status_t st = mproc_process_join(p, MPROC_FOREVER);
    if (!st)
        st = mproc_process_exitcode(p, &code);
    if (st)
        bench_fail("join", mproc_strerror(st));
    if (code != 0)
        bench_fail("child", "failed");
    mproc_process_free(p);
}
