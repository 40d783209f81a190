/*
 * The OS verbs the portable core needs; src/posix/ and src/win32/ each
 * implement all of it. Python semantics (names, daemon rules, exit-code
 * mapping policy, bootstrap protocol) stay in the core; a backend only knows
 * its OS. Every handle a backend creates is close-on-exec / non-inheritable
 * from birth; a child receives only what mproc__os_spawn() is told to pass.
 */
#ifndef MPROC_PLATFORM_H
#define MPROC_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/status.h"

/* A file descriptor on POSIX, a HANDLE on Windows. */
typedef intptr_t mproc__os_handle_t;
#define MPROC__OS_NO_HANDLE ((mproc__os_handle_t)-1)

/* ---- time and system ---------------------------------------------------- */

double mproc__os_now(void); /* monotonic clock, seconds */
int mproc__os_cpu_count(void);
int64_t mproc__os_getpid(void);
/* The pid of the process that created this one, as the OS tells it (POSIX:
 * the current parent, which becomes the reaper once the creator has ended;
 * Windows: the creator's pid). 0 when the OS names none, -1 on failure. */
int64_t mproc__os_getppid(void);
int mproc__os_fork_supported(void);
/* End this process at once, as a kill would (POSIX: SIGKILL; Windows:
 * TerminateProcess, exit code 9): no exit handlers, no flushing. */
void mproc__os_die(void);

/* ---- a lock among this process's threads --------------------------------- */

/* Storage for one (a pthread mutex, an SRWLOCK) in the caller's memory: the
 * registry keeps its lock in the state a fork child writes anyway, so that
 * releasing the copy it inherits locked copies no page of its own. */
typedef union mproc__os_mutex {
    void *align_pointer;
    int64_t align_int;
    unsigned char bytes[64];
} mproc__os_mutex_t;
mproc_status_t mproc__os_mutex_init(mproc__os_mutex_t *m);
void mproc__os_mutex_lock(mproc__os_mutex_t *m);
void mproc__os_mutex_unlock(mproc__os_mutex_t *m);
/* A condition variable used with an mproc__os_mutex_t (a pthread condition,
 * a CONDITION_VARIABLE), in the caller's memory. Under Wine a
 * CONDITION_VARIABLE waits and wakes without the wineserver, where APR's
 * condition (a semaphore) costs a wineserver request on each side. wait
 * returns on a broadcast, spuriously, or with MPROC_ETIMEDOUT once
 * `deadline` (mproc__os_now(); < 0: none) has passed; the mutex is held
 * again on return. */
typedef struct mproc__os_cond {
    mproc__os_mutex_t storage; /* as large and aligned as a mutex's */
} mproc__os_cond_t;
mproc_status_t mproc__os_cond_init(mproc__os_cond_t *c);
void mproc__os_cond_destroy(mproc__os_cond_t *c);
mproc_status_t mproc__os_cond_wait(mproc__os_cond_t *c, mproc__os_mutex_t *m, double deadline);
void mproc__os_cond_broadcast(mproc__os_cond_t *c);

/* ---- handles -------------------------------------------------------------- */

void mproc__os_close(mproc__os_handle_t h);
/* A new non-inheritable handle for the same object. */
mproc_status_t mproc__os_dup(mproc__os_handle_t h, mproc__os_handle_t *out);
/* A pipe pair; end[0] reads, end[1] writes (MPROC__OS_NO_HANDLE where an end
 * cannot). Duplex: both ends both ways. Simplex: end0 reads, end1 writes.
 * Writing to a pipe whose reader is gone gives MPROC_EEOF, never a signal. */
mproc_status_t mproc__os_pipe(int duplex, mproc__os_handle_t end0[2], mproc__os_handle_t end1[2]);
/* Read what is there, at least 1 byte and at most cap (blocks until then). */
mproc_status_t mproc__os_read_some(mproc__os_handle_t h, void *buf, size_t cap, size_t *got);
/* Whole-buffer I/O; MPROC_EEOF when the peer's end is closed. */
mproc_status_t mproc__os_write_all(mproc__os_handle_t h, const void *buf, size_t len);
mproc_status_t mproc__os_read_all(mproc__os_handle_t h, void *buf, size_t len);
/* Write head_len bytes at head, then body_len at body, as write_all would the
 * two joined, in as few system calls as the OS allows (a frame header and its
 * payload: the reader wakes once). Errors as mproc__os_write_all(). */
mproc_status_t mproc__os_write_pair(mproc__os_handle_t h, const void *head, size_t head_len,
                                    const void *body, size_t body_len);
