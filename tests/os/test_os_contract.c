/*
 * The platform interface's contract, the same test for every backend:
 * semaphores and shared memory work within a process and reach a child
 * through handle arguments.
 */
#include <string.h>

#include "../support/test_support.h"
#include "args_internal.h"
#include "platform.h"

static void sem_counts_and_times_out(void **state)
{
    (void)state;
    mproc__os_sem_t *s;
    assert_int_equal(mproc__os_sem_create(2, &s), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, 0.0), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, 0.0), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, 0.0), MPROC_ETIMEDOUT);
    double t0 = mproc__os_now();
    assert_int_equal(mproc__os_sem_wait(s, t0 + 0.2), MPROC_ETIMEDOUT);
    double waited = mproc__os_now() - t0;
    assert_true(waited >= 0.15);
    assert_true(waited < 10.0);
    assert_int_equal(mproc__os_sem_post(s), MPROC_OK);
    assert_int_equal(mproc__os_sem_wait(s, -1.0), MPROC_OK);
    mproc__os_sem_close(s);
}

static void shm_rejects_zero_size(void **state)
{
    (void)state;
    mproc__os_shm_t shm;
    assert_int_equal(mproc__os_shm_create(0, &shm), MPROC_EINVAL);
}

/* args: semaphore handle, shared memory handle. Writes 42, posts. */
static int t_post(const mproc_args_t *args)
{
    mproc__os_handle_t hs, hm;
    mproc__os_sem_t *s;
    mproc__os_shm_t shm;
    if (mproc__args_get_handle(args, 0, &hs) || mproc__args_get_handle(args, 1, &hm))
        return 1;
    if (mproc__os_sem_open(hs, &s) || mproc__os_shm_attach(hm, 4096, &shm))
        return 2;
    memcpy(shm.addr, "42", 3);
    if (mproc__os_sem_post(s))
        return 3;
    mproc__os_sem_close(s);
    mproc__os_shm_release(&shm);
    return 0;
}
MPROC_TARGET(t_post)

static void sem_and_shm_reach_a_child(void **state)
{
    (void)state;
    mproc__os_sem_t *s;
    mproc__os_shm_t shm;
    assert_int_equal(mproc__os_sem_create(0, &s), MPROC_OK);
    assert_int_equal(mproc__os_shm_create(4096, &shm), MPROC_OK);
    memset(shm.addr, 0, 4096);
    mproc_args_t *a;
    mproc_args_create(&a);
    assert_int_equal(mproc__args_add_handle(a, mproc__os_sem_handle(s)), MPROC_OK);
    assert_int_equal(mproc__args_add_handle(a, shm.handle), MPROC_OK);
    mproc_process_t *p = test_start(t_post, a);
    mproc_args_free(a);
    assert_int_equal(mproc__os_sem_wait(s, mproc__os_now() + 60), MPROC_OK);
    assert_string_equal((const char *)shm.addr, "42");
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    mproc__os_sem_close(s);
    mproc__os_shm_release(&shm);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sem_counts_and_times_out),
        cmocka_unit_test(shm_rejects_zero_size),
        cmocka_unit_test(sem_and_shm_reach_a_child),
    };
    return test_main(argc, argv, "os", tests, ARRAY_LEN(tests));
}
