/*
 * mproc_mpi_init(): MPI next to mproc, and the worker ranks' side. A rank
 * other than 0 (mpiexec -n N) serves one pool after another until rank 0's
 * exit releases it; a worker started by MPI_Comm_spawn serves its one pool.
 * Neither returns to main.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mpi_link.h"

typedef struct rank_io {
    MPI_Comm comm;
    mpi_inbox_t box;
    int exit; /* EXIT came: the job ends */
} rank_io_t;

static mproc_status_t rank_recv(void *self, const void **data, size_t *len)
{
    rank_io_t *io = self;
    MPI_Status status;
    mproc_status_t st = mproc__mpi_recv(io->comm, 0, MPI_ANY_TAG, -1.0, NULL, &io->box, &status);
    if (st)
        return st;
    if (status.MPI_TAG == TAG_END || status.MPI_TAG == TAG_EXIT) {
        io->exit = status.MPI_TAG == TAG_EXIT;
        return MPROC_EEOF;
    }
    *data = io->box.data;
    *len = io->box.len;
    return MPROC_OK;
}

static mproc_status_t rank_send(void *self, const void *data, size_t len)
{
    rank_io_t *io = self;
    mproc_pool_part_t part = {data, len};
    return mproc__mpi_send(io->comm, 0, TAG_RESULT, &part, 1);
}

/* Serve pools on `comm` (once: a spawned worker; else until EXIT), then end
 * the process. A worker that cannot go on ends the job, as a dead rank does. */
static void serve_and_exit(MPI_Comm comm, int once)
{
    rank_io_t io = {comm, {NULL, 0, 0}, 0};
    mproc_worker_io_t wio = {&io, rank_recv, rank_send};
    if (once) {
        mpi_hello_t hello = {(long long)getpid(), {0}};
        int n = 0;
        MPI_Get_processor_name(hello.host, &n);
        mproc_pool_part_t part = {&hello, sizeof hello};
        (void)mproc__mpi_send(comm, 0, TAG_HELLO, &part, 1);
    }
    for (;;) {
        int rc = mproc_pool_serve(&wio);
        if (rc == MPROC_EXIT_WORKER_INIT)
            continue; /* the pool was told and ends: serve takes its end next */
        if (rc) {
            fprintf(stderr, "mproc-mpi: worker rank %d failed (code %d): aborting the job\n",
                    mproc__mpi.rank, rc);
            MPI_Abort(MPI_COMM_WORLD, rc);
        }
        if (once || io.exit)
            break;
    }
    free(io.box.data);
    if (once)
        MPI_Comm_disconnect(&comm);
    else
        MPI_Comm_free(&comm);
    if (mproc__mpi.owns_mpi)
        MPI_Finalize();
    exit(0);
}

static void at_exit(void)
{
    mproc_mpi_finalize();
}

static void find_exe(char **argv)
{
    ssize_t n = readlink("/proc/self/exe", mproc__mpi.exe, sizeof mproc__mpi.exe - 1);
    if (n > 0)
        mproc__mpi.exe[n] = '\0';
    else if (argv && argv[0])
        snprintf(mproc__mpi.exe, sizeof mproc__mpi.exe, "%s", argv[0]);
}

mproc_status_t mproc_mpi_init(int *argc, char ***argv)
{
    /* Local children that mproc spawns end inside mproc_init(), before MPI. */
    mproc_status_t st = mproc_init(argc ? *argc : 0, argv ? *argv : NULL);
    if (st || mproc__mpi.initialized)
        return st;
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        /* PMIx 4's shared-memory store hangs MPI_Comm_spawn now and then
         * under Open MPI 4.1 (openpmix/openpmix#2735); its hash store does
         * not. Set before MPI starts, so its daemon and the spawned workers
         * inherit it; a value the user set wins. */
        setenv("PMIX_MCA_gds", "hash", 0);
        if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
            return MPROC_EOS;
        mproc__mpi.owns_mpi = 1;
    } else {
        MPI_Query_thread(&provided);
    }
    /* The handler receives while submitters send. */
    if (provided < MPI_THREAD_MULTIPLE)
        return MPROC_ENOTSUP;
    find_exe(argv ? *argv : NULL);
    const char *env = getenv("MPROC_MPI_PIECE_BYTES"); /* tests: cut messages smaller */
    unsigned long long piece = env ? strtoull(env, NULL, 10) : 0;
    if (piece >= 64 && piece <= INT_MAX)
        mproc__mpi.piece = (size_t)piece;
    MPI_Comm_rank(MPI_COMM_WORLD, &mproc__mpi.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mproc__mpi.size);
    mproc__mpi.pid = (long)getpid();
    MPI_Comm parent = MPI_COMM_NULL;
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL)
        serve_and_exit(parent, 1);
    if (MPI_Comm_dup(MPI_COMM_WORLD, &mproc__mpi.world) != MPI_SUCCESS)
        return MPROC_EOS;
    if (mproc__mpi.rank != 0)
        serve_and_exit(mproc__mpi.world, 0);
    mproc__mpi.initialized = 1;
    if (atexit(at_exit) != 0)
        return MPROC_ENOMEM;
    return MPROC_OK;
}

int mproc_mpi_rank(void)
{
    return mproc__mpi.rank;
}

void mproc_mpi_finalize(void)
{
    if (!mproc__mpi.initialized || mproc__mpi.finalized || mproc__mpi.pid != (long)getpid())
        return;
    mproc__mpi.finalized = 1;
    for (int r = 1; r < mproc__mpi.size; r++)
        MPI_Send(NULL, 0, MPI_BYTE, r, TAG_EXIT, mproc__mpi.world);
    MPI_Comm_free(&mproc__mpi.world);
    if (mproc__mpi.owns_mpi)
        MPI_Finalize();
}
