/*
 * Value and Array (shared.h): typed memory a child writes and the parent
 * reads, with and without a lock, under each start method.
 */
#include <string.h>

#include "support/test_support.h"

#define ROUNDS 2000

/* args: Value('d'), Array('i'). Python's documentation example's child. */
static int t_negate(const mproc_args_t *args)
{
    mproc_value_t *num;
    mproc_array_t *arr;
    if (mproc_args_get_value(args, 0, &num) || mproc_args_get_array(args, 1, &arr))
        return 100;
    mproc_lock_t *l = mproc_array_get_lock(arr);
    if (!l || mproc_lock_acquire(l, 1, 30))
        return 101;
    *(double *)mproc_value_ptr(num) = 3.1415927;
    int *a = mproc_array_ptr(arr);
    for (size_t i = 0; i < mproc_array_len(arr); i++)
        a[i] = -a[i];
    mproc_lock_release(l);
    mproc_value_free(num);
    mproc_array_free(arr);
    return 0;
}
MPROC_TARGET(t_negate)

/* args: Value('q') with its lock. Adds ROUNDS to it under the lock. */
static int t_increment(const mproc_args_t *args)
{
    mproc_value_t *v;
    if (mproc_args_get_value(args, 0, &v))
        return 100;
    long long *n = mproc_value_ptr(v);
    mproc_lock_t *l = mproc_value_get_lock(v);
    for (int i = 0; i < ROUNDS; i++) {
        if (mproc_lock_acquire(l, 1, 30))
            return 101;
        long long seen = *n;
        if (i % 101 == 0)
            test_sleep(0.0001);
        *n = seen + 1;
        mproc_lock_release(l);
    }
    mproc_value_free(v);
    return 0;
}
MPROC_TARGET(t_increment)

/* args: a raw Value('c'). Writes 'x' into it. */
static int t_write_raw(const mproc_args_t *args)
{
    mproc_value_t *v;
    if (mproc_args_get_value(args, 0, &v) || mproc_value_get_lock(v))
        return 100;
    *(char *)mproc_value_ptr(v) = 'x';
    mproc_value_free(v);
    return 0;
}
MPROC_TARGET(t_write_raw)

static void typecodes_are_pythons(void **state)
{
    (void)state;
    assert_int_equal(mproc_typecode_size('c'), 1);
    assert_int_equal(mproc_typecode_size('b'), 1);
    assert_int_equal(mproc_typecode_size('B'), 1);
    assert_int_equal(mproc_typecode_size('h'), sizeof(short));
    assert_int_equal(mproc_typecode_size('H'), sizeof(short));
    assert_int_equal(mproc_typecode_size('i'), sizeof(int));
    assert_int_equal(mproc_typecode_size('I'), sizeof(int));
    assert_int_equal(mproc_typecode_size('l'), sizeof(long));
    assert_int_equal(mproc_typecode_size('L'), sizeof(long));
    assert_int_equal(mproc_typecode_size('q'), 8);
    assert_int_equal(mproc_typecode_size('Q'), 8);
    assert_int_equal(mproc_typecode_size('f'), sizeof(float));
    assert_int_equal(mproc_typecode_size('d'), sizeof(double));
    assert_int_equal(mproc_typecode_size('x'), 0);
    mproc_value_t *v = (mproc_value_t *)&v;
    assert_int_equal(mproc_value_create(&v, 'x', 1), MPROC_EINVAL);
    assert_null(v);
    assert_int_equal(mproc_value_create(NULL, 'd', 1), MPROC_EINVAL);
    mproc_array_t *a = (mproc_array_t *)&a;
    assert_int_equal(mproc_array_create(&a, 'd', (size_t)1 << 62, 0), MPROC_ETOOBIG);
    assert_null(a);
    assert_int_equal(mproc_array_create(&a, 'Q', 5, 0), MPROC_OK);
    assert_int_equal(mproc_array_len(a), 5);
    assert_int_equal(mproc_array_typecode(a), 'Q');
    for (int i = 0; i < 5; i++)
        assert_int_equal(((unsigned long long *)mproc_array_ptr(a))[i], 0);
    assert_null(mproc_array_get_lock(a));
    assert_null(mproc_value_ptr(a)); /* an array is not a value */
    mproc_array_free(a);
    assert_null(mproc_value_ptr(NULL));
    assert_int_equal(mproc_array_len(NULL), 0);
}

