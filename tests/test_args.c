/* Argument lists and the status table: no processes, plain values. */
#include <string.h>

#include "support/test_support.h"

static void typed_values_round_trip(void **state)
{
    (void)state;
    mproc_args_t *a;
    int64_t i = 0;
    double d = 0;
    const char *s = NULL;
    const void *b = NULL;
    size_t len = 99;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_count(a), 0);
    assert_int_equal(mproc_args_add_int(a, -5), MPROC_OK);
    assert_int_equal(mproc_args_add_double(a, 0.25), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, "x"), MPROC_OK);
    assert_int_equal(mproc_args_add_bytes(a, "\0\1", 2), MPROC_OK);
    assert_int_equal(mproc_args_count(a), 4);
    assert_int_equal(mproc_args_type(a, 0), MPROC_ARG_INT);
    assert_int_equal(mproc_args_type(a, 1), MPROC_ARG_DOUBLE);
    assert_int_equal(mproc_args_type(a, 2), MPROC_ARG_STR);
    assert_int_equal(mproc_args_type(a, 3), MPROC_ARG_BYTES);
    assert_int_equal(mproc_args_type(a, 4), MPROC_ARG_NONE);
    assert_int_equal(mproc_args_get_int(a, 0, &i), MPROC_OK);
    assert_int_equal(i, -5);
    assert_int_equal(mproc_args_get_double(a, 1, &d), MPROC_OK);
    assert_true(d == 0.25);
    assert_int_equal(mproc_args_get_str(a, 2, &s), MPROC_OK);
    assert_string_equal(s, "x");
    assert_int_equal(mproc_args_get_bytes(a, 3, &b, &len), MPROC_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(b, "\0\1", 2);
    mproc_args_free(a);
    mproc_args_free(NULL);
}

static void bad_input_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    mproc_args_t *a;
    int64_t i = 77;
    assert_int_equal(mproc_args_create(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_args_add_bytes(a, NULL, 3), MPROC_EINVAL);
    assert_int_equal(mproc_args_add_int(NULL, 1), MPROC_EINVAL);
    assert_int_equal(mproc_args_count(a), 0);
    assert_int_equal(mproc_args_add_str(a, "s"), MPROC_OK);
    assert_int_equal(mproc_args_get_int(a, 0, &i), MPROC_ETYPE);
    assert_int_equal(mproc_args_get_int(a, 1, &i), MPROC_ERANGE);
    assert_int_equal(mproc_args_get_int(a, 0, NULL), MPROC_EINVAL);
    assert_int_equal(i, 0); /* a failed get stores 0 (mproc.h's out-parameter rule) */
    static char big[1024 * 1024];
    mproc_status_t st = MPROC_OK;
    int added = 0;
    while (st == MPROC_OK && added < 100) {
        st = mproc_args_add_bytes(a, big, sizeof big);
        added++;
    }
    assert_int_equal(st, MPROC_ETOOBIG);
    assert_int_equal(mproc_args_count(a), (size_t)added); /* "s" plus the ones that fit */
    mproc_args_free(a);
}

