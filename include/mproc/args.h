/**
 * @file args.h
 * @brief Typed argument lists: what a parent hands to a child's target.
 *
 * An argument list is an ordered list of typed values (integers, doubles,
 * strings, byte buffers). It is copied when a process is created and reaches
 * the target identically under every start method: under fork the child reads
 * the parent's copy, under spawn the same bytes travel through the child's
 * bootstrap channel.
 *
 * Values are copied in when added; the list owns its copies. Later releases add
 * types for queues, pipe ends, locks and shared memory, which carry OS handles
 * that the spawn path passes to the child on purpose.
 */
#ifndef MPROC_ARGS_H
#define MPROC_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An ordered, typed argument list (opaque). */
typedef struct mproc_args mproc_args_t;

/** The type of one argument. */
typedef enum mproc_arg_type {
    MPROC_ARG_NONE = 0,   /**< no argument at that index */
    MPROC_ARG_INT = 1,    /**< int64_t */
    MPROC_ARG_DOUBLE = 2, /**< double */
    MPROC_ARG_STR = 3,    /**< NUL-terminated string */
    MPROC_ARG_BYTES = 4,  /**< byte buffer, any content, may be empty */
    MPROC_ARG_LOCK = 16,      /**< a Lock or RLock (sync.h) */
    MPROC_ARG_SEMAPHORE = 17, /**< a Semaphore or BoundedSemaphore (sync.h) */
    MPROC_ARG_CONDITION = 18, /**< a Condition with its lock (sync.h) */
    MPROC_ARG_EVENT = 19,     /**< an Event (sync.h) */
    MPROC_ARG_BARRIER = 20,   /**< a Barrier (sync.h) */
    MPROC_ARG_VALUE = 21,     /**< a shared Value with its lock, if any (shared.h) */
    MPROC_ARG_ARRAY = 22      /**< a shared Array with its lock, if any (shared.h) */
} mproc_arg_type_t;

/** Largest total encoded size of one argument list (64 MiB). */
#define MPROC_ARGS_MAX_BYTES ((size_t)64 * 1024 * 1024)

/**
 * Create an empty argument list in `*out`; free it with mproc_args_free().
 * Errors: MPROC_EINVAL (out is NULL), MPROC_ENOMEM.
 */
MPROC_API mproc_status_t mproc_args_create(mproc_args_t **out);

/** Free a list and every value it holds. NULL is ignored. */
MPROC_API void mproc_args_free(mproc_args_t *args);

/**
 * Append a 64-bit signed integer.
 * Errors: MPROC_EINVAL (args NULL), MPROC_ENOMEM, MPROC_ETOOBIG (list would
 * exceed MPROC_ARGS_MAX_BYTES).
 */
MPROC_API mproc_status_t mproc_args_add_int(mproc_args_t *args, int64_t value);

/** Append a double. Errors as mproc_args_add_int(). */
MPROC_API mproc_status_t mproc_args_add_double(mproc_args_t *args, double value);

/**
 * Append a copy of the NUL-terminated string `value`.
 * Errors: MPROC_EINVAL (args or value NULL), MPROC_ENOMEM, MPROC_ETOOBIG.
 */
MPROC_API mproc_status_t mproc_args_add_str(mproc_args_t *args, const char *value);

/**
 * Append a copy of `len` bytes at `data`; `data` may be NULL only when `len` is 0.
 * Errors: MPROC_EINVAL (args NULL, or data NULL with len > 0), MPROC_ENOMEM,
 * MPROC_ETOOBIG.
 */
MPROC_API mproc_status_t mproc_args_add_bytes(mproc_args_t *args, const void *data, size_t len);

/** Number of arguments in the list (0 for NULL). */
MPROC_API size_t mproc_args_count(const mproc_args_t *args);

/** Type of argument `index`, or MPROC_ARG_NONE when there is none. */
MPROC_API mproc_arg_type_t mproc_args_type(const mproc_args_t *args, size_t index);

/**
 * Read integer argument `index` into `*out`.
 * Errors: MPROC_EINVAL (NULL pointer), MPROC_ERANGE (no such index),
 * MPROC_ETYPE (the argument is not an integer); `*out` is unchanged on error.
 */
MPROC_API mproc_status_t mproc_args_get_int(const mproc_args_t *args, size_t index, int64_t *out);

/** Read double argument `index` into `*out`. Errors as mproc_args_get_int(). */
MPROC_API mproc_status_t mproc_args_get_double(const mproc_args_t *args, size_t index, double *out);

/**
 * Point `*out` at string argument `index`. The string is owned by the list
 * and valid until the list is freed (for a target: until it returns).
 * Errors as mproc_args_get_int().
 */
MPROC_API mproc_status_t mproc_args_get_str(const mproc_args_t *args, size_t index, const char **out);

/**
 * Point `*data` at byte argument `index` and store its length in `*len`.
 * Owned by the list, as for mproc_args_get_str(); an empty buffer gives a
 * non-NULL pointer and length 0. Errors as mproc_args_get_int().
 */
MPROC_API mproc_status_t mproc_args_get_bytes(const mproc_args_t *args, size_t index,
                                              const void **data, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
