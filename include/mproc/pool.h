/**
 * @file pool.h
 * @brief Pool: Python's multiprocessing.pool.Pool in C.
 *
 * A pool keeps `processes` worker processes and runs tasks on them: apply,
 * map, imap, imap_unordered and starmap, synchronous or with an
 * ::mproc_async_result_t, with optional callbacks. A task is a registered
 * function (MPROC_TASK) from input bytes to output bytes; it fails by
 * returning a non-zero code of its own with mproc_task_fail().
 *
 * Beyond Python: when a worker dies (killed, crashed, or exit() inside a task)
 * the tasks it held fail with ::MPROC_EWORKERLOST and the worker's exit code,
 * every other task still completes, and a new worker takes its place. Python's
 * Pool hangs forever there.
 *
 * Callbacks run on the pool's handler thread: keep them short, and do not wait
 * on the pool from inside one. Workers are daemonic: they die with the pool's
 * process however it ends.
 */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include <stddef.h>

#include "args.h"
#include "context.h"
#include "export.h"
#include "init.h"
#include "pool_transport.h"
#include "status.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A pool of worker processes (opaque). */
typedef struct mproc_pool mproc_pool_t;

/** The result of a submitted call: one output, or one per item of a map (opaque). */
typedef struct mproc_async_result mproc_async_result_t;

/** The results of imap / imap_unordered, taken one at a time (opaque). */
typedef struct mproc_pool_iter mproc_pool_iter_t;

/** Where a running task puts its output or its failure (opaque). */
typedef struct mproc_task_out mproc_task_out_t;

/**
 * A task: reads `len` input bytes, writes its output with mproc_task_output()
 * (no output: an empty result), and returns 0, or fails by returning
 * mproc_task_fail(). It runs in a worker process.
 */
typedef int (*mproc_task_fn)(const void *input, size_t len, mproc_task_out_t *out);

/**
 * Set the task's output to a copy of `len` bytes at `data` (a later call
 * replaces it), of any size memory allows (no cap, as Python's). Errors:
 * MPROC_EINVAL (out NULL, data NULL with len > 0), MPROC_ENOMEM.
 */
MPROC_API mproc_status_t mproc_task_output(mproc_task_out_t *out, const void *data, size_t len);

/**
 * Record a failure: `code` (non-zero, the task's own meaning) and a message
 * (copied; may be NULL). Returns `code`, so a task can `return mproc_task_fail(...)`.
 */
MPROC_API int mproc_task_fail(mproc_task_out_t *out, int code, const char *message);

/** A task registration record; MPROC_TASK() defines one per task. */
typedef struct mproc_task_entry {
    mproc_task_fn fn;              /**< the task */
    const char *name;              /**< its name, the same in every process */
    struct mproc_task_entry *next; /**< owned by the library */
} mproc_task_entry_t;

/**
 * Register a task so spawned workers find it by name (as mproc_register_target()).
 * Errors: MPROC_EINVAL, MPROC_EEXIST (another task has that name).
 */
MPROC_API mproc_status_t mproc_register_task(mproc_task_entry_t *entry);

