/**
 * @file mproc.h
 * @brief Everything of mproc: Python's multiprocessing model for C.
 *
 * @code
 * static int f(const mproc_args_t *args) { ...; return 0; }
 * MPROC_TARGET(f)
 *
 * int main(int argc, char **argv) {
 *     mproc_init(argc, argv);      // a spawned child runs f here and exits
 *     mproc_process_t *p;
 *     mproc_process_create(&p, f, NULL, NULL);
 *     mproc_process_start(p);
 *     mproc_process_join(p, MPROC_FOREVER);
 *     mproc_process_free(p);
 * }
 * @endcode
 */
/**
 * @mainpage mproc: Python's multiprocessing model for C
 *
 * Include mproc.h for everything. The API by header:
 * - init.h: mproc_init() and MPROC_TARGET(), which a program needs first;
 * - process.h: processes (Python's Process), current and parent process,
 *   active children, cpu_count, and mproc_wait() on sentinels;
 * - args.h: the typed argument lists a target receives;
 * - connection.h: pipes and connection ends (Python's Pipe());
 * - queue.h: Queue, SimpleQueue and JoinableQueue;
 * - pool.h: Pool: apply, map, imap, starmap, with async results;
 * - sync.h: Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event and
 *   Barrier, with owner death reported (MPROC_EOWNERDEAD, MPROC_EBROKEN);
 * - shared.h: shared data: Value, Array and named SharedMemory;
 * - context.h: start methods and contexts (fork, spawn);
 * - status.h: the status codes every fallible call returns;
 * - timeout.h: the timeout convention of every blocking call;
 * - version.h and export.h: version and symbol visibility.
 *
 * - pool_transport.h: the hook through which a backend library runs a
 *   pool's workers elsewhere (an application only sets
 *   mproc_pool_options_t::transport to what the backend returns).
 *
 * Not included here: mproc/mpi.h, of the separate library libmproc-mpi,
 * such a backend on MPI ranks (docs/mpi.md).
 *
 * Conventions: objects are opaque, created by `*_create` and released by
 * `*_free`; a fallible call returns ::mproc_status_t, MPROC_OK or a negative
 * `MPROC_E*` code; a blocking call takes a timeout in seconds, with
 * ::MPROC_FOREVER for Python's `None`.
 *
 * Out-parameters: every pointer a call stores a result through is set on
 * every return, failures included. On failure it holds the empty value of its
 * type: NULL for a pointer (so `*_free(p)` after any outcome is safe), 0 for
 * a size, count, index, flag or code, ::MPROC_EXITCODE_NONE for an exit code
 * and ::MPROC_SENTINEL_NONE for a sentinel. The only values stored on failure
 * are those a call documents: the size needed with ::MPROC_ESHORTBUF, the
 * failed item's index from mproc_pool_iter_next(), and the result of a
 * synchronous pool call whose task failed (its error is read from it). A NULL
 * out-pointer is MPROC_EINVAL, except where a call documents it as optional.
 *
 * Getters come in two shapes, by whether they can fail. A getter that cannot
 * fail on a valid object returns its value (mproc_process_name(),
 * mproc_process_daemon(), mproc_connection_readable(), mproc_queue_empty(),
 * mproc_async_result_count()) and documents what NULL gives. A getter that
 * can fail for another reason than a NULL argument, where Python raises
 * (a closed object, a process not started, a result not ready), returns a
 * status and stores the value through an out-pointer (mproc_process_pid(),
 * mproc_process_exitcode(), mproc_queue_qsize()).
 *
 * Releasing: `*_free` always frees its object, returns nothing and ignores
 * NULL; `*_close` is Python's close() and may refuse (a running process).
 * Errors and Python's exceptions: docs/python-guide.md has, call by call,
 * which status stands for which exception.
 *
 * Coming from Python: docs/python-guide.md in the source tree maps each
 * `multiprocessing` call to its mproc call. Building against an installed
 * mproc (CMake, pkg-config, vcpkg, conan): docs/packaging.md.
 */
#ifndef MPROC_MPROC_H
#define MPROC_MPROC_H

#include "args.h"
#include "connection.h"
#include "context.h"
#include "export.h"
#include "init.h"
#include "pool.h"
#include "pool_transport.h"
#include "process.h"
#include "queue.h"
#include "shared.h"
#include "status.h"
#include "sync.h"
#include "timeout.h"
#include "version.h"

#endif
