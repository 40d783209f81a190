/*
 * What libmproc-mpi's files share: the process-wide MPI state, the message
 * tags of the pool's protocol and a receive that waits without spinning.
 *
 * Protocol, on a communicator of its own (a duplicate of MPI_COMM_WORLD, or
 * the intercommunicator of spawned workers); the pool is rank 0:
 *   pool -> worker  SETUP (the pool's setup message), CHUNK (a chunk of
 *                   tasks), END (the pool ended), EXIT (the job ends: a
 *                   worker rank finalizes MPI and exits)
 *   worker -> pool  RESULT (a chunk's results); HELLO first from a spawned one
 * The payloads are the core's messages (pool_wire.h), of any size. One is
 * sent as MPI messages of at most mproc__mpi.piece bytes (Open MPI 4.1
 * counts in int): the first holds the u64 total length and the small parts
 * that come before the first large one, copied; a large part (a task input
 * in the application's memory) goes as it is, in pieces; the receiver takes
 * them in order from the same sender and tag into one buffer. END and EXIT
 * are bare empty messages.
 */
#ifndef MPROC_MPI_LINK_H
#define MPROC_MPI_LINK_H

#include <mpi.h>
#include <stdatomic.h>
#include <stddef.h>

#include "mproc/mpi.h"

enum { TAG_SETUP = 1, TAG_CHUNK, TAG_END, TAG_EXIT, TAG_RESULT, TAG_HELLO };

/* A spawned worker's first message: where it runs, so that the pool can see
 * it die when it runs on the pool's host. */
typedef struct mpi_hello {
    long long pid;
    char host[MPI_MAX_PROCESSOR_NAME];
} mpi_hello_t;

typedef struct mpi_state {
    int initialized;
    int owns_mpi;          /* mproc_mpi_init() called MPI_Init_thread */
    int finalized;
    long pid;              /* finalize only in this process, not in a fork child */
    int rank, size;        /* in MPI_COMM_WORLD */
    MPI_Comm world;        /* the pool's duplicate of MPI_COMM_WORLD */
    atomic_int world_busy; /* an mpiexec job's pool is open (one at a time) */
    char exe[4096];        /* this program, for MPI_Comm_spawn */
    size_t piece;          /* the largest MPI message sent (MPROC_MPI_PIECE_BYTES) */
} mpi_state_t;

/* 1 GiB: far below INT_MAX. Tests set a small one through the environment
 * (MPROC_MPI_PIECE_BYTES, at least 64) to cut messages of every size. */
#define MPROC__MPI_PIECE ((size_t)1 << 30)
/* A rank polls without pauses for this long after its last message (probe()
 * in mpi_link.c). */
#define MPROC__MPI_SPIN_NS 2000000LL
/* Small parts are gathered into a first piece of at most this many bytes. */
#define MPROC__MPI_STAGE_MAX ((size_t)64 * 1024)

extern mpi_state_t mproc__mpi;

/* A receive buffer, grown as needed and reused. */
typedef struct mpi_inbox {
    unsigned char *data;
    size_t cap, len;
} mpi_inbox_t;

/*
 * Receive the next message (all its pieces) from `source` with `tag` (MPI_ANY_*
 * allowed) into `box`, waiting until `deadline` (mproc__mpi_now() based; < 0: forever) or
 * until *woken becomes non-zero (woken may be NULL; it is reset). Polls
 * without pauses for MPROC__MPI_SPIN_NS after this process's last message,
 * then with a growing pause instead of MPI's busy wait, so idle ranks leave
 * the CPU to others. MPROC_OK (status filled), MPROC_ETIMEDOUT, MPROC_EAGAIN (woken),
 * MPROC_ENOMEM, MPROC_EOS (also: not this protocol, or a sender that stopped
 * a minute mid-message).
 */
mproc_status_t mproc__mpi_recv(MPI_Comm comm, int source, int tag, double deadline,
                               atomic_int *woken, mpi_inbox_t *box, MPI_Status *status);

/* Send one message, the parts joined (protocol above): MPROC_OK, MPROC_ENOMEM,
 * MPROC_EOS. */
mproc_status_t mproc__mpi_send(MPI_Comm comm, int dest, int tag, const mproc_pool_part_t *parts,
                               size_t nparts);

double mproc__mpi_now(void);

#endif
