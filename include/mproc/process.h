/**
 * @file process.h
 * @brief Process: Python's multiprocessing.Process in C.
 *
 * Create a process with a registered target and an argument list, start it,
 * join it. Names, daemon flags, exit codes and the close rules follow
 * CPython 3.11. Timeouts follow timeout.h; errors follow status.h.
 *
 * Thread safety: one process object may be used from one thread at a time;
 * different objects from different threads at once.
 */
#ifndef MPROC_PROCESS_H
#define MPROC_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "context.h"
#include "export.h"
#include "init.h"
#include "status.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A process (opaque). Children are created by mproc_process_create(). */
typedef struct mproc_process mproc_process_t;

/** An OS object to wait on: a file descriptor on POSIX, a HANDLE on Windows. */
typedef intptr_t mproc_sentinel_t;

/** What a call that fails stores in a sentinel out-parameter: no OS object. */
#define MPROC_SENTINEL_NONE ((mproc_sentinel_t)-1)

/** mproc_process_exitcode() stores this while the process has no exit code (Python's None). */
#define MPROC_EXITCODE_NONE INT64_MIN

/** Daemon flag values for ::mproc_process_options_t. */
#define MPROC_DAEMON_INHERIT (-1) /**< inherit the creating process's flag (Python's None) */

/** Optional attributes of a new process; start from MPROC_PROCESS_OPTIONS_INIT. */
typedef struct mproc_process_options {
    const char *name;               /**< NULL: "Process-N" (nested: "Process-N:M"); copied */
    int daemon;                     /**< 0, 1, or MPROC_DAEMON_INHERIT */
    const mproc_context_t *context; /**< NULL: the default start method at start time */
} mproc_process_options_t;

/** Defaults: generated name, inherited daemon flag, default context. */
#define MPROC_PROCESS_OPTIONS_INIT {NULL, MPROC_DAEMON_INHERIT, NULL}

/**
 * Create a process object that will run `target(args)` once started.
 * `args` may be NULL (no arguments); it is copied, the caller keeps ownership.
 * `opts` may be NULL for the defaults. Free the object with mproc_process_free().
 * Errors: MPROC_EINVAL (out or target NULL, bad daemon value), MPROC_ENOMEM,
 * MPROC_ENOTINIT (mproc_init() was not called).
 */
MPROC_API mproc_status_t mproc_process_create(mproc_process_t **out, mproc_target_fn target,
                                              const mproc_args_t *args,
                                              const mproc_process_options_t *opts);

/**
 * Start the child. Returns once the child exists and, under spawn, has found
 * its target: start-up failures are reported here, not as a child that exits.
 * Errors: MPROC_ESTARTED (second start), MPROC_ECLOSED, MPROC_EDAEMON (the
 * calling process is daemonic), MPROC_ENOTREGISTERED (spawn of a target not
 * registered with MPROC_TARGET; no child is started), MPROC_ENOTSUP (fork on
 * Windows), MPROC_ESPAWN (the child could not start or bootstrap),
 * MPROC_EAGAIN / MPROC_EMFILE / MPROC_ENOMEM / MPROC_EOS (OS limits).
 */
MPROC_API mproc_status_t mproc_process_start(mproc_process_t *p);

/**
 * Wait until the process ends or `timeout` seconds pass (see timeout.h); may be
 * called any number of times. Returns MPROC_OK once it has ended (its exit code
 * is then available) and MPROC_ETIMEDOUT if it still runs.
 * The parent process object can be joined too: it returns once the parent ended.
 * Errors: MPROC_ENOTSTARTED, MPROC_ECLOSED, MPROC_ENOTCHILD (the current
 * process, or a process another process started), MPROC_EINVAL (NULL, NaN).
 */
MPROC_API mproc_status_t mproc_process_join(mproc_process_t *p, double timeout);

/**
 * Store 1 in `*alive` while the child runs, else 0 (also before start).
 * A finished child is reaped, as Python's is_alive() does. The current process
 * is always alive; the parent process is alive until it ends.
 * Errors: MPROC_EINVAL, MPROC_ECLOSED, MPROC_ENOTCHILD (an object this process
 * did not start, e.g. a sibling's copy in a fork child).
 */
MPROC_API mproc_status_t mproc_process_is_alive(mproc_process_t *p, int *alive);

/**
 * Store the exit code in `*exitcode`: MPROC_EXITCODE_NONE before start and
 * while running; the target's return value once it ended normally; minus the
 * signal number when a signal killed it on POSIX; -15 (-SIGTERM) on Windows for
 * a child ended by mproc_process_terminate() or mproc_process_kill(), and the
 * unsigned exit code otherwise (3221225477 for 0xC0000005), as Python.
 * Errors: MPROC_EINVAL, MPROC_ECLOSED.
 */
MPROC_API mproc_status_t mproc_process_exitcode(mproc_process_t *p, int64_t *exitcode);

/**
 * Store the raw OS status of an ended child in `*raw`: the waitpid() status on
 * POSIX (decode with WIFEXITED, WTERMSIG...), the GetExitCodeProcess() value
 * on Windows (e.g. 0xC0000005 for an access violation).
 * Errors: MPROC_EINVAL, MPROC_ECLOSED, MPROC_ENOTSTARTED, MPROC_EBUSY (still running).
 */
MPROC_API mproc_status_t mproc_process_raw_status(mproc_process_t *p, int64_t *raw);

/**
 * Store the OS process id in `*pid` (0 before start).
 * Errors: MPROC_EINVAL, MPROC_ECLOSED.
 */
