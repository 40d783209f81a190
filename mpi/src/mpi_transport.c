/*
 * The pool's side of the MPI transport (pool_transport.h): a pool's workers
 * are ranks 1 .. n of the job (mpiexec -n N), or n processes this program
 * spawns with MPI_Comm_spawn when it was started alone. Chunks and results
 * are single messages, sent from and received into the core's buffers.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mpi_link.h"

typedef struct session {
    MPI_Comm comm;
    int first;   /* the rank of worker 0 in comm */
    int n;
    int spawned; /* comm is the spawned workers' intercommunicator */
    atomic_int woken;
    mpi_inbox_t box;
} session_t;

static mproc_status_t spawn_workers(session_t *s, int n)
{
    int *errcodes = calloc((size_t)n, sizeof *errcodes);
    if (!errcodes)
        return MPROC_ENOMEM;
    /* A failed spawn is reported, not fatal to this program. */
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    int rc = MPI_Comm_spawn(mproc__mpi.exe, MPI_ARGV_NULL, n, MPI_INFO_NULL, 0, MPI_COMM_SELF,
                            &s->comm, errcodes);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
    int ok = rc == MPI_SUCCESS;
    for (int i = 0; ok && i < n; i++)
        ok = errcodes[i] == MPI_SUCCESS;
    free(errcodes);
    if (!ok) {
        if (rc == MPI_SUCCESS)
            MPI_Comm_disconnect(&s->comm);
        return MPROC_ESPAWN;
    }
    s->spawned = 1;
    return MPROC_OK;
}

/* Workers for one pool: ranks of the job, or spawned ones when there are none. */
static mproc_status_t take_workers(session_t *s, int asked)
{
    if (mproc__mpi.size == 1) {
        s->n = asked ? asked : mproc_cpu_count();
        s->first = 0;
        return spawn_workers(s, s->n);
    }
    int avail = mproc__mpi.size - 1;
    if (asked > avail)
        return MPROC_EINVAL;
    if (atomic_exchange(&mproc__mpi.world_busy, 1))
        return MPROC_EBUSY;
    s->n = asked ? asked : avail;
    s->first = 1;
    s->comm = mproc__mpi.world;
    return MPROC_OK;
}

static void release(session_t *s)
{
    if (s->spawned)
        MPI_Comm_disconnect(&s->comm);
    else
        atomic_store(&mproc__mpi.world_busy, 0);
    free(s->box.data);
    free(s);
}

static void end_workers(void *session)
{
    session_t *s = session;
    for (int i = 0; i < s->n; i++)
        MPI_Send(NULL, 0, MPI_BYTE, s->first + i, TAG_END, s->comm);
    release(s);
}

static mproc_status_t open_workers(int *nworkers, const void *setup, size_t len, void **out)
{
    *out = NULL;
    if (!mproc__mpi.initialized || mproc__mpi.finalized)
        return MPROC_ENOTINIT;
    if (*nworkers < 0 || len > (size_t)INT32_MAX)
        return MPROC_EINVAL;
    session_t *s = calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    atomic_init(&s->woken, 0);
    mproc_status_t st = take_workers(s, *nworkers);
    if (st) {
        free(s);
        return st;
    }
    for (int i = 0; i < s->n; i++)
        MPI_Send(setup, (int)len, MPI_BYTE, s->first + i, TAG_SETUP, s->comm);
    *nworkers = s->n;
    *out = s;
    return MPROC_OK;
}

static mproc_status_t send_chunk(void *session, int worker, const void *data, size_t len)
{
    session_t *s = session;
    if (len > (size_t)INT32_MAX)
        return MPROC_ETOOBIG;
    return MPI_Send(data, (int)len, MPI_BYTE, s->first + worker, TAG_CHUNK, s->comm) ==
                   MPI_SUCCESS
               ? MPROC_OK
               : MPROC_EOS;
}

static mproc_status_t recv_result(void *session, double timeout, int *worker, const void **data,
                                  size_t *len)
{
    session_t *s = session;
    MPI_Status status;
    double deadline = timeout < 0 ? -1.0 : mproc__mpi_now() + timeout;
    mproc_status_t st = mproc__mpi_recv(s->comm, MPI_ANY_SOURCE, TAG_RESULT, deadline, &s->woken,
                                        &s->box, &status);
    if (st)
        return st;
    *worker = status.MPI_SOURCE - s->first;
    *data = s->box.data;
    *len = s->box.len;
    return MPROC_OK;
}

static void wake(void *session)
{
    session_t *s = session;
    atomic_store(&s->woken, 1);
}

static const mproc_pool_transport_t transport = {"mpi", open_workers, send_chunk, recv_result,
                                                 wake, end_workers};

const mproc_pool_transport_t *mproc_mpi_transport(void)
{
    return &transport;
}
