/*
 * The spawn bootstrap message: what a parent tells the child it started
 * (which target, the child's name and place in the tree, the arguments), and
 * the child's random challenge echoed back. The decoder is a pure function of
 * its bytes, so it can be fuzzed on its own.
 */
#ifndef MPROC_BOOT_H
#define MPROC_BOOT_H

#include "args_internal.h"
#include "mproc/context.h"

#define MPROC__BOOT_TOKEN_BYTES 16
/* The largest message a child accepts (arguments plus names). */
#define MPROC__BOOT_MAX_BYTES (MPROC_ARGS_MAX_BYTES + 64 * 1024)

typedef struct mproc__boot_msg {
    unsigned char token[MPROC__BOOT_TOKEN_BYTES]; /* the child's challenge, echoed */
    char *target, *name, *identity, *parent_name;
    int daemon;                  /* 0 or 1 */
    mproc_start_method_t method; /* the parent's default start method (fork or spawn) */
    int64_t parent_pid;
    mproc_args_t *args;
} mproc__boot_msg_t;

/* Append the message, preceded by its u32 length, to `b`. */
mproc_status_t mproc__boot_encode(const mproc__boot_msg_t *m, mproc__wbuf_t *b);
/* Decode a message body (the bytes after the length). Every field is checked:
 * magic and version, strings without NULs, daemon 0/1, a start method this
 * platform has, a positive parent pid, the argument list, no trailing bytes.
 * MPROC_EINVAL for anything malformed, MPROC_ENOMEM; on failure *m holds
 * nothing to free. */
mproc_status_t mproc__boot_decode(const void *data, size_t len, mproc__boot_msg_t *m);
void mproc__boot_msg_free(mproc__boot_msg_t *m);

#endif
