/* For targets that read a connection: its read end over a pipe the target writes. */
#ifndef MPROC_FUZZ_READER_H
#define MPROC_FUZZ_READER_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "args_internal.h"
#include "mproc/mproc.h"

/* A readable connection end over a pipe whose other end is `*wr`. */
static mproc_connection_t *reader(int *wr)
{
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    mproc_args_t *a = NULL;
    mproc__obj_t obj = {MPROC__OBJ_CONNECTION, 1, 1, {fds[0], MPROC__OS_NO_HANDLE}};
    mproc_connection_t *c = NULL;
    if (mproc_args_create(&a) || mproc__args_add_object(a, &obj) ||
        mproc_args_get_connection(a, 0, &c))
        abort();
    mproc_args_free(a);
    close(fds[0]);
    *wr = fds[1];
    return c;
}

/* Write what fits in the pipe without blocking (libFuzzer's -max_len stays below 64 KiB). */
static void feed(int wr, const unsigned char *data, size_t size)
{
    fcntl(wr, F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(wr, data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
}

#endif
