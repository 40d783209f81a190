/*
 * The portable core's private state: the process object, the process-wide
 * registry of children and the helpers shared by the core's files.
 */
#ifndef MPROC_CORE_H
#define MPROC_CORE_H

#include "args_internal.h"
#include "mproc/mproc.h"
#include "platform.h"

typedef enum mproc__kind {
    MPROC__KIND_CHILD,  /* created here with mproc_process_create() */
    MPROC__KIND_SELF,   /* mproc_current_process() */
    MPROC__KIND_PARENT  /* mproc_parent_process() */
} mproc__kind_t;

struct mproc_process {
    mproc__kind_t kind;
    char *name;
    char *identity; /* "1:2": this process's place in the tree, names its children */
    int daemon;
    int started;
    int closed;
    int64_t pid;
    int64_t starter_pid; /* the process that started it: the only one that may wait for it */
    mproc_target_fn target;
    mproc_args_t *args;
    const mproc_context_t *context;
    mproc__os_child_t os;                /* CHILD */
    mproc__os_handle_t parent_sentinel;  /* PARENT */
    struct mproc_process *next_active;   /* in the registry while started and not seen ended */
    int active;
    int detached; /* freed by the user while running: the registry frees it once reaped */
};

typedef struct mproc__state {
    int initialized;
    int64_t owner_pid;             /* the process whose exit joins the registry */
    struct mproc_process self;
    struct mproc_process parent;
    int has_parent;
    uint64_t next_child_number;    /* Python's never repeat: 64 bits */
    struct mproc_process *active;  /* started children not yet seen ended */
    mproc__os_mutex_t lock;        /* the registry lock (mproc__lock) */
} mproc__state_t;

extern mproc__state_t mproc__g;

/* Registry lock (any thread may start, join or list children). A fork child
 * releases the copy its forking thread held; no other thread exists there. */
void mproc__lock(void);
void mproc__unlock(void);

/* The registry lock and the main process's own object; once, from mproc_init(). */
mproc_status_t mproc__state_init(void);

/* A timeout (timeout.h) as a deadline for the platform layer: < 0 forever. */
mproc_status_t mproc__deadline(double timeout, double *deadline);

/* Registry of started children; callers hold the lock. */
void mproc__registry_add(mproc_process_t *p);
void mproc__registry_remove(mproc_process_t *p);
/* Take over a running child whose object the user frees: 1 if taken (the
 * registry frees it once reaped), 0 if it is not a running child of ours. */
int mproc__registry_adopt(mproc_process_t *p);
/* Reap ended children and drop them from the registry (Python's _cleanup). */
void mproc__registry_reap(void);
/* Python's _exit_function: terminate daemonic children, join the others. */
void mproc__join_children_at_exit(void);
/* Run first by mproc__join_children_at_exit, before daemonic children are
 * ended: pool.c's, which terminates this process's open pools, as Python's
 * exit finalizers do (else a pool's handler replaces the workers the exit
 * ends, and the exit waits for them for ever). NULL until a pool exists. */
extern void (*mproc__pools_at_exit)(void);

/* Targets. */
mproc_target_fn mproc__target_by_name(const char *name);
const char *mproc__target_name(mproc_target_fn fn); /* NULL: not registered */
mproc_task_fn mproc__task_by_name(const char *name);
const char *mproc__task_name(mproc_task_fn fn);

/* The pool's worker target, registered by mproc_init() so spawned workers find it. */
void mproc__pool_register(void);
mproc_target_fn mproc__pool_worker_target(void);

void mproc__force_default_method(mproc_start_method_t m);

/* Who a new child is. The strings are on the heap and owned by whoever holds
 * this; a fork child's parent strings are its own old ones (mproc__g.self). */
typedef struct mproc__child_id {
    char *name, *identity;
    char *parent_name, *parent_identity;
    int daemon;
    int64_t parent_pid;
} mproc__child_id_t;

/* The child side: become the described process, taking its strings (it
 * allocates nothing: a fork child's target runs with no malloc before it);
 * run the target and return its exit code (the caller exits). */
void mproc__become_child(const mproc__child_id_t *id, const mproc__os_boot_t *boot);
int mproc__run_target(mproc_target_fn target, const mproc_args_t *args,
                      const mproc__os_boot_t *boot);

mproc_status_t mproc__start_fork(mproc_process_t *p);
mproc_status_t mproc__start_spawn(mproc_process_t *p);
/* From mproc_init(): in a process started with the spawn child flag, become
 * the child and run its target, or refuse (stderr line, MPROC_EXIT_BOOT_*);
 * never returns then. Returns at once in any other process. */
void mproc__spawned_entry(int argc, char **argv);

/* Receive the next message into `buf`, grown as needed and reused across calls. */
mproc_status_t mproc__connection_recv_reuse(mproc_connection_t *c, double timeout,
                                            mproc__wbuf_t *buf);

/* Receive the next message. When it is `head_len + tail_len` bytes long and
 * accept(its first head_len bytes, ctx) says yes, those go to `head` and the
 * rest straight to `tail`, read in place (*split 1: a pool's result into the
 * caller's array); otherwise all of it goes to `buf` as
 * mproc__connection_recv_reuse does (*split 0). A timeout mid-message keeps
 * what arrived for the next call, whose tail may then be copied. */
mproc_status_t mproc__connection_recv_split(mproc_connection_t *c, double timeout, void *head,
                                            size_t head_len, void *tail, size_t tail_len,
                                            int (*accept)(const void *head, void *ctx),
                                            void *ctx, mproc__wbuf_t *buf, int *split);

/* Send one message whose bytes are `first` (at most 4 KiB - 12, joined with
 * the header) then `second`, read in place: a large payload is not copied
 * into a joined buffer (the pool's chunk head and the caller's inputs).
 * Errors as mproc_connection_send_bytes, MPROC_EINVAL for a longer `first`. */
mproc_status_t mproc__connection_send_two(mproc_connection_t *c, const void *first,
                                          size_t first_len, const void *second,
                                          size_t second_len);

/* mproc_wait, also telling in os_ready[i] (when not NULL) that the OS found
 * objects[i] ready itself, not only bytes read ahead: a connection's read end
 * then has data or has ended, so that its next read does not block. */
mproc_status_t mproc__wait(const mproc_sentinel_t *objects, size_t n, double timeout, int *ready,
                           int *os_ready);

/* The caller's wait found c's read end ready (mproc__wait's os_ready) and no
 * one else reads it: the next timed receive reads once without asking the OS
 * first. It holds until that receive returns. */
void mproc__connection_said_ready(mproc_connection_t *c);

/* 1 if an open connection of this process reads from `h` and has bytes read
 * ahead (mproc_wait counts it ready). */
int mproc__connection_has_buffered(mproc__os_handle_t h);

/* In a fork child: close the connection ends it was not given in `args`. */
void mproc__connections_after_fork(const mproc_args_t *args);

char *mproc__strdup(const char *s);

#endif
