/*
 * Registration of targets and tasks, and start methods: misuse gets the
 * documented status and changes nothing. No processes.
 */
#include <string.h>

#include "support/test_support.h"

static int target_a(const mproc_args_t *args)
{
    (void)args;
    return 0;
}

static int target_b(const mproc_args_t *args)
{
    (void)args;
    return 1;
}

static int task_a(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    return 0;
}

static int task_b(const void *in, size_t len, mproc_task_out_t *out)
{
    (void)in, (void)len, (void)out;
    return 1;
}

static void a_name_belongs_to_one_target(void **state)
{
    (void)state;
    static mproc_target_entry_t a = {target_a, "test_registry.same_name", NULL};
    static mproc_target_entry_t a_again = {target_a, "test_registry.same_name", NULL};
    static mproc_target_entry_t b = {target_b, "test_registry.same_name", NULL};
    static mproc_target_entry_t unnamed = {target_b, NULL, NULL};
    static mproc_target_entry_t no_fn = {NULL, "test_registry.no_fn", NULL};
    assert_int_equal(mproc_register_target(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_register_target(&unnamed), MPROC_EINVAL);
    assert_int_equal(mproc_register_target(&no_fn), MPROC_EINVAL);
    assert_int_equal(mproc_register_target(&a), MPROC_OK);
    assert_int_equal(mproc_register_target(&a), MPROC_OK);       /* the same entry */
    assert_int_equal(mproc_register_target(&a_again), MPROC_OK); /* the same function */
    assert_int_equal(mproc_register_target(&b), MPROC_EEXIST);
    /* The refused function is still unknown: spawn refuses it before any child exists. */
    mproc_process_t *p = NULL;
    mproc_process_options_t o = MPROC_PROCESS_OPTIONS_INIT;
    const mproc_context_t *spawn = NULL;
    assert_int_equal(mproc_get_context(MPROC_METHOD_SPAWN, &spawn), MPROC_OK);
    o.context = spawn;
    assert_int_equal(mproc_process_create(&p, target_b, NULL, &o), MPROC_OK);
    assert_int_equal(mproc_process_start(p), MPROC_ENOTREGISTERED);
    mproc_process_free(p);
}

static void a_name_belongs_to_one_task(void **state)
{
    (void)state;
    static mproc_task_entry_t a = {task_a, "test_registry.same_task", NULL};
    static mproc_task_entry_t a_again = {task_a, "test_registry.same_task", NULL};
    static mproc_task_entry_t b = {task_b, "test_registry.same_task", NULL};
    static mproc_task_entry_t unnamed = {task_b, NULL, NULL};
    assert_int_equal(mproc_register_task(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_register_task(&unnamed), MPROC_EINVAL);
    assert_int_equal(mproc_register_task(&a), MPROC_OK);
    assert_int_equal(mproc_register_task(&a), MPROC_OK);
    assert_int_equal(mproc_register_task(&a_again), MPROC_OK);
    assert_int_equal(mproc_register_task(&b), MPROC_EEXIST);
}

static void start_methods_refuse_misuse(void **state)
{
    (void)state;
    mproc_start_method_t method = mproc_get_start_method();
    const mproc_context_t *ctx = (const mproc_context_t *)&ctx;
    assert_int_equal(mproc_set_start_method((mproc_start_method_t)99, 1), MPROC_EINVAL);
    /* test_main fixed the method: changing it needs force, as Python's. */
    assert_int_equal(mproc_set_start_method(MPROC_METHOD_SPAWN, 0), MPROC_ECONTEXT);
    assert_int_equal(mproc_get_start_method(), method);
    assert_int_equal(mproc_get_context(MPROC_METHOD_SPAWN, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_get_context((mproc_start_method_t)99, &ctx), MPROC_EINVAL);
    assert_int_equal(mproc_get_context(MPROC_METHOD_DEFAULT, &ctx), MPROC_OK);
    assert_int_equal(mproc_context_start_method(ctx), method);
    assert_int_equal(mproc_context_start_method(NULL), method);
    assert_string_equal(mproc_start_method_name(MPROC_METHOD_DEFAULT), "default");
    assert_string_equal(mproc_start_method_name(MPROC_METHOD_SPAWN), "spawn");
    assert_true(mproc_start_method_supported(MPROC_METHOD_SPAWN));
    assert_false(mproc_start_method_supported((mproc_start_method_t)99));
}

static void unknown_statuses_have_a_name(void **state)
{
    (void)state;
    assert_string_equal(mproc_err_name((mproc_status_t)-999), "MPROC_EUNKNOWN");
    assert_string_equal(mproc_strerror((mproc_status_t)-999), "unknown mproc status");
    assert_string_equal(mproc_err_name(MPROC_EMFILE), "MPROC_EMFILE");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_name_belongs_to_one_target),
        cmocka_unit_test(a_name_belongs_to_one_task),
        cmocka_unit_test(start_methods_refuse_misuse),
        cmocka_unit_test(unknown_statuses_have_a_name),
    };
    return test_main(argc, argv, "registry", tests, ARRAY_LEN(tests));
}
