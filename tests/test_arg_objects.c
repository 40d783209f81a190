/*
 * Objects in argument lists (args.h, "Ownership of objects in argument
 * lists"): the list holds its own duplicate, so the caller frees its object
 * right after adding it and the child still gets a working one.
 */
#include <string.h>

#include "support/test_support.h"

/* args: a write end; sends "hi" through it. */
static int t_say_hi(const mproc_args_t *args)
{
    mproc_connection_t *c = NULL;
    if (mproc_args_get_connection(args, 0, &c))
        return 2;
    mproc_status_t st = mproc_connection_send_bytes(c, "hi", 2);
    mproc_connection_free(c);
    return st ? 3 : 0;
}
MPROC_TARGET(t_say_hi)

/* args: a queue; puts "q" into it. */
static int t_put_q(const mproc_args_t *args)
{
    mproc_queue_t *q = NULL;
    if (mproc_args_get_queue(args, 0, &q))
        return 2;
    mproc_status_t st = mproc_queue_put(q, "q", 1, 60);
    mproc_queue_free(q);
    return st ? 3 : 0;
}
MPROC_TARGET(t_put_q)

/* args: "ciq": a write end, a count and a queue, read with one unpack. */
static int t_unpack_objects(const mproc_args_t *args)
{
    mproc_connection_t *c = NULL;
    mproc_queue_t *q = NULL;
    int n = 0;
    if (mproc_args_unpack(args, "ciq", &c, &n, &q))
        return 2;
    mproc_status_t st = MPROC_OK;
    for (int i = 0; i < n && !st; i++)
        st = mproc_queue_put(q, "q", 1, 60);
    if (!st)
        st = mproc_connection_send_bytes(c, "done", 4);
    mproc_connection_free(c);
    mproc_queue_free(q);
    return st ? 3 : 0;
}
MPROC_TARGET(t_unpack_objects)

/* A list holding the write end of a new pipe, that end already freed (the
 * list keeps its own duplicate); the read end goes to *r. */
static mproc_args_t *list_with_freed_write_end(mproc_connection_t **r)
{
    mproc_connection_t *w;
    mproc_args_t *a;
    assert_int_equal(mproc_pipe(0, r, &w), MPROC_OK);
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_connection(a, w), MPROC_OK);
    mproc_connection_free(w);
    return a;
}

static void connection_freed_after_adding_still_reaches_the_child(void **state)
{
    (void)state;
    mproc_connection_t *r;
    mproc_args_t *a = list_with_freed_write_end(&r);
    mproc_process_t *p = NULL;
    assert_int_equal(mproc_process_create(&p, t_say_hi, a, NULL), MPROC_OK);
    mproc_args_free(a); /* the process keeps its own until started */
    assert_int_equal(mproc_process_start(p), MPROC_OK);
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(mproc_connection_recv_bytes(r, 60, &data, &len), MPROC_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(data, "hi", 2);
    mproc_free(data);
    assert_int_equal(test_join(p), 0);
    /* No copy of the write end is left in this process: the reader sees EOF. */
    assert_int_equal(mproc_connection_recv_bytes(r, 60, &data, &len), MPROC_EEOF);
    mproc_process_free(p);
    mproc_connection_free(r);
}

static void queue_freed_after_adding_still_reaches_the_child(void **state)
{
    (void)state;
    mproc_queue_t *q, *mine;
    mproc_args_t *a;
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_add_queue(a, q), MPROC_OK);
    /* Keep a view for reading back, then free the object that was added. */
    assert_int_equal(mproc_args_get_queue(a, 0, &mine), MPROC_OK);
    mproc_queue_free(q);
    mproc_process_t *p = NULL;
    assert_int_equal(mproc_process_create(&p, t_put_q, a, NULL), MPROC_OK);
    mproc_args_free(a);
    assert_int_equal(mproc_process_start(p), MPROC_OK);
    assert_int_equal(test_join(p), 0);
    char buf[4];
    size_t len = 0;
    assert_int_equal(mproc_queue_get_into(mine, 60, buf, sizeof buf, &len), MPROC_OK);
    assert_int_equal(len, 1);
    assert_int_equal(buf[0], 'q');
    mproc_process_free(p);
    mproc_queue_free(mine);
}

