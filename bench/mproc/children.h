/* What the mproc figures that start their own children share. */
#ifndef MPROC_BENCH_CHILDREN_H
#define MPROC_BENCH_CHILDREN_H

#include <mproc/mproc.h>

/* Join a child, require exit code 0 (else the benchmark fails), free it. */
void bench_join_ok(mproc_process_t *p);

#endif
