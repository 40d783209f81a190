/* The pool figures' Pool(2) (bench/mproc/pool.c), shared with bench_mpi,
 * which runs them with the MPI transport. */
#ifndef MPROC_BENCH_POOL_BENCH_H
#define MPROC_BENCH_POOL_BENCH_H

#include <mproc/mproc.h>

/* Where bench_pool2() puts its workers (NULL: local processes). */
extern const mproc_pool_transport_t *bench_pool_transport;

/* A pool of 2 workers; exits the benchmark if it cannot start. */
mproc_pool_t *bench_pool2(void);
/* Close, join and free it. */
void bench_pool_done(mproc_pool_t *pool);

#endif
