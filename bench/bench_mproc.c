/* The mproc side of the figures: `bench_mproc <figure> <iterations>`. */
#include <mproc/mproc.h>

#include "bench.h"

int main(int argc, char **argv)
{
    /* First: a spawned child is this executable again and runs its target here. */
    mproc_status_t st = mproc_init(argc, argv);
    if (st)
        bench_fail("mproc_init", mproc_strerror(st));
    return bench_main(argc, argv);
}
