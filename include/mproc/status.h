/**
 * @file status.h
 * @brief The one status type of the API and its error table.
 *
 * Every mproc function that can fail returns an ::mproc_status_t: MPROC_OK (0)
 * on success, a negative MPROC_E* code otherwise. Codes are stable across
 * releases and platforms; OS errors are translated at the platform boundary.
 */
#ifndef MPROC_STATUS_H
#define MPROC_STATUS_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status returned by every fallible mproc call: MPROC_OK or a negative MPROC_E* code. */
typedef int mproc_status_t;

/**
 * The status table: one `X(name, value, message)` row per code, giving
 * `MPROC_<name>` its value and the message mproc_strerror() returns. Expand it
 * with a macro of your own to build tables over every code. Values never
 * change once released.
 */
#define MPROC_STATUS_TABLE(X)                                                        \
    X(OK,              0, "success")                                                 \
    X(EINVAL,         -1, "invalid argument")                                        \
    X(ENOMEM,         -2, "out of memory")                                           \
    X(ETIMEDOUT,      -3, "timed out")                                               \
    X(ESTARTED,       -4, "process has already been started")                        \
    X(ENOTSTARTED,    -5, "process has not been started")                            \
    X(ECLOSED,        -6, "object is closed")                                        \
    X(EBUSY,          -7, "process is still running; join or terminate it first")    \
    X(ENOTCHILD,      -8, "can only wait for or signal a child of this process")     \
    X(EDAEMON,        -9, "daemonic processes are not allowed to have children")     \
    X(ENOTREGISTERED, -10, "target function is not registered with MPROC_TARGET")    \
    X(EEXIST,         -11, "a different target is registered under this name")       \
    X(ENOTSUP,        -12, "not supported on this platform or start method")         \
    X(ETYPE,          -13, "argument has another type")                              \
    X(ERANGE,         -14, "index out of range")                                     \
    X(ECONTEXT,       -15, "start method has already been set")                      \
    X(ENOTINIT,       -16, "mproc_init has not been called")                         \
    X(ESPAWN,         -17, "child process failed to start")                          \
    X(ENOENT,         -18, "no such file or object")                                 \
    X(EACCES,         -19, "permission denied")                                      \
    X(EMFILE,         -20, "too many open files or handles")                         \
    X(EAGAIN,         -21, "resource temporarily unavailable")                       \
    X(EOS,            -22, "unexpected operating system error")                      \
    X(ETOOBIG,        -23, "value exceeds the documented limit")                     \
    X(EEOF,           -24, "end of file: the peer has closed its end")               \
    X(ESHORTBUF,      -25, "buffer too short for the message; nothing was consumed")  \
    X(EMODE,          -26, "connection end is read-only or write-only")               \
    X(EEMPTY,         -27, "queue is empty")                                           \
    X(EFULL,          -28, "queue is full")                                            \
    X(ETASKDONE,      -29, "task_done() called more times than items were put")       \
    X(EOWNERDEAD,     -30, "the previous owner died holding the lock")                 \
    X(ETASK,          -31, "a task reported failure (see its code and message)")      \
    X(EWORKERLOST,    -32, "the worker process running the task died")                \
    X(EDONE,          -33, "no more results")                                          \
    X(ENOTREADY,      -34, "the result is not ready yet")                              \
    X(ENOTCLOSED,     -35, "close or terminate the pool first")                        \
    X(EINITIALIZER,   -36, "the pool's initializer failed in a worker")                \
    X(ELOST,          -37, "a message was lost with a consumer that died holding it")  \
    X(ENOTHELD,       -50, "the lock is not held")                                     \
    X(ENOTOWNER,      -51, "the lock is held by another process or thread")            \
    X(EOVERRELEASE,   -52, "semaphore or lock released too many times")                \
    X(EBROKEN,        -53, "the barrier is broken")                                    \
    X(ENAMETAKEN,     -54, "an object of that name already exists")                    \
    X(ECORRUPT,       -60, "shared state was found corrupted by another process")

/** Status codes; see MPROC_STATUS_TABLE for the message of each. */
typedef enum mproc_status_code {
#define MPROC__STATUS_ENUM(name, value, msg) MPROC_##name = value,
    MPROC_STATUS_TABLE(MPROC__STATUS_ENUM)
#undef MPROC__STATUS_ENUM
    MPROC__STATUS_END_ = -1000
} mproc_status_code_t;

/**
 * Human-readable message for a status code ("timed out").
 * Never NULL: unknown codes give "unknown mproc status". The string is static.
 */
MPROC_API const char *mproc_strerror(mproc_status_t status);

/**
 * Symbolic name of a status code ("MPROC_ETIMEDOUT").
 * Never NULL: unknown codes give "MPROC_EUNKNOWN". The string is static.
 */
MPROC_API const char *mproc_err_name(mproc_status_t status);

#ifdef __cplusplus
}
#endif

#endif
