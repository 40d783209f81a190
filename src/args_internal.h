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

/*
 * An object item: OS handles the spawn path passes to the child on purpose,
 * with a kind and flags saying what they are. A list made by
 * mproc_args_create() or mproc__args_clone() owns duplicates of the handles it
 * was given (args.h's ownership rule) and closes them when freed; a decoded
 * list owns none.
 */
#define MPROC__ARG_OBJECT 100
#define MPROC__OBJ_MAX_HANDLES 8

typedef enum mproc__obj_kind {
    MPROC__OBJ_RAW = 1,        /* a bare handle (tests, internal use) */
    MPROC__OBJ_CONNECTION = 2, /* a connection end; flags: readable 1, writable 2 */
    MPROC__OBJ_QUEUE = 3,      /* a queue: its shared memory and synchronisation objects */
    /* Kinds from 16 on are public argument types of the same number (args.h). */
    MPROC__OBJ_LOCK = MPROC_ARG_LOCK,
    MPROC__OBJ_SEMAPHORE = MPROC_ARG_SEMAPHORE,
    MPROC__OBJ_CONDITION = MPROC_ARG_CONDITION,
    MPROC__OBJ_EVENT = MPROC_ARG_EVENT,
    MPROC__OBJ_BARRIER = MPROC_ARG_BARRIER,
    MPROC__OBJ_VALUE = MPROC_ARG_VALUE,
    MPROC__OBJ_ARRAY = MPROC_ARG_ARRAY
} mproc__obj_kind_t;
#define MPROC__OBJ_PUBLIC_KINDS 16

typedef struct mproc__obj {
    mproc__obj_kind_t kind;
    unsigned flags;
    size_t nhandles;
    mproc__os_handle_t handles[MPROC__OBJ_MAX_HANDLES];
} mproc__obj_t;

mproc_status_t mproc__args_add_object(mproc_args_t *args, const mproc__obj_t *obj);
/* MPROC_ETYPE unless item `index` is an object of `kind`. */
mproc_status_t mproc__args_get_object(const mproc_args_t *args, size_t index,
                                      mproc__obj_kind_t kind, mproc__obj_t *out);
/* Every handle of every object, in order; the caller frees *handles. */
mproc_status_t mproc__args_handles(const mproc_args_t *args, mproc__os_handle_t **handles,
                                   size_t *n);
/* Replace them, in the same order, with the child's values after spawn: the
 * list's own duplicates are closed and it owns nothing from then on. */
void mproc__args_set_handles(mproc_args_t *args, const mproc__os_handle_t *handles);

mproc_status_t mproc__args_add_handle(mproc_args_t *args, mproc__os_handle_t h);
mproc_status_t mproc__args_get_handle(const mproc_args_t *args, size_t index,
                                      mproc__os_handle_t *out);

/* Append src's items from index `from` on to dst. Where dst owns its handles
 * (a list built here), object items get duplicates of their own; otherwise
 * they refer to the same handles. `src` may be NULL. MPROC_ETOOBIG past
 * MPROC_ARGS_MAX_BYTES (dst then holds the items appended so far). */
mproc_status_t mproc__args_append(mproc_args_t *dst, const mproc_args_t *src, size_t from);

/* Drop the items from `count` on (closing their handle duplicates). */
void mproc__args_truncate(mproc_args_t *args, size_t count);

/* A deep copy with duplicates of its own; `src` may be NULL (an empty list). */
mproc_status_t mproc__args_clone(const mproc_args_t *src, mproc_args_t **out);

mproc_status_t mproc__args_encode(const mproc_args_t *args, mproc__wbuf_t *out);
/* Validates everything it reads: a corrupt message gives MPROC_EINVAL. */
mproc_status_t mproc__args_decode(mproc__rbuf_t *in, mproc_args_t **out);

#endif
