/**
 * @file shared.h
 * @brief Shared data: Python's multiprocessing.Value and Array
 * (sharedctypes), and multiprocessing.shared_memory.SharedMemory.
 *
 * Value and Array are typed memory shared between processes, optionally
 * guarded by an RLock of their own. They live in anonymous shared memory:
 * nothing is left behind when the processes using them end, even by SIGKILL.
 * A pointer gives C code direct access to the data; reads and writes through
 * it are as atomic as the C type's on the CPU (use the lock for anything
 * more). A handle is this process's view; the data lives while any process
 * holds a view (or an argument list holds it). Hand one to a child in its
 * argument list (mproc_args_add_value() etc.; ownership rule in args.h).
 *
 * Type codes are Python's (array module): 'c' char, 'b' signed char,
 * 'B' unsigned char, 'h' short, 'H' unsigned short, 'i' int, 'I' unsigned
 * int, 'l' long, 'L' unsigned long, 'q' long long, 'Q' unsigned long long,
 * 'f' float, 'd' double: the C types of the platform, as in Python.
 */
#ifndef MPROC_SHARED_H
#define MPROC_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "export.h"
#include "status.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A shared Value or Array (one type, two sets of names). */
typedef struct mproc_shared_data mproc_value_t;
/** A shared Array: `n` elements of one type code. */
typedef struct mproc_shared_data mproc_array_t;

/** Size in bytes of the C type behind `typecode`, 0 for an unknown code. */
MPROC_API size_t mproc_typecode_size(char typecode);

/**
 * Create a Value of `typecode`, zero, with an RLock of its own when `lock`
 * is non-zero (Python's Value(typecode, lock=True)) or without one (Python's
 * RawValue / lock=False). Errors: MPROC_EINVAL (out NULL, unknown typecode),
 * MPROC_ENOTINIT, MPROC_ENOMEM, OS errors; `*out` is NULL on failure.
 */
MPROC_API mproc_status_t mproc_value_create(mproc_value_t **out, char typecode, int lock);

/** The value's data (for 'd': a `double *`), valid until freed. NULL for NULL. */
MPROC_API void *mproc_value_ptr(mproc_value_t *v);

/** The value's lock, owned by the value; NULL when created without one. */
MPROC_API mproc_lock_t *mproc_value_get_lock(mproc_value_t *v);

/** The type code (0 for NULL). */
MPROC_API char mproc_value_typecode(const mproc_value_t *v);

/** Free this process's view (and of its lock). NULL is ignored. */
MPROC_API void mproc_value_free(mproc_value_t *v);

/**
 * Append a value with its lock (MPROC_ARG_VALUE).
 * Errors: MPROC_EINVAL (NULL; an array), MPROC_ENOMEM, MPROC_ETOOBIG.
 */
MPROC_API mproc_status_t mproc_args_add_value(mproc_args_t *args, const mproc_value_t *v);

/**
 * A view of value argument `index` in `*out`, the caller's to free.
 * Errors: MPROC_EINVAL, MPROC_ERANGE, MPROC_ETYPE, OS errors; `*out` is NULL
 * on failure.
 */
MPROC_API mproc_status_t mproc_args_get_value(const mproc_args_t *args, size_t index,
                                              mproc_value_t **out);

/**
 * Create an Array of `n` zeroed elements of `typecode`, with an RLock of its
 * own when `lock` is non-zero (Python's Array(typecode, n, lock=...)).
 * Errors: MPROC_EINVAL (out NULL, unknown typecode), MPROC_ETOOBIG (more
 * than 2^40 bytes), MPROC_ENOTINIT, MPROC_ENOMEM, OS errors.
 */
MPROC_API mproc_status_t mproc_array_create(mproc_array_t **out, char typecode, size_t n, int lock);

/** The first element (for 'i': an `int *`), valid until freed. NULL for NULL. */
MPROC_API void *mproc_array_ptr(mproc_array_t *a);

/** The number of elements (0 for NULL). */
MPROC_API size_t mproc_array_len(const mproc_array_t *a);

/** The array's lock, owned by the array; NULL when created without one. */
MPROC_API mproc_lock_t *mproc_array_get_lock(mproc_array_t *a);

/** The type code (0 for NULL). */
MPROC_API char mproc_array_typecode(const mproc_array_t *a);

/** Free this process's view (and of its lock). NULL is ignored. */
MPROC_API void mproc_array_free(mproc_array_t *a);

/** Append an array with its lock (MPROC_ARG_ARRAY). Errors as mproc_args_add_value(). */
MPROC_API mproc_status_t mproc_args_add_array(mproc_args_t *args, const mproc_array_t *a);

/** A view of array argument `index`. Errors as mproc_args_get_value(). */
MPROC_API mproc_status_t mproc_args_get_array(const mproc_args_t *args, size_t index,
                                              mproc_array_t **out);


/* ---- SharedMemory ------------------------------------------------------- */

/** A named shared-memory segment (Python's shared_memory.SharedMemory). */
typedef struct mproc_shared_memory mproc_shared_memory_t;

/** Longest name of a segment, in bytes. */
#define MPROC_SHARED_MEMORY_NAME_MAX 200

/**
 * Create (`create` non-zero) or attach to the segment `name`, as Python's
 * SharedMemory(name, create, size). Any process attaches by name, started by
 * mproc or not (Python uses the same names: "/name" on POSIX, the mapping
 * name on Windows). Creating with a NULL name picks a new unique one.
 * A new segment has `size` bytes, zeroed, and mproc_shared_memory_size()
 * reports `size` even where the OS rounds it up to whole pages; an attached
 * segment reports its size as the OS knows it: exact on Linux, and on
 * Windows where the kernel reports a section's size; whole pages on macOS
 * and under Wine. `size` is ignored when attaching.
 *
 * Lifetime: the name is removed by mproc_shared_memory_unlink(), or else when
 * the process that created it ends, normally or killed (POSIX: a small
 * tracker process started with the first segment a process creates; Windows:
 * a segment and its name live while any process has a handle to it open, so
 * the creator should keep its view until the others attached). A process
 * that only attached never removes the name. The memory itself stays mapped
 * in every process that attached until it closes its view.
 *
 * Errors: MPROC_EINVAL (out NULL; create with size 0; attach without a name;
 * a name that is empty, longer than MPROC_SHARED_MEMORY_NAME_MAX or holds '/'
 * or '\\'), MPROC_ENAMETAKEN (create: the name exists), MPROC_ENOENT (attach:
 * no such segment), MPROC_EACCES, MPROC_ENOMEM, OS errors; `*out` is NULL on
 * failure.
 */
MPROC_API mproc_status_t mproc_shared_memory_create(mproc_shared_memory_t **out, const char *name,
                                                    int create, size_t size);

/** The segment's name (owned by the view), NULL for NULL. */
MPROC_API const char *mproc_shared_memory_name(const mproc_shared_memory_t *shm);

/** The segment's memory, NULL once closed (and for NULL). */
MPROC_API void *mproc_shared_memory_buf(mproc_shared_memory_t *shm);

/** The segment's size in bytes (see mproc_shared_memory_create()); 0 for NULL. */
MPROC_API size_t mproc_shared_memory_size(const mproc_shared_memory_t *shm);

/**
 * Close this view (Python's close()): unmap the memory; the segment and its
 * name stay (on Windows until every handle is closed). Closing twice is
 * allowed. Errors: MPROC_EINVAL (NULL).
 */
MPROC_API mproc_status_t mproc_shared_memory_close(mproc_shared_memory_t *shm);

/**
 * Remove the segment's name (Python's unlink()), also after close: no
 * process can attach any more; views already open keep working. Call it
 * once, in one process. On Windows there is no name to remove (MPROC_OK).
 * Errors: MPROC_EINVAL (NULL), MPROC_ENOENT (already removed).
 */
MPROC_API mproc_status_t mproc_shared_memory_unlink(mproc_shared_memory_t *shm);

/** Close the view if open and free it; never removes the name. NULL is ignored. */
MPROC_API void mproc_shared_memory_free(mproc_shared_memory_t *shm);

#ifdef __cplusplus
}
#endif

#endif
