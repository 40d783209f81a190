/*
 * Pool items and outputs above the old 256 MiB cap (issue 15): CPython's Pool
 * carries any size memory allows, and so does this one. Local workers send
 * them through their connections (which carry messages of any size since
 * h/frames); the MPI and thread transports have their own tests.
 */
#include <stdlib.h>
#include <string.h>

#include "support/bump_task.h"
#include "support/test_support.h"

#define BIG ((size_t)300 << 20)

static mproc_pool_t *two_workers(void)
{
    mproc_pool_options_t o = MPROC_POOL_OPTIONS_INIT;
    o.processes = 2;
    mproc_pool_t *pool = NULL;
    assert_int_equal(mproc_pool_create(&pool, &o), MPROC_OK);
    return pool;
}

static void an_item_and_an_output_above_256_MiB_arrive_whole(void **state)
{
    (void)state;
    unsigned char *big = bump_input(BIG);
    mproc_pool_t *pool = two_workers();
    mproc_async_result_t *r = NULL;
    assert_int_equal(mproc_pool_apply(pool, bump, big, BIG, &r), MPROC_OK);
    const void *p = NULL;
    size_t len = 0;
    assert_int_equal(mproc_async_result_item(r, 0, &p, &len), MPROC_OK);
    assert_int_equal(len, BIG);
    assert_bumped(big, p, BIG);
    mproc_async_result_free(r);
    /* In a map, beside small items, in one chunk and in chunks of their own. */
    unsigned char small[5] = {1, 2, 3, 4, 5};
    const void *items[3] = {small, big, small};
    size_t lens[3] = {sizeof small, BIG, 0};
    for (size_t chunksize = 1; chunksize <= 3; chunksize += 2) {
        assert_int_equal(mproc_pool_map(pool, bump, items, lens, 3, chunksize, &r), MPROC_OK);
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(mproc_async_result_item(r, i, &p, &len), MPROC_OK);
            assert_int_equal(len, lens[i]);
            assert_bumped(items[i], p, len);
        }
        mproc_async_result_free(r);
    }
    assert_int_equal(mproc_pool_close(pool), MPROC_OK);
    assert_int_equal(mproc_pool_join(pool, 120), MPROC_OK);
    mproc_pool_free(pool);
    free(big);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_item_and_an_output_above_256_MiB_arrive_whole),
    };
    return test_main(argc, argv, "pool_large", tests, ARRAY_LEN(tests));
}