static void list_outlives_its_objects_and_starts_two_children(void **state)
{
    (void)state;
    mproc_connection_t *r;
    mproc_args_t *a = list_with_freed_write_end(&r);
    mproc_process_t *p1 = test_start(t_say_hi, a);
    mproc_process_t *p2 = test_start(t_say_hi, a);
    mproc_args_free(a);
    for (int i = 0; i < 2; i++) {
        char buf[4];
        size_t len = 0;
        assert_int_equal(mproc_connection_recv_bytes_into(r, 60, buf, sizeof buf, &len), MPROC_OK);
        assert_int_equal(len, 2);
    }
    assert_int_equal(test_join(p1), 0);
    assert_int_equal(test_join(p2), 0);
    mproc_process_free(p1);
    mproc_process_free(p2);
    mproc_connection_free(r);
}

static void pack_and_unpack_objects(void **state)
{
    (void)state;
    mproc_connection_t *r, *w;
    mproc_queue_t *q;
    mproc_args_t *a;
    assert_int_equal(mproc_pipe(0, &r, &w), MPROC_OK);
    assert_int_equal(mproc_queue_create(&q, 0), MPROC_OK);
    assert_int_equal(mproc_args_create(&a), MPROC_OK);
    assert_int_equal(mproc_args_pack(a, "ciq", w, 3, q), MPROC_OK);
    mproc_connection_free(w);
    assert_int_equal(mproc_args_type(a, 0), MPROC_ARG_CONNECTION);
    assert_int_equal(mproc_args_type(a, 1), MPROC_ARG_INT);
    assert_int_equal(mproc_args_type(a, 2), MPROC_ARG_QUEUE);
    assert_int_equal(mproc_args_type(a, 3), MPROC_ARG_NONE);
    /* A failed unpack leaves no object behind: the wrong type comes after 'c'. */
    mproc_connection_t *c = (mproc_connection_t *)1;
    int n = 7;
    assert_int_equal(mproc_args_unpack(a, "cic", &c, &n, &c), MPROC_ETYPE);
    assert_null(c);
    assert_int_equal(n, 0);
    /* ...nor when it fails after making one (the int does not fit an 'i'). */
    mproc_args_t *b;
    assert_int_equal(mproc_args_create(&b), MPROC_OK);
    assert_int_equal(mproc_args_pack(b, "cL", r, (int64_t)1 << 40), MPROC_OK);
    c = (mproc_connection_t *)1;
    assert_int_equal(mproc_args_unpack(b, "ci", &c, &n), MPROC_ETOOBIG);
    assert_null(c);
    mproc_args_free(b);
    mproc_process_t *p = test_start(t_unpack_objects, a);
    mproc_args_free(a);
    char buf[8];
    size_t len = 0;
    assert_int_equal(mproc_connection_recv_bytes_into(r, 60, buf, sizeof buf, &len), MPROC_OK);
    assert_int_equal(len, 4);
    assert_int_equal(test_join(p), 0);
    size_t count = 0;
    assert_int_equal(mproc_queue_qsize(q, &count), MPROC_OK);
    assert_int_equal(count, 3);
    mproc_process_free(p);
    mproc_queue_free(q);
    mproc_connection_free(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connection_freed_after_adding_still_reaches_the_child),
        cmocka_unit_test(queue_freed_after_adding_still_reaches_the_child),
        cmocka_unit_test(list_outlives_its_objects_and_starts_two_children),
        cmocka_unit_test(pack_and_unpack_objects),
    };
    return test_main(argc, argv, "arg_objects", tests, ARRAY_LEN(tests));
}