static void pack_and_unpack_by_format(void **state)
{
    (void)state;
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_pack(a, "isLdy", -3, "bob", (int64_t)1 << 40, 0.5, "\0\1", (size_t)2),
                     MPROC_OK);
    assert_int_equal(mproc_args_count(a), 5);
    assert_int_equal(mproc_args_type(a, 1), MPROC_ARG_STR);
    int i = 0;
    const char *s = NULL;
    int64_t l = 0;
    double d = 0;
    const void *b = NULL;
    size_t len = 0;
    assert_int_equal(mproc_args_unpack(a, "isLdy", &i, &s, &l, &d, &b, &len), MPROC_OK);
    assert_int_equal(i, -3);
    assert_string_equal(s, "bob");
    assert_true(l == (int64_t)1 << 40);
    assert_true(d == 0.5);
    assert_int_equal(len, 2);
    assert_memory_equal(b, "\0\1", 2);

    /* Mismatches: every out-pointer is cleared, whatever it held. */
    i = 9;
    s = "x";
    assert_int_equal(mproc_args_unpack(a, "is", &i, &s), MPROC_ERANGE); /* too few letters */
    assert_int_equal(i, 0);
    assert_null(s);
    i = 9;
    l = 9;
    assert_int_equal(mproc_args_unpack(a, "isLdyi", &i, &s, &l, &d, &b, &len, &i), MPROC_ERANGE);
    assert_int_equal(l, 0);
    d = 9;
    b = "x";
    len = 9;
    assert_int_equal(mproc_args_unpack(a, "isLsy", &i, &s, &l, &s, &b, &len), MPROC_ETYPE);
    assert_int_equal(len, 0);
    assert_null(b);
    assert_int_equal(mproc_args_unpack(a, "iiLdy", &i, &i, &l, &d, &b, &len), MPROC_ETYPE);
    assert_int_equal(mproc_args_unpack(a, "isLdz", &i, &s, &l, &d, &b), MPROC_EINVAL);
    assert_int_equal(mproc_args_unpack(a, "isLdy", &i, NULL, &l, &d, &b, &len), MPROC_EINVAL);
    assert_int_equal(l, 0);
    /* An int64 beyond int does not fit an 'i'. */
    mproc_args_t *big;
    assert_int_equal(mproc_args_create(&big), MPROC_OK);
    assert_int_equal(mproc_args_pack(big, "L", (int64_t)1 << 40), MPROC_OK);
    i = 9;
    assert_int_equal(mproc_args_unpack(big, "i", &i), MPROC_ETOOBIG);
    assert_int_equal(i, 0);
    mproc_args_free(big);

    /* pack is all or nothing. */
    assert_int_equal(mproc_args_pack(a, "is", 1, (const char *)NULL), MPROC_EINVAL);
    assert_int_equal(mproc_args_pack(a, "iw", 1, 2), MPROC_EINVAL);
    assert_int_equal(mproc_args_count(a), 5);
    assert_int_equal(mproc_args_pack(NULL, "i", 1), MPROC_EINVAL);
    assert_int_equal(mproc_args_unpack(NULL, "i", &i), MPROC_EINVAL);
    mproc_args_free(a);
}

static void getters_refuse_missing_outputs_and_other_types(void **state)
{
    (void)state;
    mproc_args_t *a;
    const void *p = NULL;
    size_t len = 0;
    const char *s = NULL;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, "s"), MPROC_OK);
    assert_int_equal(mproc_args_add_bytes(a, "b", 1), MPROC_OK);
    assert_int_equal(mproc_args_get_str(a, 0, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_args_get_str(NULL, 0, &s), MPROC_EINVAL);
    assert_int_equal(mproc_args_get_str(a, 1, &s), MPROC_ETYPE);
    assert_null(s);
    assert_int_equal(mproc_args_get_bytes(a, 1, NULL, &len), MPROC_EINVAL);
    assert_int_equal(mproc_args_get_bytes(a, 1, &p, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_args_get_bytes(a, 0, &p, &len), MPROC_ETYPE);
    assert_int_equal(mproc_args_get_connection(a, 0, NULL), MPROC_EINVAL);
    mproc_connection_t *c = NULL;
    assert_int_equal(mproc_args_get_connection(a, 0, &c), MPROC_ETYPE);
    assert_null(c);
    assert_int_equal(mproc_args_type(NULL, 0), MPROC_ARG_NONE);
    assert_int_equal(mproc_args_count(NULL), 0);
    mproc_args_free(a);
}

static void status_table_is_complete(void **state)
{
    (void)state;
    assert_string_equal(mproc_strerror(MPROC_OK), "success");
    assert_string_equal(mproc_err_name(MPROC_ETIMEDOUT), "MPROC_ETIMEDOUT");
    assert_string_equal(mproc_strerror(MPROC_ETIMEDOUT), "timed out");
    assert_string_equal(mproc_err_name(12345), "MPROC_EUNKNOWN");
    assert_string_equal(mproc_strerror(12345), "unknown mproc status");
    for (int code = 0; code >= MPROC_EINITIALIZER; code--) {
        assert_string_not_equal(mproc_err_name(code), "MPROC_EUNKNOWN");
        assert_true(strlen(mproc_strerror(code)) > 3);
    }
    assert_string_equal(mproc_start_method_name(MPROC_METHOD_SPAWN), "spawn");
    assert_non_null(mproc_version_string());
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_values_round_trip),
        cmocka_unit_test(bad_input_is_refused_and_changes_nothing),
        cmocka_unit_test(pack_and_unpack_by_format),
        cmocka_unit_test(getters_refuse_missing_outputs_and_other_types),
        cmocka_unit_test(status_table_is_complete),
    };
    return test_main(argc, argv, "args", tests, ARRAY_LEN(tests));
}
