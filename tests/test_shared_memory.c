/*
 * SharedMemory (shared.h): named segments that processes attach by name,
 * Python's close/unlink, and names removed when their creator ends, even by
 * SIGKILL, but never by a process that only attached.
 */
#include <stdio.h>
#include <string.h>

#include "support/test_support.h"

#if !defined(_WIN32)
#include <dirent.h>
#endif

static char prefix[64]; /* this run's names start with it */

static void name_of(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "%s%s", prefix, what);
}

/* POSIX: how many names of this run are in /dev/shm (Windows: 0). */
static int names_left(void)
{
    int n = 0;
#if defined(__linux__)
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
#endif
    return n;
}

/* 1 once nobody can attach to `name` any more, polling up to 30 s. */
static int name_gone(const char *name)
{
    double until = test_now() + 30;
    for (;;) {
        mproc_shared_memory_t *m;
        mproc_status_t st = mproc_shared_memory_create(&m, name, 0, 0);
        if (st == MPROC_ENOENT)
            return 1;
        if (st == MPROC_OK)
            mproc_shared_memory_free(m);
        if (test_now() > until)
            return 0;
        test_sleep(0.02);
    }
}

/* args: name, text. Attaches and writes the text (with its NUL). */
static int t_attach_and_write(const mproc_args_t *args)
{
    const char *name, *text;
    mproc_shared_memory_t *m;
    if (mproc_args_get_str(args, 0, &name) || mproc_args_get_str(args, 1, &text))
        return 100;
    if (mproc_shared_memory_create(&m, name, 0, 0))
        return 101;
    if (mproc_shared_memory_size(m) < strlen(text) + 1)
        return 102;
    memcpy(mproc_shared_memory_buf(m), text, strlen(text) + 1);
    mproc_shared_memory_free(m);
    return 0;
}
MPROC_TARGET(t_attach_and_write)

/* args: name, event "made", event "attached", hang. Creates the segment,
 * writes "made", sets "made", then waits to be killed (hang 1) or, once the
 * parent attached, returns without unlinking. */
static int t_create(const mproc_args_t *args)
{
    const char *name;
    mproc_event_t *made, *attached;
    int64_t hang;
    mproc_shared_memory_t *m;
    if (mproc_args_get_str(args, 0, &name) || mproc_args_get_event(args, 1, &made) ||
        mproc_args_get_event(args, 2, &attached) || mproc_args_get_int(args, 3, &hang))
        return 100;
    if (mproc_shared_memory_create(&m, name, 1, 64))
        return 101;
    strcpy(mproc_shared_memory_buf(m), "made");
    mproc_event_set(made);
    if (hang)
        test_sleep(600);
    if (mproc_event_wait(attached, 60))
        return 102;
    mproc_shared_memory_free(m);
    return 0;
}
MPROC_TARGET(t_create)

