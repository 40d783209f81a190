/*
 * The pool's side of the MPI transport (pool_transport.h): a pool's workers
 * are ranks 1 .. n of the job (mpiexec -n N), or n processes this program
 * spawns with MPI_Comm_spawn when it was started alone. A chunk is sent from
 * the core's buffer and the application's own (large inputs, lent), in
 * pieces when large (mpi_link.h); a result is received into one buffer.
 *
 * Deaths: under mpiexec, Open MPI aborts the job when a rank dies. A spawned
 * worker's death does not reach the pool through MPI, so a spawned worker on
 * this host is watched by its process id.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_link.h"

typedef struct session {
    MPI_Comm comm;
    int first;   /* the rank of worker 0 in comm */
    int n;
    int spawned; /* comm is the spawned workers' intercommunicator */
    int holds_world; /* this pool has the job's worker ranks */
    atomic_int woken;
    mpi_inbox_t box;
    long long *pid;      /* spawned workers on this host (0: elsewhere) */
    unsigned char *lost; /* their death was reported */
    int nlost;
    char why[128];
} session_t;

/* Read each spawned worker's hello: those on this host can be watched. */
static mproc_status_t read_hellos(session_t *s)
{
    char host[MPI_MAX_PROCESSOR_NAME] = {0};
    int n = 0;
    MPI_Get_processor_name(host, &n);
    s->pid = calloc((size_t)s->n, sizeof *s->pid);
    s->lost = calloc((size_t)s->n, 1);
    if (!s->pid || !s->lost)
        return MPROC_ENOMEM;
    for (int i = 0; i < s->n; i++) {
        MPI_Status status;
        mproc_status_t st = mproc__mpi_recv(s->comm, MPI_ANY_SOURCE, TAG_HELLO,
                                            mproc__mpi_now() + 60, NULL, &s->box, &status);
        if (st)
            return st == MPROC_ETIMEDOUT ? MPROC_ESPAWN : st;
        mpi_hello_t h;
        int w = status.MPI_SOURCE;
        if (s->box.len != sizeof h || w < 0 || w >= s->n)
            return MPROC_ESPAWN;
        memcpy(&h, s->box.data, sizeof h);
        h.host[sizeof h.host - 1] = '\0';
        if (strcmp(h.host, host) == 0)
            s->pid[w] = h.pid;
    }
    return MPROC_OK;
}

/* 1 if process `pid` has ended (gone, or a zombie nobody reaped yet). */
static int ended(long long pid)
{
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%lld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int got = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return got == 1 && state == 'Z';
}

/* A watched worker that died and was not reported yet, or -1. */
static int find_dead(session_t *s)
{
    for (int i = 0; s->pid && i < s->n; i++) {
        if (s->pid[i] && !s->lost[i] && ended(s->pid[i])) {
            s->lost[i] = 1;
            s->nlost++;
            snprintf(s->why, sizeof s->why, "MPI worker %d (spawned, pid %lld) ended", i,
                     s->pid[i]);
            return i;
        }
    }
    return -1;
}

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
    return read_hellos(s);
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
    s->holds_world = 1;
    s->n = asked ? asked : avail;
    s->first = 1;
    s->comm = mproc__mpi.world;
    return MPROC_OK;
}

static void release(session_t *s)
{
    /* Disconnecting waits for every spawned worker: not for a dead one. */
    if (s->spawned && s->comm != MPI_COMM_NULL && !s->nlost)
        MPI_Comm_disconnect(&s->comm);
    if (s->holds_world)
        atomic_store(&mproc__mpi.world_busy, 0);
    free(s->box.data);
    free(s->pid);
    free(s->lost);
    free(s);
}

static void end_workers(void *session)
{
    session_t *s = session;
    for (int i = 0; i < s->n; i++)
        if (!s->lost || !s->lost[i])
            MPI_Send(NULL, 0, MPI_BYTE, s->first + i, TAG_END, s->comm);
    release(s);
}

static mproc_status_t open_workers(int *nworkers, const void *setup, size_t len, void **out)
{
    *out = NULL;
    if (!mproc__mpi.initialized || mproc__mpi.finalized)
        return MPROC_ENOTINIT;
    if (*nworkers < 0)
        return MPROC_EINVAL;
    session_t *s = calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    atomic_init(&s->woken, 0);
    s->comm = MPI_COMM_NULL;
    mproc_status_t st = take_workers(s, *nworkers);
    if (st) {
        release(s);
        return st;
    }
    mproc_pool_part_t part = {setup, len};
    for (int i = 0; i < s->n && !st; i++)
        st = mproc__mpi_send(s->comm, s->first + i, TAG_SETUP, &part, 1);
    if (st) {
        end_workers(s);
        return st;
    }
    *nworkers = s->n;
    *out = s;
    return MPROC_OK;
}

static mproc_status_t send_chunk(void *session, int worker, const mproc_pool_part_t *parts,
                                 size_t nparts)
{
    session_t *s = session;
    return mproc__mpi_send(s->comm, s->first + worker, TAG_CHUNK, parts, nparts);
}

static mproc_status_t recv_result(void *session, double timeout, int *worker, const void **data,
                                  size_t *len)
{
    session_t *s = session;
    MPI_Status status;
    double deadline = timeout < 0 ? -1.0 : mproc__mpi_now() + timeout;
    mproc_status_t st;
    for (;;) {
        /* Watched workers are looked at every 50 ms. */
        double slice = s->pid ? mproc__mpi_now() + 0.05 : deadline;
        if (deadline >= 0 && slice > deadline)
            slice = deadline;
        st = mproc__mpi_recv(s->comm, MPI_ANY_SOURCE, TAG_RESULT, slice, &s->woken, &s->box,
                             &status);
        if (st != MPROC_ETIMEDOUT)
            break;
        int dead = find_dead(s);
        if (dead >= 0) {
            *worker = dead;
            *data = s->why;
            *len = strlen(s->why);
            return MPROC_EWORKERLOST;
        }
        if (deadline >= 0 && mproc__mpi_now() >= deadline)
            return MPROC_ETIMEDOUT;
    }
    if (st)
        return st == MPROC_EAGAIN ? MPROC_ETIMEDOUT : st;
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
