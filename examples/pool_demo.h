/*
 * What examples/pool_squares.c and examples/pool_mpi.c both show, whether the
 * workers are local processes or MPI ranks: Python's
 *
 *   print(pool.map(square, range(10)))
 *   for r in pool.imap_unordered(square, range(5)): print("got", r)
 */
#ifndef MPROC_EXAMPLE_POOL_DEMO_H
#define MPROC_EXAMPLE_POOL_DEMO_H

#include <mproc/mproc.h>
#include <stdio.h>
#include <string.h>

static int square(const void *in, size_t len, mproc_task_out_t *out)
{
    long long x;
    if (len != sizeof x)
        return mproc_task_fail(out, 1, "expected a long long");
    memcpy(&x, in, sizeof x);
    x *= x;
    return mproc_task_output(out, &x, sizeof x);
}
MPROC_TASK(square)

/* map, then imap_unordered, printing what they return. */
static mproc_status_t map_and_imap(mproc_pool_t *pool)
{
    long long in[10], out[10];
    for (int i = 0; i < 10; i++)
        in[i] = i;
    mproc_status_t st =
        mproc_pool_map_array(pool, square, in, 10, sizeof in[0], out, sizeof out[0], 0, NULL);
    printf("map:");
    for (int i = 0; i < 10 && !st; i++)
        printf(" %lld", out[i]);
    printf("\n");

    const void *items[5];
    size_t lens[5];
    for (int i = 0; i < 5; i++) {
        items[i] = &in[i];
        lens[i] = sizeof in[i];
    }
    mproc_pool_iter_t *it;
    if (mproc_pool_imap_unordered(pool, square, items, lens, 5, 1, &it) == MPROC_OK) {
        const void *data;
        size_t len, index;
        long long r;
        while (mproc_pool_iter_next(it, MPROC_FOREVER, &data, &len, &index) == MPROC_OK) {
            memcpy(&r, data, sizeof r);
            printf("imap_unordered: square(%zu) = %lld\n", index, r);
        }
        mproc_pool_iter_free(it);
    }
    return st;
}

#endif
