/* libmproc-mpi's shared state and its waiting receive. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_link.h"

mpi_state_t mproc__mpi = {0, 0, 0, 0, -1, 0, MPI_COMM_NULL, 0, {0}, MPROC__MPI_PIECE};

double mproc__mpi_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* When this process last sent or received a message (CLOCK_MONOTONIC, ns). */
static atomic_llong last_message_ns;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void note_message(void)
{
    atomic_store_explicit(&last_message_ns, now_ns(), memory_order_relaxed);
}

/* Wait for a matching message. A rank that sent or received one in the last
 * MPROC__MPI_SPIN_NS polls without pauses: in a map, a worker's next chunk
 * comes as soon as the pool has served the others, and a pause then (at
 * least the kernel's 50 us timer slack) would hold up the pool's send, which
 * waits for the worker to take it. Counted in time, not rounds: a probe
 * costs 0.1 us when MPI has cores to itself and several us when it yields
 * them. Later, pauses growing to 200 us leave the core to others. */
static mproc_status_t probe(MPI_Comm comm, int source, int tag, double deadline,
                            atomic_int *woken, MPI_Status *status)
{
    long pause_ns = 0;
    for (;;) {
        int flag = 0;
        if (MPI_Iprobe(source, tag, comm, &flag, status) != MPI_SUCCESS)
            return MPROC_EOS;
        if (flag)
            return MPROC_OK;
        if (woken && atomic_exchange(woken, 0))
            return MPROC_EAGAIN;
        if (deadline >= 0 && mproc__mpi_now() >= deadline)
            return MPROC_ETIMEDOUT;
        if (now_ns() - atomic_load_explicit(&last_message_ns, memory_order_relaxed) <
            MPROC__MPI_SPIN_NS)
            continue;
        pause_ns = pause_ns ? pause_ns * 2 : 1000;
        if (pause_ns > 200000)
            pause_ns = 200000;
        struct timespec ts = {0, pause_ns};
        nanosleep(&ts, NULL);
    }
}

/* Room for the bytes a message announces (the first `have` are kept). */
static mproc_status_t make_room(mpi_inbox_t *box, size_t need, size_t have)
{
    if (need <= box->cap && box->data)
        return MPROC_OK;
    size_t cap = need > 64 ? need : 64;
    unsigned char *p = malloc(cap);
    if (!p)
        return MPROC_ENOMEM;
    if (have)
        memcpy(p, box->data, have);
    free(box->data);
    box->data = p;
    box->cap = cap;
    return MPROC_OK;
}

/* One piece into `p` (at most `cap` bytes): its size in *got. The piece is
 * on its way (its sender sends them back to back), so this waits as MPI's
 * own receive does, without pauses; a sender that sends nothing for a minute
 * died mid-message: MPROC_EOS. */
static mproc_status_t recv_piece(MPI_Comm comm, int source, int tag, unsigned char *p, int cap,
                                 int *got)
{
    MPI_Request req;
    MPI_Status status;
    if (MPI_Irecv(p, cap, MPI_BYTE, source, tag, comm, &req) != MPI_SUCCESS)
        return MPROC_EOS;
    double deadline = mproc__mpi_now() + 60;
    for (long round = 1;; round++) {
        int done = 0;
        if (MPI_Test(&req, &done, &status) != MPI_SUCCESS)
            return MPROC_EOS;
        if (done)
            break;
        if (round % 1024 == 0 && mproc__mpi_now() > deadline) {
            MPI_Cancel(&req);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            return MPROC_EOS;
        }
    }
    return MPI_Get_count(&status, MPI_BYTE, got) == MPI_SUCCESS && *got > 0 ? MPROC_OK
                                                                           : MPROC_EOS;
}

/* The pieces after a message's first: sent one after another by the same
 * sender with the same tag, so they come in order. */
static mproc_status_t recv_rest(MPI_Comm comm, int source, int tag, mpi_inbox_t *box,
                                size_t have, size_t total)
{
    while (have < total) {
        size_t left = total - have;
        int got = 0;
        mproc_status_t st = recv_piece(comm, source, tag, box->data + have,
                                       left > (size_t)INT_MAX ? INT_MAX : (int)left, &got);
        if (st)
            return st;
        have += (size_t)got;
    }
    return MPROC_OK;
}

mproc_status_t mproc__mpi_recv(MPI_Comm comm, int source, int tag, double deadline,
                               atomic_int *woken, mpi_inbox_t *box, MPI_Status *status)
{
    mproc_status_t st = probe(comm, source, tag, deadline, woken, status);
    if (st)
        return st;
    int count = 0;
    MPI_Get_count(status, MPI_BYTE, &count);
    uint64_t total = 0;
    if (count < 0 || (count > 0 && (size_t)count < sizeof total))
        return MPROC_EOS;
    st = make_room(box, (size_t)count, 0);
    if (st)
        return st;
    if (MPI_Recv(box->data, count, MPI_BYTE, status->MPI_SOURCE, status->MPI_TAG, comm,
                 MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return MPROC_EOS;
    box->len = 0;
    if (count == 0) { /* a bare signal: END, EXIT */
        note_message();
        return MPROC_OK;
    }
    memcpy(&total, box->data, sizeof total);
    size_t first = (size_t)count - sizeof total;
    if (total < first || total > SIZE_MAX - 64)
        return MPROC_EOS;
    memmove(box->data, box->data + sizeof total, first);
    st = make_room(box, (size_t)total, first);
    if (!st)
        st = recv_rest(comm, status->MPI_SOURCE, status->MPI_TAG, box, first, (size_t)total);
    if (!st)
        box->len = (size_t)total;
    note_message();
    return st;
}

/* Send `len` bytes as pieces of at most mproc__mpi.piece bytes. */
static mproc_status_t send_pieces(MPI_Comm comm, int dest, int tag, const unsigned char *p,
                                  size_t len)
{
    for (size_t off = 0; off < len;) {
        size_t n = len - off < mproc__mpi.piece ? len - off : mproc__mpi.piece;
        if (MPI_Send(p + off, (int)n, MPI_BYTE, dest, tag, comm) != MPI_SUCCESS)
            return MPROC_EOS;
        off += n;
    }
    return MPROC_OK;
}

/* The first piece: the total length, then small parts copied after it up to
 * the first large one, which goes as it is (from the caller's memory). */
mproc_status_t mproc__mpi_send(MPI_Comm comm, int dest, int tag, const mproc_pool_part_t *parts,
                               size_t nparts)
{
    size_t stage_max = mproc__mpi.piece < MPROC__MPI_STAGE_MAX ? mproc__mpi.piece : MPROC__MPI_STAGE_MAX;
    unsigned char *stage = malloc(stage_max);
    if (!stage)
        return MPROC_ENOMEM;
    uint64_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += parts[i].len;
    memcpy(stage, &total, sizeof total);
    size_t staged = sizeof total;
    mproc_status_t st = MPROC_OK;
    for (size_t i = 0; i < nparts && !st; i++) {
        if (parts[i].len <= stage_max - staged) {
            if (parts[i].len)
                memcpy(stage + staged, parts[i].data, parts[i].len);
            staged += parts[i].len;
            continue;
        }
        st = send_pieces(comm, dest, tag, stage, staged);
        staged = 0;
        if (!st)
            st = send_pieces(comm, dest, tag, parts[i].data, parts[i].len);
    }
    if (!st && staged)
        st = send_pieces(comm, dest, tag, stage, staged);
    free(stage);
    note_message();
    return st;
}
