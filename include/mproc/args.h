/**
 * @file args.h
 * @brief Typed argument lists: what a parent hands to a child's target.
 *
 * An argument list is an ordered list of typed values: integers, doubles,
 * strings and byte buffers (added here), connection ends
 * (mproc_args_add_connection(), connection.h) and queues
 * (mproc_args_add_queue(), queue.h). It is copied when a process is created
 * and reaches the target identically under every start method: under fork the
 * child reads the parent's copy, under spawn the same bytes travel through the
 * child's bootstrap channel, and the OS handles of objects are passed to the
 * child on purpose (no other handle is inherited).
 *
 * Values are copied in when added; the list owns its copies.
 *
 * Ownership of objects in argument lists: adding an object (a connection end,
 * a queue, and every object type added later) stores the list's own duplicate
 * of the object's OS handles, not a reference to the object. The caller may
 * close or free its object right after adding it; the list's duplicates are
 * closed when the list is freed. mproc_process_create() takes a duplicate of
 * its own, which the process object releases once the child has started (as
 * Python drops a started process's arguments). So once the lists are freed
 * and the processes started, closing an object in the parent really closes
 * it there: a peer sees EOF when the child's copy closes too. Adding fails
 * with MPROC_EMFILE when no handle is left for the duplicate. In a target,
 * each mproc_args_get_connection() / mproc_args_get_queue() call gives a new,
 * independent object that the target owns and frees.
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
    MPROC_ARG_CONNECTION = 5, /**< a connection end (connection.h) */
    MPROC_ARG_QUEUE = 6,      /**< a queue (queue.h) */
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

/** Free a list and every value it holds, closing its duplicates of object handles. NULL is ignored. */
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
 * MPROC_ETYPE (the argument is not an integer); `*out` is 0 on error.
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

/**
 * Append one argument per letter of `format`, taken from the variable
 * arguments (Python's Py_BuildValue). The letters, and what each consumes:
 * - `i`: an `int` (stored as an integer argument; a plain literal works);
 * - `L`: an `int64_t` (cast literals: `(int64_t)5`);
 * - `d`: a `double` (a float is promoted);
 * - `s`: a `const char *` string, copied;
 * - `y`: a `const void *` and a `size_t` length: a byte buffer, copied;
 * - `c`: a `const mproc_connection_t *`, as mproc_args_add_connection();
 * - `q`: a `const mproc_queue_t *`, as mproc_args_add_queue().
 *
 * Example: `mproc_args_pack(a, "sid", "bob", 3, 0.5)`. All or nothing: on
 * failure the list is as it was. Errors: MPROC_EINVAL (args or format NULL,
 * an unknown letter, a NULL string or object), and those of the add calls.
 */
MPROC_API mproc_status_t mproc_args_pack(mproc_args_t *args, const char *format, ...);

/**
 * Read every argument of the list at once, one letter per argument, into the
 * pointers that follow (Python's PyArg_ParseTuple). The letters are those of
 * mproc_args_pack(), each taking pointers: `i` an `int *`, `L` an `int64_t *`,
 * `d` a `double *`, `s` a `const char **` (borrowed from the list, as
 * mproc_args_get_str()), `y` a `const void **` and a `size_t *` (borrowed),
 * `c` an `mproc_connection_t **` and `q` an `mproc_queue_t **` (new objects
 * the caller frees, as mproc_args_get_connection() / mproc_args_get_queue()).
 *
 * Example: `mproc_args_unpack(args, "sid", &name, &count, &ratio)`.
 * On failure every pointer holds its empty value (NULL / 0) and no object is
 * left allocated. Errors: MPROC_EINVAL (args or format NULL, an unknown
 * letter, a NULL pointer), MPROC_ERANGE (the list does not hold exactly as
 * many arguments as the format has letters: Python's TypeError for a wrong
 * count), MPROC_ETYPE (an argument has another type than its letter says),
 * MPROC_ETOOBIG (an `i` value outside the range of int), and the errors of
 * mproc_args_get_connection() / mproc_args_get_queue().
 */
MPROC_API mproc_status_t mproc_args_unpack(const mproc_args_t *args, const char *format, ...);

#ifdef __cplusplus
}
#endif

#endif