/* Wait until a handle is ready (readable or signalled); ready[i] 0/1. A
 * deadline < 0 means forever; MPROC_ETIMEDOUT when it passes first. At most
 * mproc__os_wait_limit() handles. A pipe must be a read end made by
 * mproc__os_pipe (Windows: an overlapped named pipe; no polling). */
size_t mproc__os_wait_limit(void);
mproc_status_t mproc__os_wait_ready(const mproc__os_handle_t *hs, size_t n, double deadline,
                                    int *ready);

/* ---- children ------------------------------------------------------------ */

typedef struct mproc__os_child {
    int64_t pid;
    mproc__os_handle_t sentinel;  /* ready once the child has ended */
    mproc__os_handle_t to_child;  /* bootstrap channel; open for the child's life */
    mproc__os_handle_t from_child;
    mproc__os_handle_t process;   /* Windows process handle; unused on POSIX */
    int reaped;
    int64_t raw_status;           /* valid once reaped */
} mproc__os_child_t;

/* What a child holds of its parent. */
typedef struct mproc__os_boot {
    mproc__os_handle_t from_parent;
    mproc__os_handle_t to_parent;
    mproc__os_handle_t parent_sentinel; /* ready once the parent has ended */
    int64_t parent_pid;                 /* the process the channel proved to come from */
} mproc__os_boot_t;

typedef struct mproc__os_spawn_req {
    const mproc__os_handle_t *pass; /* handles the child receives on purpose */
    size_t npass;
    int kill_with_parent;           /* the child must not outlive this process */
} mproc__os_spawn_req_t;

/* Start this executable again as a child with a bootstrap channel. On success
 * child_values[i] is the value pass[i] has in the child. Failures to create
 * or execute the child are returned here. */
mproc_status_t mproc__os_spawn(const mproc__os_spawn_req_t *req, mproc__os_child_t *child,
                               mproc__os_handle_t *child_values);
/* Was this process started as a spawned child? MPROC__BOOT_NONE: no child
 * flag in argv. MPROC__BOOT_CHILD: *boot is filled and the channel proved to
 * come from this process's parent (same user; POSIX: a socket whose peer is
 * the parent; Windows: pipes the parent created). Otherwise the refusal, with
 * *why saying why in a few words. Never blocks, never writes. */
typedef enum mproc__boot_check {
    MPROC__BOOT_NONE,
    MPROC__BOOT_CHILD,
    MPROC__BOOT_BAD_ARGV,    /* the flag with a malformed rest of the command line */
    MPROC__BOOT_BAD_CHANNEL  /* a channel that is not the parent's */
} mproc__boot_check_t;
mproc__boot_check_t mproc__os_spawned_boot(int argc, char **argv, mproc__os_boot_t *boot,
                                           const char **why);
/* Fill buf with bytes from the OS's cryptographic random generator. */
mproc_status_t mproc__os_random(void *buf, size_t len);
/* fork(): *is_child tells which side returned; the child gets *boot. */
mproc_status_t mproc__os_fork(mproc__os_child_t *child, mproc__os_boot_t *boot, int *is_child);
/* The child's sentinel: a handle ready once it has ended. A fork child on
 * Linux has none until asked for (a pidfd made here; a ready handle if it has
 * already been reaped). */
mproc_status_t mproc__os_child_sentinel(mproc__os_child_t *child, mproc__os_handle_t *out);
/* Wait for the child to end until deadline (< 0: forever) and reap it. */
mproc_status_t mproc__os_child_wait(mproc__os_child_t *child, double deadline);
/* End the child: force 0 asks (SIGTERM), 1 insists (SIGKILL); Windows: both terminate. */
mproc_status_t mproc__os_child_signal(mproc__os_child_t *child, int force);
/* Python's exitcode for a raw status (Windows: unsigned, 0x10000 -> -15). */
int64_t mproc__os_exitcode(int64_t raw_status);
/* Close the parent's handles of a child (reaped or not). */
void mproc__os_child_release(mproc__os_child_t *child);

/* ---- in the child ------------------------------------------------------- */

/* A fork child's handle ready once its parent has ended, for a child whose
 * boot has none (MPROC__OS_NO_HANDLE): made when first asked for. */
mproc_status_t mproc__os_parent_sentinel(int64_t parent_pid, mproc__os_handle_t *out);
/* Make this process die when its parent ends, even by SIGKILL. */
mproc_status_t mproc__os_watch_parent(const mproc__os_boot_t *boot);
void mproc__os_boot_release(mproc__os_boot_t *boot);
/* Flush stdout and stderr and end the process now, without atexit handlers. */
void mproc__os_exit(int code);

