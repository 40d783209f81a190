/**
 * @file mpi.h
 * @brief The Pool on MPI ranks (libmproc-mpi, the optional MPI backend).
 *
 * Link mproc::mpi (CMake: `find_package(mproc COMPONENTS mpi)`) or pkg-config
 * `mproc-mpi`. The program calls mproc_mpi_init() instead of mproc_init() and
 * sets mproc_pool_options_t::transport to mproc_mpi_transport(); every other
 * Pool call is unchanged. Two ways to start it, as mpi4py.futures:
 *
 * - `mpiexec -n N ./app`: rank 0 returns from mproc_mpi_init() and runs the
 *   program; ranks 1 .. N-1 become pool workers inside it and never return.
 *   A pool uses `processes` of them (0: all); pools may follow each other,
 *   one at a time.
 * - `./app` alone: each pool starts its workers with MPI_Comm_spawn (this
 *   program again), `processes` of them (0: mproc_cpu_count()).
 *
 * A rank that dies (killed, crashed, exit() in a task) cannot be detected
 * under Open MPI: the job is aborted, as MPI does. See docs/mpi.md.
 * Free every MPI pool before main returns: MPI is finalized at exit.
 */
#ifndef MPROC_MPI_H
#define MPROC_MPI_H

#include <mproc/mproc.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @def MPROC_MPI_API
 * Marks libmproc-mpi's public functions (default visibility; the rest of the
 * library is hidden).
 */
#if defined(__GNUC__) || defined(__clang__)
#  define MPROC_MPI_API __attribute__((visibility("default")))
#else
#  define MPROC_MPI_API
#endif

/**
 * mproc_init(), then MPI (MPI_Init_thread with MPI_THREAD_MULTIPLE, unless
 * the program initialized MPI itself, with that level). Returns on rank 0 of
 * MPI_COMM_WORLD; on the other ranks, and in workers started by
 * MPI_Comm_spawn, it serves pools and then exits the process (status 0)
 * without returning. Call it first in main, with main's arguments.
 * Before starting MPI it sets PMIX_MCA_gds=hash unless set (docs/mpi.md:
 * PMIx 4 otherwise hangs MPI_Comm_spawn now and then).
 * A second call returns MPROC_OK. Errors: those of mproc_init(),
 * MPROC_ENOTSUP (MPI without MPI_THREAD_MULTIPLE), MPROC_EOS (MPI failed).
 */
MPROC_MPI_API mproc_status_t mproc_mpi_init(int *argc, char ***argv);

/**
 * The MPI transport, for mproc_pool_options_t::transport. Creating a pool
 * with it fails with MPROC_ENOTINIT before mproc_mpi_init(), MPROC_EINVAL
 * when more processes are asked than there are worker ranks (under mpiexec),
 * MPROC_EBUSY when another MPI pool of an mpiexec job is still open,
 * MPROC_ESPAWN when MPI_Comm_spawn fails.
 */
MPROC_MPI_API const mproc_pool_transport_t *mproc_mpi_transport(void);

/**
 * This process's rank in MPI_COMM_WORLD once mproc_mpi_init() started MPI
 * (0 in the program; a worker started by MPI_Comm_spawn counts in its own
 * world of spawned workers), else -1.
 */
MPROC_MPI_API int mproc_mpi_rank(void);

/**
 * Release the worker ranks and finalize MPI (if mproc_mpi_init() started
 * it). Called at exit; calling it earlier is allowed once every MPI pool is
 * freed. Later calls do nothing.
 */
MPROC_MPI_API void mproc_mpi_finalize(void);

#ifdef __cplusplus
}
#endif

#endif
