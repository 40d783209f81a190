/*
 * The task the tests of large pool items share (test_pool_large, test_mpi):
 * `bump` outputs its input with every byte plus one, so an output is as
 * large as its input and every byte of both is checked. Include it in one
 * file of a test program (it registers the task).
 */
#ifndef MPROC_TEST_BUMP_TASK_H
#define MPROC_TEST_BUMP_TASK_H

#include <stdlib.h>

#include "test_support.h"

static int bump(const void *in, size_t len, mproc_task_out_t *out)
{
    unsigned char *b = malloc(len ? len : 1);
    if (!b)
        return mproc_task_fail(out, 1, "no memory for the output");
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(((const unsigned char *)in)[i] + 1);
    mproc_status_t st = mproc_task_output(out, b, len);
    free(b);
    return st ? mproc_task_fail(out, 2, mproc_strerror(st)) : 0;
}
MPROC_TASK(bump)

/* `len` bytes of a pattern that repeats neither per byte nor per MiB. */
static unsigned char *bump_input(size_t len)
{
    unsigned char *b = malloc(len ? len : 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(i * 131 + (i >> 20));
    return b;
}

/* `got` is `in` with every byte plus one (the first wrong index is shown). */
static void assert_bumped(const void *in, const void *got, size_t len)
{
    const unsigned char *i8 = in, *g = got;
    size_t bad = len;
    for (size_t i = 0; i < len && bad == len; i++)
        if (g[i] != (unsigned char)(i8[i] + 1))
            bad = i;
    assert_int_equal(bad, len);
}

#endif
