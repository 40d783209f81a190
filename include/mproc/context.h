/**
 * @file context.h
 * @brief Start methods and contexts (Python's get_context / set_start_method).
 *
 * A start method says how a child process begins:
 * - MPROC_METHOD_FORK (POSIX only): the child is a copy of the parent made by
 *   fork(); it runs the target from the copied memory.
 * - MPROC_METHOD_SPAWN (everywhere): the child is the same executable started
 *   afresh; mproc_init() in its main() runs the registered target.
 * The process-wide default is fork on Linux and spawn on macOS and Windows,
 * as in CPython 3.11, until mproc_set_start_method() changes it.
 */
#ifndef MPROC_CONTEXT_H
#define MPROC_CONTEXT_H

#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a child process is started. */
typedef enum mproc_start_method {
    MPROC_METHOD_DEFAULT = 0, /**< the process-wide default at start time */
    MPROC_METHOD_FORK = 1,    /**< fork(): POSIX only */
    MPROC_METHOD_SPAWN = 2    /**< re-execute the current program */
} mproc_start_method_t;

/** A context: an object bound to one start method (Python's get_context()). */
typedef struct mproc_context mproc_context_t;

/**
 * Get the context for `method` in `*out` (static: never freed).
 * MPROC_METHOD_DEFAULT gives the context of the current default method.
 * Errors: MPROC_EINVAL (bad method or out NULL), MPROC_ENOTSUP (fork on Windows).
 */
MPROC_API mproc_status_t mproc_get_context(mproc_start_method_t method, const mproc_context_t **out);

/** The start method a context stands for (never MPROC_METHOD_DEFAULT). */
MPROC_API mproc_start_method_t mproc_context_start_method(const mproc_context_t *ctx);

/**
 * Set the process-wide default start method. As in Python, it may be set once:
 * a second call returns MPROC_ECONTEXT unless `force` is non-zero.
 * Errors: MPROC_EINVAL (bad method), MPROC_ENOTSUP, MPROC_ECONTEXT.
 */
MPROC_API mproc_status_t mproc_set_start_method(mproc_start_method_t method, int force);

/** The current default start method (fixes the platform default if unset). */
MPROC_API mproc_start_method_t mproc_get_start_method(void);

/** Non-zero when `method` can be used on this platform. */
MPROC_API int mproc_start_method_supported(mproc_start_method_t method);

/** Name of a start method: "fork", "spawn" or "default". */
MPROC_API const char *mproc_start_method_name(mproc_start_method_t method);

#ifdef __cplusplus
}
#endif

#endif
