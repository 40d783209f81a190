/* libmproc-mpi's shared state and its waiting receive. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include "mpi_link.h"

mpi_state_t mproc__mpi = {0, 0, 0, 0, -1, 0, MPI_COMM_NULL, 0, {0}};

double mproc__mpi_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for a matching message: first a short spin (a reply that is near
 * costs no sleep), then pauses growing to 200 us. */
static mproc_status_t probe(MPI_Comm comm, int source, int tag, double deadline,
                            atomic_int *woken, MPI_Status *status)
{
    long pause_ns = 0;
    for (int round = 0;; round++) {
        int flag = 0;
        if (MPI_Iprobe(source, tag, comm, &flag, status) != MPI_SUCCESS)
            return MPROC_EOS;
        if (flag)
            return MPROC_OK;
        if (woken && atomic_exchange(woken, 0))
            return MPROC_EAGAIN;
        if (deadline >= 0 && mproc__mpi_now() >= deadline)
            return MPROC_ETIMEDOUT;
        if (round < 200)
            continue;
        pause_ns = pause_ns ? pause_ns * 2 : 1000;
        if (pause_ns > 200000)
            pause_ns = 200000;
        struct timespec ts = {0, pause_ns};
        nanosleep(&ts, NULL);
    }
}

mproc_status_t mproc__mpi_recv(MPI_Comm comm, int source, int tag, double deadline,
                               atomic_int *woken, mpi_inbox_t *box, MPI_Status *status)
{
    mproc_status_t st = probe(comm, source, tag, deadline, woken, status);
    if (st)
        return st;
    int count = 0;
    MPI_Get_count(status, MPI_BYTE, &count);
    if ((size_t)count > box->cap || !box->data) {
        size_t cap = (size_t)count > 64 ? (size_t)count : 64;
        unsigned char *p = realloc(box->data, cap);
        if (!p)
            return MPROC_ENOMEM;
        box->data = p;
        box->cap = cap;
    }
    if (MPI_Recv(box->data, count, MPI_BYTE, status->MPI_SOURCE, status->MPI_TAG, comm,
                 MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return MPROC_EOS;
    box->len = (size_t)count;
    return MPROC_OK;
}