MPROC_API mproc_status_t mproc_process_pid(const mproc_process_t *p, int64_t *pid);

/** The process name; owned by the object, valid until renamed or freed. "" for NULL. */
MPROC_API const char *mproc_process_name(const mproc_process_t *p);

/**
 * Rename the process (any time, as Python); the string is copied.
 * Errors: MPROC_EINVAL, MPROC_ENOMEM.
 */
MPROC_API mproc_status_t mproc_process_set_name(mproc_process_t *p, const char *name);

/** 1 if the process is daemonic, else 0 (also for NULL). */
MPROC_API int mproc_process_daemon(const mproc_process_t *p);

/**
 * Set the daemon flag; only before start. A daemonic child is terminated when
 * its parent exits normally and killed when its parent dies in any way, and
 * may not create children.
 * Errors: MPROC_EINVAL, MPROC_ESTARTED, MPROC_ECLOSED.
 */
MPROC_API mproc_status_t mproc_process_set_daemon(mproc_process_t *p, int daemon);

/**
 * Ask the child to end: SIGTERM on POSIX, TerminateProcess on Windows. Does not
 * wait; join afterwards. No effect on a child that has already ended.
 * Errors: MPROC_EINVAL, MPROC_ENOTSTARTED, MPROC_ECLOSED, MPROC_ENOTCHILD.
 */
MPROC_API mproc_status_t mproc_process_terminate(mproc_process_t *p);

/** As mproc_process_terminate() with SIGKILL (TerminateProcess on Windows). */
MPROC_API mproc_status_t mproc_process_kill(mproc_process_t *p);

/**
 * Store an OS object in `*out` that becomes ready (readable / signalled) when
 * the child ends; wait on several with mproc_wait(). Owned by the process
 * object: do not close it; valid until the process is closed.
 * Errors: MPROC_EINVAL, MPROC_ENOTSTARTED, MPROC_ECLOSED, MPROC_EMFILE (a
 * fork child on Linux gets its sentinel, a pidfd, when first asked for, and
 * no descriptor was left).
 */
MPROC_API mproc_status_t mproc_process_sentinel(const mproc_process_t *p, mproc_sentinel_t *out);

/**
 * Release the OS resources of an ended (or never started) child, as Python's
 * close(). Afterwards only name, daemon and free work; other calls return
 * MPROC_ECLOSED. Closing twice is harmless.
 * Errors: MPROC_EINVAL, MPROC_EBUSY (the child still runs).
 */
MPROC_API mproc_status_t mproc_process_close(mproc_process_t *p);

/**
 * Free the object; it always is (unlike mproc_process_close(), which refuses a
 * running child as Python's close() does). A child that still runs is not
 * touched: it runs on, the library keeps what it needs to reap it when it ends
 * (mproc_active_children() no longer lists it) and, as for every child, a
 * normal exit of this process joins it, or terminates it if it is daemonic.
 * NULL and the objects of mproc_current_process() and mproc_parent_process()
 * (owned by the library) are ignored.
 */
MPROC_API void mproc_process_free(mproc_process_t *p);

/**
 * The process object of the running process: "MainProcess" in the main
 * program, the started process's name, pid and daemon flag in a child. Owned
 * by the library.
 */
MPROC_API mproc_process_t *mproc_current_process(void);

/**
 * The parent of the running process, or NULL in the main program. Owned by the
 * library. Its name and pid are the parent's; mproc_process_is_alive() and
 * mproc_process_join() report whether it still runs.
 */
MPROC_API mproc_process_t *mproc_parent_process(void);

/**
 * Store the pid of the process that created the running one in `*pid`, as
 * Python's os.getppid(), in every process (mproc_init() not needed): in the
 * main program the shell's or launcher's pid, in a child the pid of the
 * process that started it. POSIX reports the current parent (getppid()): once
 * the creator has ended, the process that adopted this one. Windows reports
 * the creator's pid even after it ended, and 0 when no Windows process created
 * this one (a program started from a Unix shell under Wine).
 * Errors: MPROC_EINVAL (pid NULL), MPROC_EOS (the OS could not tell; `*pid` is 0).
 */
MPROC_API mproc_status_t mproc_parent_pid(int64_t *pid);

/**
 * The children of this process that are still running. Reaps those that
 * ended, as Python's active_children(). Fills up to `cap` pointers (borrowed:
 * the caller owns the objects already) and stores the full count in `*count`.
 * Errors: MPROC_EINVAL (count NULL, or out NULL with cap > 0).
 */
MPROC_API mproc_status_t mproc_active_children(mproc_process_t **out, size_t cap, size_t *count);

/** Number of CPUs usable by this process (at least 1). */
MPROC_API int mproc_cpu_count(void);

/**
 * Wait until at least one of `n` sentinels is ready or `timeout` passes
 * (Python's multiprocessing.connection.wait). Sets `ready[i]` to 1 for each
 * ready object, 0 otherwise; `ready` may be NULL. A connection's waitable
 * object (mproc_connection_waitable()) is ready also when bytes of its next
 * message were already read ahead into this process, so a wait before each
 * receive never blocks with data in hand.
 * Returns MPROC_OK when at least one is ready, MPROC_ETIMEDOUT otherwise.
 * Errors: MPROC_EINVAL (NULL with n > 0, n == 0 with an infinite timeout, NaN,
 * more than 64 objects on Windows), MPROC_ENOMEM, MPROC_EOS.
 */
MPROC_API mproc_status_t mproc_wait(const mproc_sentinel_t *objects, size_t n, double timeout,
                                    int *ready);

#ifdef __cplusplus
}
#endif

#endif
