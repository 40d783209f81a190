/*
 * The chunk task the pool tests share (test_pool, test_pool_faults):
 * `square_chunk` squares a chunk of int64_t in one loop, and returns 99 if
 * its arrays are not aligned to 16 bytes as pool.h promises. Include it in
 * one file of a test program (it registers the task).
 */
#ifndef MPROC_TEST_SQUARE_CHUNK_TASK_H
#define MPROC_TEST_SQUARE_CHUNK_TASK_H

#include <stdint.h>

#include "test_support.h"

static int square_chunk(const void *in, void *out, size_t n)
{
    if ((uintptr_t)in % 16 || (uintptr_t)out % 16)
        return 99;
    const int64_t *a = in;
    int64_t *b = out;
    for (size_t i = 0; i < n; i++)
        b[i] = a[i] * a[i];
    return 0;
}
MPROC_CHUNK_TASK(square_chunk)

#endif