/** Register task function `fn` under its name; place it at file scope beside it. */
#define MPROC_TASK(fn)                                                            \
    static mproc_task_entry_t mproc__task_entry_##fn = {fn, #fn, 0};              \
    MPROC__CONSTRUCTOR(mproc__register_task_##fn)                                 \
    {                                                                             \
        (void)mproc_register_task(&mproc__task_entry_##fn);                       \
    }

/**
 * A chunk task, for mproc_pool_map_array_chunks(): maps the `n` elements at
 * `in` to the `n` outputs at `out` in one call, a plain loop the compiler can
 * vectorize, instead of one call per element. Element sizes are those given
 * to mproc_pool_map_array_chunks(); `in` and `out` start at a multiple of 16
 * bytes, belong to the library and are valid during the call only. Returns 0,
 * or a non-zero code of its own: then every element of the chunk fails with
 * it. It runs in a worker process.
 */
typedef int (*mproc_chunk_task_fn)(const void *in, void *out, size_t n);

/**
 * Register chunk task `fn` under its name (as MPROC_TASK(), in the same name
 * space): spawned workers and transports find it by name. Place it at file
 * scope beside the function.
 */
#define MPROC_CHUNK_TASK(fn)                                                      \
    static const mproc_chunk_task_fn mproc__chunk_task_##fn = fn; /* type check */ \
    static mproc_task_entry_t mproc__task_entry_##fn = {                          \
        (mproc_task_fn)(void (*)(void))fn, #fn, 0};                               \
    MPROC__CONSTRUCTOR(mproc__register_task_##fn)                                 \
    {                                                                             \
        (void)mproc__chunk_task_##fn;                                             \
        (void)mproc_register_task(&mproc__task_entry_##fn);                       \
    }

/** Called when an async result is ready; runs on the pool's handler thread. */
typedef void (*mproc_result_callback)(mproc_async_result_t *result, void *user);

/** Callbacks of an asynchronous call; start from MPROC_ASYNC_OPTIONS_INIT. */
typedef struct mproc_async_options {
    mproc_result_callback callback;       /**< runs when every task succeeded (NULL: none) */
    mproc_result_callback error_callback; /**< runs when one failed (NULL: none) */
    void *user;                           /**< passed to both */
} mproc_async_options_t;

/** No callbacks. */
#define MPROC_ASYNC_OPTIONS_INIT {NULL, NULL, NULL}

/** Options of a new pool; start from MPROC_POOL_OPTIONS_INIT. */
typedef struct mproc_pool_options {
    int processes;                /**< worker count; 0: mproc_cpu_count() (at most 31 on Windows, whose waits take 64 objects) */
    mproc_target_fn initializer;  /**< run first in each worker (NULL: none); register it with MPROC_TARGET; non-zero return: failure */
    const mproc_args_t *initargs; /**< its arguments (copied, with the pool's own duplicates of the pipe ends and queues in it; NULL: none) */
    long maxtasksperchild;        /**< a worker is replaced after this many tasks (0: never) */
    const mproc_context_t *context; /**< start method of the workers (NULL: default) */
    /**
     * Where the workers run (NULL: local processes), e.g. mproc_mpi_transport()
     * for MPI ranks (mproc/mpi.h). With a transport, processes 0 means the
     * transport's default, the initializer and every task must be registered
     * by name, maxtasksperchild must be 0, and terminate lets the chunks
     * the workers hold finish (their results are kept) instead of killing them.
     */
    const mproc_pool_transport_t *transport;
} mproc_pool_options_t;

/** A worker's exit code: its start arguments were not what the pool sends. */
#define MPROC_EXIT_WORKER_ARGS 90
/** A worker's exit code: the initializer's arguments could not be decoded. */
#define MPROC_EXIT_WORKER_INITARGS 91
/** A worker's exit code: reading its next chunk of tasks failed. */
#define MPROC_EXIT_WORKER_RECV 92
/** A worker's exit code: a chunk was malformed or its results could not be sent. */
#define MPROC_EXIT_WORKER_SEND 93
/** A worker's exit code: its initializer returned non-zero (it took no task). */
#define MPROC_EXIT_WORKER_INIT 94

/** Defaults: one worker per CPU, no initializer, workers never replaced, default context, local workers. */
#define MPROC_POOL_OPTIONS_INIT {0, NULL, NULL, 0, NULL, NULL}

/**
 * Start a pool and its workers. `opts` NULL: the defaults. Free it with
 * mproc_pool_free(), which terminates it if it still runs.
 * Errors: MPROC_EINVAL (out NULL, processes < 0 or above 31 on Windows,
 * maxtasksperchild < 0),
 * MPROC_ENOTINIT, MPROC_EDAEMON (called in a daemonic process),
 * MPROC_ENOTREGISTERED (spawn or a transport with an unregistered
 * initializer), MPROC_ENOTSUP (maxtasksperchild with a transport, or
 * `initargs` holding an object such as a pipe end or a queue, whose OS handles
 * cannot reach workers elsewhere), the errors
 * of mproc_process_start() or of the transport, MPROC_ENOMEM,
 * MPROC_EINITIALIZER.
 *
 * Initializer: every object `initargs` holds (pipe ends, queues) reaches each
 * worker as it reaches a Process started with it. mproc_pool_create() waits
 * until the first workers have run it: when it returns non-zero (or a worker
 * dies in it) the pool is ended and the result is MPROC_EINITIALIZER, with
 * `*pool` NULL. A worker started later (maxtasksperchild, or replacing one
 * that died) whose initializer fails takes no task and exits with
 * MPROC_EXIT_WORKER_INIT; the pool replaces it, as Python does. With a
 * transport, mproc_pool_create() waits for every worker's initializer in the
 * same way; no worker is started later (pool_transport.h).
 */
MPROC_API mproc_status_t mproc_pool_create(mproc_pool_t **out, const mproc_pool_options_t *opts);

/**
 * Run `fn(input)` on a worker and return at once with `*result` (owned by the
 * caller: free it with mproc_async_result_free()). `opts` gives the callbacks
 * (NULL: none): `callback` runs when it succeeds, `error_callback` when it fails.
 * The input (copied: the caller may free it on return) and the output may be
 * of any size memory allows (no cap, as Python's); a task whose input cannot
 * be sent at all fails with that status (MPROC_ENOMEM, or MPROC_ETOOBIG from a
 * transport with a limit).
 * Errors: MPROC_EINVAL, MPROC_ECLOSED (pool closed or terminated),
 * MPROC_ENOTREGISTERED (fn is not registered with MPROC_TASK, needed by the
 * spawn method and by transports), MPROC_ENOMEM.
 */
MPROC_API mproc_status_t mproc_pool_apply_async(mproc_pool_t *pool, mproc_task_fn fn,
                                                const void *input, size_t len,
                                                const mproc_async_options_t *opts,
                                                mproc_async_result_t **result);

/**
 * mproc_pool_apply_async(), then wait for it: returns what
 * mproc_async_result_get(*result, MPROC_FOREVER) returns. `*result` is set
 * whenever the call was submitted, also when the task failed (its error is
 * read from it), and NULL otherwise: free it in every case. Errors: those of
 * both calls (MPROC_ETASK, MPROC_EWORKERLOST, MPROC_ECLOSED, ...).
 * As it waits, an input of 64 KiB or more goes to workers behind a transport
 * straight from the caller's memory, not copied first (the same for
 * mproc_pool_map() and mproc_pool_map_array()); the input is not to change
 * until the call returns.
 */
MPROC_API mproc_status_t mproc_pool_apply(mproc_pool_t *pool, mproc_task_fn fn, const void *input,
                                          size_t len, mproc_async_result_t **result);

/**
 * Python's apply() for a result of known size, in one call: run `fn(input)`,
 * wait, and copy its output into the caller's buffer `out` of `cap` bytes;
 * its length goes to `*out_len` (may be NULL when the size is fixed).
 * Returns MPROC_OK, MPROC_ESHORTBUF (the output is longer than `cap`: nothing
 * copied, the size needed in `*out_len`), MPROC_ETASK or MPROC_EWORKERLOST
 * (use mproc_pool_apply() to read the failure's code and message).
 * Errors as mproc_pool_apply_async(), and MPROC_EINVAL (out NULL with cap > 0).
 */
MPROC_API mproc_status_t mproc_pool_apply_into(mproc_pool_t *pool, mproc_task_fn fn,
                                               const void *input, size_t len, void *out,
                                               size_t cap, size_t *out_len);

/**
 * Run `fn` on each of `n` inputs (`items[i]`, `lens[i]` bytes), in chunks of
 * `chunksize` items per worker round trip (0: Python's default, n / (4 x
 * workers) rounded up, but no more items than about 1 MiB of input holds,
 * at least 1: a worker receives a chunk whole, and large chunks are slow to
 * receive). The result holds n outputs in input order.
 * Errors as mproc_pool_apply_async().
 */
MPROC_API mproc_status_t mproc_pool_map_async(mproc_pool_t *pool, mproc_task_fn fn,
                                              const void *const *items, const size_t *lens,
                                              size_t n, size_t chunksize,
                                              const mproc_async_options_t *opts,
                                              mproc_async_result_t **result);

/** mproc_pool_map_async() and wait, as mproc_pool_apply(). */
MPROC_API mproc_status_t mproc_pool_map(mproc_pool_t *pool, mproc_task_fn fn,
                                        const void *const *items, const size_t *lens, size_t n,
                                        size_t chunksize, mproc_async_result_t **result);

/**
 * The fixed-size case of map: `fn` runs on each of the `n` elements of
 * `in_size` bytes at `in`, and must output exactly `out_size` bytes, which are
 * written to the caller's array `out` in order. No allocation per element.
 * Waits until all are done. Returns MPROC_OK, or the first failure
 * (MPROC_ETASK with `*failed_index` set when not NULL, MPROC_EWORKERLOST, or
 * MPROC_ETASK for an output of the wrong size); the elements that did not fail
 * are written all the same, and those of a chunk whose worker died while
 * sending its results may hold part of them.
 * Errors as mproc_pool_apply_async(), and MPROC_EINVAL for a zero size or
 * for `n` times a size above SIZE_MAX (no such array).
 */
MPROC_API mproc_status_t mproc_pool_map_array(mproc_pool_t *pool, mproc_task_fn fn,
                                              const void *in, size_t n, size_t in_size,
                                              void *out, size_t out_size, size_t chunksize,
                                              size_t *failed_index);

/**
 * mproc_pool_map_array() with a chunk task: `fn` runs once per chunk of up to
 * `chunksize` elements (0: the same default), on the chunk's inputs and
 * outputs as arrays, so a worker spends no call per element. Results are
 * written to `out` in order as with mproc_pool_map_array(). A chunk whose
 * task returns non-zero fails whole: MPROC_ETASK, and `*failed_index` (when
 * not NULL) is the first element of the first such chunk. Each chunk runs
 * exactly once; a worker that dies fails only its own chunk
 * (MPROC_EWORKERLOST). `fn` must be registered with MPROC_CHUNK_TASK() for
 * the spawn method and transports (else MPROC_ENOTREGISTERED). Other errors
 * as mproc_pool_map_array().
 */
MPROC_API mproc_status_t mproc_pool_map_array_chunks(mproc_pool_t *pool, mproc_chunk_task_fn fn,
                                                     const void *in, size_t n, size_t in_size,
                                                     void *out, size_t out_size,
                                                     size_t chunksize, size_t *failed_index);

/**
 * Python's starmap: each item is an argument list, encoded as the task's input;
 * the task reads it back with mproc_task_args(). Lists carrying queues or
 * connections are refused (MPROC_EINVAL). Otherwise as mproc_pool_map_async().
 */
MPROC_API mproc_status_t mproc_pool_starmap_async(mproc_pool_t *pool, mproc_task_fn fn,
                                                  const mproc_args_t *const *arglists, size_t n,
                                                  size_t chunksize,
                                                  const mproc_async_options_t *opts,
                                                  mproc_async_result_t **result);

/** mproc_pool_starmap_async() and wait, as mproc_pool_apply(). */
MPROC_API mproc_status_t mproc_pool_starmap(mproc_pool_t *pool, mproc_task_fn fn,
                                            const mproc_args_t *const *arglists, size_t n,
                                            size_t chunksize, mproc_async_result_t **result);

/**
 * In a starmap task: decode the input into a new argument list (free it with
 * mproc_args_free()). Errors: MPROC_EINVAL (not an encoded list), MPROC_ENOMEM.
 */
MPROC_API mproc_status_t mproc_task_args(const void *input, size_t len, mproc_args_t **out);

/**
 * Python's imap: results are taken one at a time, in input order, with
 * mproc_pool_iter_next() as they complete. chunksize 0 means 1, as Python.
 * Free the iterator with mproc_pool_iter_free().
 * Errors as mproc_pool_apply_async().
 */
MPROC_API mproc_status_t mproc_pool_imap(mproc_pool_t *pool, mproc_task_fn fn,
                                         const void *const *items, const size_t *lens, size_t n,
                                         size_t chunksize, mproc_pool_iter_t **it);

/** Python's imap_unordered: as mproc_pool_imap(), results in completion order. */
MPROC_API mproc_status_t mproc_pool_imap_unordered(mproc_pool_t *pool, mproc_task_fn fn,
                                                   const void *const *items, const size_t *lens,
                                                   size_t n, size_t chunksize,
                                                   mproc_pool_iter_t **it);

/**
 * The next result, waiting up to `timeout`: its output (`*data`, `*len`,
 * owned by the iterator and valid until it is freed) and, when not NULL, the
 * index of its input in `*index`, also for an item that failed. Returns
 * MPROC_OK, MPROC_ETASK (that item failed: mproc_pool_iter_error() tells how;
 * the iterator moves past it),
 * MPROC_EWORKERLOST, MPROC_EDONE (every result was taken), MPROC_ETIMEDOUT.
 * Errors: MPROC_EINVAL.
 */
MPROC_API mproc_status_t mproc_pool_iter_next(mproc_pool_iter_t *it, double timeout,
                                              const void **data, size_t *len, size_t *index);

/**
 * The failure of the item last returned by mproc_pool_iter_next(): the task's
 * code (or the worker's exit code for MPROC_EWORKERLOST, an int as in
 * mproc_async_result_error()) and message (owned by the iterator).
 * Errors: MPROC_EINVAL, MPROC_ENOTREADY (that item did not fail).
 */
MPROC_API mproc_status_t mproc_pool_iter_error(const mproc_pool_iter_t *it, int *code,
                                               const char **message);

/** Free an iterator (results still coming are dropped). NULL is ignored. */
MPROC_API void mproc_pool_iter_free(mproc_pool_iter_t *it);

/**
 * Wait up to `timeout` for the result. Returns MPROC_OK when every task
 * succeeded, MPROC_ETASK when one failed (mproc_async_result_error() has its
 * code and message), MPROC_EWORKERLOST when a worker died running one,
 * MPROC_ECLOSED when the pool was terminated first, MPROC_ETIMEDOUT when not
 * ready in time. Errors: MPROC_EINVAL.
 */
MPROC_API mproc_status_t mproc_async_result_get(mproc_async_result_t *r, double timeout);

/** Wait up to `timeout` until the result is ready: MPROC_OK or MPROC_ETIMEDOUT (MPROC_EINVAL for NULL). */
MPROC_API mproc_status_t mproc_async_result_wait(mproc_async_result_t *r, double timeout);

/** 1 when the result is ready, else 0 (also for NULL). */
MPROC_API int mproc_async_result_ready(mproc_async_result_t *r);

/**
 * Store 1 in `*ok` if every task succeeded, else 0.
 * Errors: MPROC_EINVAL, MPROC_ENOTREADY (not ready yet, as Python raises ValueError).
 */
MPROC_API mproc_status_t mproc_async_result_successful(mproc_async_result_t *r, int *ok);

/** Number of outputs: 1 for apply, n for the map forms (0 for NULL). */
MPROC_API size_t mproc_async_result_count(const mproc_async_result_t *r);

/**
 * Output `index` of a ready, successful result (owned by the result, valid
 * until it is freed). Errors: MPROC_EINVAL, MPROC_ERANGE, MPROC_ENOTREADY,
 * MPROC_ETASK / MPROC_EWORKERLOST (that item failed).
 */
MPROC_API mproc_status_t mproc_async_result_item(const mproc_async_result_t *r, size_t index,
                                                 const void **data, size_t *len);

/**
 * The first failure of a ready result: the task's code (or the dead worker's
 * exit code, for MPROC_EWORKERLOST) and its message (owned by the result).
 * An exit code is an int here: minus the signal on POSIX, and on Windows one
 * above INT_MAX is its 32 bits as a signed int, as an NTSTATUS (0xC0000005:
 * -1073741819), while the message and mproc_process_exitcode() give it
 * unsigned (3221225477), as Python.
 * Errors: MPROC_EINVAL, MPROC_ENOTREADY (not ready, or nothing failed).
 */
MPROC_API mproc_status_t mproc_async_result_error(const mproc_async_result_t *r, int *code,
                                                  const char **message);

/** Release the caller's hold on a result; a pending one still completes. NULL is ignored. */
MPROC_API void mproc_async_result_free(mproc_async_result_t *r);

/**
 * Python's close(): no more submissions (they return MPROC_ECLOSED); the
 * workers finish what was submitted and exit. Errors: MPROC_EINVAL.
 */
MPROC_API mproc_status_t mproc_pool_close(mproc_pool_t *pool);

/**
 * Python's terminate(): stop the workers now (SIGTERM, then SIGKILL for those
 * that do not end within a second) and fail pending results with
 * MPROC_ECLOSED. Returns once every worker is reaped. Errors: MPROC_EINVAL.
 */
MPROC_API mproc_status_t mproc_pool_terminate(mproc_pool_t *pool);

/**
 * Wait up to `timeout` for the workers to exit after close or terminate.
 * Errors: MPROC_ENOTCLOSED (neither was called, as Python), MPROC_ETIMEDOUT, MPROC_EINVAL.
 */
MPROC_API mproc_status_t mproc_pool_join(mproc_pool_t *pool, double timeout);

/** Terminate the pool if it still runs, then free it (Python's context-manager exit). NULL is ignored. */
MPROC_API void mproc_pool_free(mproc_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif
