/*
 * What the core knows of argument lists beyond the public API: an internal
 * handle type (how queues, pipe ends, locks and shared memory will travel),
 * cloning, and the encoding a spawned child receives.
 */
#ifndef MPROC_ARGS_INTERNAL_H
#define MPROC_ARGS_INTERNAL_H

#include "mproc/args.h"
#include "platform.h"
#include "wire.h"

/* An OS handle the spawn path passes to the child on purpose. */
#define MPROC__ARG_HANDLE 100

mproc_status_t mproc__args_add_handle(mproc_args_t *args, mproc__os_handle_t h);
mproc_status_t mproc__args_get_handle(const mproc_args_t *args, size_t index,
                                      mproc__os_handle_t *out);
/* Replace the value of handle argument `index` (the child's value after spawn). */
mproc_status_t mproc__args_set_handle(mproc_args_t *args, size_t index, mproc__os_handle_t h);

/* A deep copy; `src` may be NULL (gives an empty list). */
mproc_status_t mproc__args_clone(const mproc_args_t *src, mproc_args_t **out);

mproc_status_t mproc__args_encode(const mproc_args_t *args, mproc__wbuf_t *out);
/* Validates everything it reads: a corrupt message gives MPROC_EINVAL. */
mproc_status_t mproc__args_decode(mproc__rbuf_t *in, mproc_args_t **out);

#endif