static void a_child_writes_what_the_parent_reads(void **state)
{
    (void)state;
    mproc_value_t *num;
    mproc_array_t *arr;
    assert_int_equal(mproc_value_create(&num, 'd', 1), MPROC_OK);
    assert_int_equal(mproc_array_create(&arr, 'i', 10, 1), MPROC_OK);
    assert_int_equal(*(double *)mproc_value_ptr(num), 0.0);
    int *a = mproc_array_ptr(arr);
    for (int i = 0; i < 10; i++)
        a[i] = i;
    mproc_args_t *args;
    assert_int_equal(mproc_args_create(&args), MPROC_OK);
    assert_int_equal(mproc_args_add_value(args, num), MPROC_OK);
    assert_int_equal(mproc_args_add_array(args, arr), MPROC_OK);
    assert_int_equal(mproc_args_type(args, 0), MPROC_ARG_VALUE);
    assert_int_equal(mproc_args_type(args, 1), MPROC_ARG_ARRAY);
    mproc_process_t *p = test_start(t_negate, args);
    mproc_args_free(args);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    assert_true(*(double *)mproc_value_ptr(num) == 3.1415927);
    for (int i = 0; i < 10; i++)
        assert_int_equal(a[i], -i);
    mproc_value_free(num);
    mproc_array_free(arr);
}

static void increments_under_the_value_lock_are_exact(void **state)
{
    (void)state;
    mproc_value_t *v;
    assert_int_equal(mproc_value_create(&v, 'q', 1), MPROC_OK);
    assert_non_null(mproc_value_get_lock(v));
    assert_int_equal(mproc_value_typecode(v), 'q');
    mproc_args_t *args;
    assert_int_equal(mproc_args_create(&args), MPROC_OK);
    assert_int_equal(mproc_args_add_value(args, v), MPROC_OK);
    mproc_process_t *p[2];
    for (int i = 0; i < 2; i++)
        p[i] = test_start(t_increment, args);
    mproc_args_free(args);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(test_join(p[i]), 0);
        mproc_process_free(p[i]);
    }
    assert_int_equal(*(long long *)mproc_value_ptr(v), 2 * ROUNDS);
    mproc_value_free(v);
}

static void a_raw_value_has_no_lock(void **state)
{
    (void)state;
    mproc_value_t *v;
    assert_int_equal(mproc_value_create(&v, 'c', 0), MPROC_OK);
    assert_null(mproc_value_get_lock(v));
    mproc_args_t *args;
    assert_int_equal(mproc_args_create(&args), MPROC_OK);
    assert_int_equal(mproc_args_add_value(args, v), MPROC_OK);
    mproc_array_t *wrong = (mproc_array_t *)&wrong;
    assert_int_equal(mproc_args_get_array(args, 0, &wrong), MPROC_ETYPE);
    assert_null(wrong);
    assert_int_equal(mproc_args_add_array(args, v), MPROC_EINVAL);
    mproc_process_t *p = test_start(t_write_raw, args);
    mproc_args_free(args);
    assert_int_equal(test_join(p), 0);
    mproc_process_free(p);
    assert_int_equal(*(char *)mproc_value_ptr(v), 'x');
    mproc_value_free(v);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typecodes_are_pythons),
        cmocka_unit_test(a_child_writes_what_the_parent_reads),
        cmocka_unit_test(increments_under_the_value_lock_are_exact),
        cmocka_unit_test(a_raw_value_has_no_lock),
    };
    return test_main(argc, argv, "shared_value", tests, ARRAY_LEN(tests));
}