/* ---- process-shared counting semaphore ---------------------------------- */

typedef struct mproc__os_sem mproc__os_sem_t;
mproc_status_t mproc__os_sem_create(unsigned value, mproc__os_sem_t **out);
/* From a handle received from a parent (mproc__os_sem_handle of its copy). */
mproc_status_t mproc__os_sem_open(mproc__os_handle_t h, mproc__os_sem_t **out);
mproc_status_t mproc__os_sem_wait(mproc__os_sem_t *s, double deadline); /* ETIMEDOUT */
mproc_status_t mproc__os_sem_post(mproc__os_sem_t *s);
mproc__os_handle_t mproc__os_sem_handle(const mproc__os_sem_t *s);
void mproc__os_sem_close(mproc__os_sem_t *s);
/* How long a side about to sleep on a semaphore for a peer's move spins
 * first: about what a sleep and the post that ends it cost here. */
double mproc__os_sem_spin_seconds(void);

/* ---- who holds a lock: an identity that outlives pid reuse --------------- */

/* A non-zero token naming this process for its whole life (pid and start
 * time). The top three bits are clear (pids are below 2^29): locks keep flags
 * there. */
int64_t mproc__os_self_token(void);
/* The token once mproc__os_self_token() has been asked (0 before, and again in
 * a fork child until it asks): read where a call per lock is too much. */
extern volatile int64_t mproc__os_token_known;
/* A number naming the calling thread among this process's running threads
 * (the core asks only where the compiler has no native thread-locals). */
uintptr_t mproc__os_self_thread(void);
/* 1 while the process a token names runs; 0 once it ended (a zombie has ended). */
int mproc__os_token_alive(int64_t token);

/* ---- asymmetric store-load ordering between processes --------------------- */

/* Enroll this process (1) or not (0): an enrolled process may publish with
 * plain release stores, because a process about to sleep calls
 * mproc__os_fence_heavy(), which orders memory on every enrolled process. */
int mproc__os_fence_enroll(void);
/* MPROC_OK, or MPROC_ENOTSUP where the OS has no such fence. */
mproc_status_t mproc__os_fence_heavy(void);

/* ---- shared memory: anonymous, reaches children by handle, never by name --- */

typedef struct mproc__os_shm {
    void *addr;
    size_t size;
    mproc__os_handle_t handle;
    int commit_first; /* pages need mproc__os_shm_commit() before use (Windows, shm_open) */
} mproc__os_shm_t;
/* All `size` bytes usable at once (reserved where the OS lets memory run out). */
mproc_status_t mproc__os_shm_create(size_t size, mproc__os_shm_t *out);
/* Like create, but no page costs memory before it is used: a process calls
 * mproc__os_shm_commit() on a range of its view before it first touches it
 * when `commit_first` says so (Windows commits section pages per view; a
 * POSIX shm_open object reserves file pages, so a full /dev/shm is
 * MPROC_ENOMEM, not SIGBUS; a memfd has commit_first 0), and
 * mproc__os_shm_discard() gives a range's pages back to the OS (Linux; a no-op
 * where the OS cannot take back shared pages). A discarded range holds garbage
 * or zeros until written again. */
mproc_status_t mproc__os_shm_reserve(size_t size, mproc__os_shm_t *out);
mproc_status_t mproc__os_shm_commit(mproc__os_shm_t *shm, size_t offset, size_t len);
void mproc__os_shm_discard(mproc__os_shm_t *shm, size_t offset, size_t len);
mproc_status_t mproc__os_shm_attach(mproc__os_handle_t h, size_t size, mproc__os_shm_t *out);
void mproc__os_shm_release(mproc__os_shm_t *shm); /* unmap and close the handle */

/* ---- named shared memory: any process, mproc's or not, opens it by name --- */

/* Create the segment `name` (the portable name: no slash) of `size` bytes
 * (MPROC_ENAMETAKEN when the name exists), or with create 0 open it and map
 * all of it (MPROC_ENOENT when absent): out->size is then the size the OS
 * reports (exact on Linux; whole pages where the OS rounds). A name this
 * process created is removed when the process ends, even by SIGKILL, unless
 * unlinked before (POSIX: a tracker process; Windows: the name lives while a
 * handle to the segment is open). */
mproc_status_t mproc__os_shm_named(const char *name, int create, size_t size, mproc__os_shm_t *out);
/* Remove the name (the memory lives while mapped); `created_here`: this
 * process's tracker forgets it. Windows: MPROC_OK, nothing to remove. */
mproc_status_t mproc__os_shm_unlink(const char *name, int created_here);

#endif