static void create_attach_close_unlink(void **state)
{
    (void)state;
    char name[128];
    name_of(name, sizeof name, "a");
    mproc_shared_memory_t *m, *v;
    assert_int_equal(mproc_shared_memory_create(&m, name, 1, 100), MPROC_OK);
    assert_string_equal(mproc_shared_memory_name(m), name);
    assert_int_equal(mproc_shared_memory_size(m), 100);
    unsigned char *buf = mproc_shared_memory_buf(m);
    assert_int_equal(buf[99], 0);
    memcpy(buf, "shared", 7);
    assert_int_equal(mproc_shared_memory_create(&v, name, 1, 100), MPROC_ENAMETAKEN);
    assert_null(v);
    assert_int_equal(mproc_shared_memory_create(&v, name, 0, 0), MPROC_OK);
    assert_string_equal(mproc_shared_memory_buf(v), "shared");
#if defined(__linux__)
    assert_int_equal(mproc_shared_memory_size(v), 100);
#else
    assert_true(mproc_shared_memory_size(v) >= 100);
#endif
    assert_int_equal(mproc_shared_memory_close(v), MPROC_OK);
    assert_null(mproc_shared_memory_buf(v));
    assert_int_equal(mproc_shared_memory_close(v), MPROC_OK);
    mproc_shared_memory_free(v);
    /* Unlinked: nobody attaches any more; the open view still works. */
    assert_int_equal(mproc_shared_memory_unlink(m), MPROC_OK);
#if !defined(_WIN32)
    assert_int_equal(mproc_shared_memory_create(&v, name, 0, 0), MPROC_ENOENT);
    assert_int_equal(mproc_shared_memory_unlink(m), MPROC_ENOENT);
#endif
    assert_string_equal((char *)buf, "shared");
    mproc_shared_memory_free(m);
    assert_true(name_gone(name));
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    mproc_shared_memory_t *m = (mproc_shared_memory_t *)&m;
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(mproc_shared_memory_create(NULL, "x", 1, 1), MPROC_EINVAL);
    assert_int_equal(mproc_shared_memory_create(&m, "x", 1, 0), MPROC_EINVAL);
    assert_null(m);
    assert_int_equal(mproc_shared_memory_create(&m, NULL, 0, 10), MPROC_EINVAL);
    assert_int_equal(mproc_shared_memory_create(&m, "a/b", 1, 10), MPROC_EINVAL);
    assert_int_equal(mproc_shared_memory_create(&m, "", 1, 10), MPROC_EINVAL);
    assert_int_equal(mproc_shared_memory_create(&m, longname, 1, 10), MPROC_EINVAL);
    char name[128];
    name_of(name, sizeof name, "never");
    assert_int_equal(mproc_shared_memory_create(&m, name, 0, 0), MPROC_ENOENT);
    assert_int_equal(mproc_shared_memory_close(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_shared_memory_unlink(NULL), MPROC_EINVAL);
    assert_null(mproc_shared_memory_buf(NULL));
    assert_int_equal(mproc_shared_memory_size(NULL), 0);
    mproc_shared_memory_free(NULL);
}

static void a_new_name_is_chosen_when_none_is_given(void **state)
{
    (void)state;
    mproc_shared_memory_t *a, *b;
    assert_int_equal(mproc_shared_memory_create(&a, NULL, 1, 10), MPROC_OK);
    assert_int_equal(mproc_shared_memory_create(&b, NULL, 1, 10), MPROC_OK);
    assert_string_not_equal(mproc_shared_memory_name(a), mproc_shared_memory_name(b));
    assert_int_equal(mproc_shared_memory_unlink(a), MPROC_OK);
    assert_int_equal(mproc_shared_memory_unlink(b), MPROC_OK);
    mproc_shared_memory_free(a);
    mproc_shared_memory_free(b);
}

static void an_attaching_child_never_removes_the_name(void **state)
{
    (void)state;
    char name[128];
    name_of(name, sizeof name, "b");
    mproc_shared_memory_t *m;
    assert_int_equal(mproc_shared_memory_create(&m, name, 1, 4096), MPROC_OK);
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, name), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, "from the child"), MPROC_OK);
    for (int i = 0; i < 2; i++) {
        mproc_process_t *p = test_start(t_attach_and_write, a);
        assert_int_equal(test_join(p), 0);
        mproc_process_free(p);
    }
    mproc_args_free(a);
    assert_string_equal(mproc_shared_memory_buf(m), "from the child");
    mproc_shared_memory_t *again;
    assert_int_equal(mproc_shared_memory_create(&again, name, 0, 0), MPROC_OK);
    mproc_shared_memory_free(again);
    assert_int_equal(mproc_shared_memory_unlink(m), MPROC_OK);
    mproc_shared_memory_free(m);
}

/* A child creates a segment and ends (killed or not) without unlinking it:
 * the name goes with it. */
static void creator_ends(int killed)
{
    char name[128];
    name_of(name, sizeof name, killed ? "killed" : "exited");
    mproc_event_t *made, *attached;
    assert_int_equal(mproc_event_create(&made), MPROC_OK);
    assert_int_equal(mproc_event_create(&attached), MPROC_OK);
    mproc_args_t *a;
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_str(a, name), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, made), MPROC_OK);
    assert_int_equal(mproc_args_add_event(a, attached), MPROC_OK);
    assert_int_equal(mproc_args_add_int(a, killed), MPROC_OK);
    mproc_process_t *p = test_start(t_create, a);
    mproc_args_free(a);
    assert_int_equal(mproc_event_wait(made, 60), MPROC_OK);
    mproc_shared_memory_t *m;
    assert_int_equal(mproc_shared_memory_create(&m, name, 0, 0), MPROC_OK);
    assert_string_equal(mproc_shared_memory_buf(m), "made");
    if (killed)
        assert_int_equal(mproc_process_kill(p), MPROC_OK);
    else
        assert_int_equal(mproc_event_set(attached), MPROC_OK);
    assert_int_equal(test_join(p), killed ? test_join(p) : 0);
    mproc_process_free(p);
    /* The memory stays mapped here; Windows keeps the segment while it is. */
    assert_string_equal(mproc_shared_memory_buf(m), "made");
    mproc_shared_memory_free(m);
    assert_true(name_gone(name));
    mproc_event_free(made);
    mproc_event_free(attached);
}

static void a_killed_creator_leaves_no_name(void **state)
{
    (void)state;
    creator_ends(1);
}

static void an_exited_creator_leaves_no_name(void **state)
{
    (void)state;
    creator_ends(0);
}

static void nothing_of_this_run_is_left(void **state)
{
    (void)state;
    assert_int_equal(names_left(), 0);
}

int main(int argc, char **argv)
{
    snprintf(prefix, sizeof prefix, "mproc_test_%lld_%s_", (long long)test_getpid(),
             argc > 1 ? argv[1] : "x");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_of_this_run_is_left),
        cmocka_unit_test(create_attach_close_unlink),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(a_new_name_is_chosen_when_none_is_given),
        cmocka_unit_test(an_attaching_child_never_removes_the_name),
        cmocka_unit_test(a_killed_creator_leaves_no_name),
        cmocka_unit_test(an_exited_creator_leaves_no_name),
        cmocka_unit_test(nothing_of_this_run_is_left),
    };
    return test_main(argc, argv, "shared_memory", tests, ARRAY_LEN(tests));
}
