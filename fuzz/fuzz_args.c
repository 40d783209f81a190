/*
 * The typed argument list as a spawned child or a pool worker receives it:
 * u32 length, then [type][payload] items. Whatever the bytes, decoding gives
 * a status; a list it accepts is safe to read item by item (connection ends
 * included) and re-encodes to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "args_internal.h"
#include "mproc/mproc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (mproc_init(*argc, *argv) != MPROC_OK)
        abort();
    return 0;
}

static void read_every_item(const mproc_args_t *a)
{
    for (size_t i = 0; i < mproc_args_count(a) + 1; i++) {
        int64_t v;
        double d;
        const char *s;
        const void *p;
        size_t n;
        mproc__obj_t obj;
        mproc__os_handle_t h;
        (void)mproc_args_type(a, i);
        (void)mproc_args_get_int(a, i, &v);
        (void)mproc_args_get_double(a, i, &d);
        if (mproc_args_get_str(a, i, &s) == MPROC_OK && strlen(s) > MPROC_ARGS_MAX_BYTES)
            abort();
        if (mproc_args_get_bytes(a, i, &p, &n) == MPROC_OK && n)
            (void)((const volatile unsigned char *)p)[n - 1];
        for (int kind = MPROC__OBJ_RAW; kind <= MPROC__OBJ_QUEUE; kind++)
            (void)mproc__args_get_object(a, i, (mproc__obj_kind_t)kind, &obj);
        (void)mproc__args_get_handle(a, i, &h);
        /* Handle values are whatever the bytes say: duplicating one that is
         * open here (0, 1, 2...) is harmless, the copy is closed again. */
        mproc_connection_t *c = NULL;
        if (mproc_args_get_connection(a, i, &c) == MPROC_OK)
            mproc_connection_free(c);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    mproc__rbuf_t r = {data, size, 0};
    mproc_args_t *a = NULL;
    if (mproc__args_decode(&r, &a) != MPROC_OK)
        return 0;
    read_every_item(a);
    mproc__os_handle_t *handles = NULL;
    size_t nhandles = 0;
    if (mproc__args_handles(a, &handles, &nhandles) == MPROC_OK) {
        mproc__args_set_handles(a, handles);
        free(handles);
    }
    /* Accepted bytes re-encode to themselves. */
    mproc__wbuf_t again = {0};
    if (mproc__args_encode(a, &again) != MPROC_OK || again.len != r.pos ||
        memcmp(again.data, data, r.pos) != 0)
        abort();
    mproc__wbuf_free(&again);
    /* A copy owns duplicates of the handles: one that is not open here cannot
     * be duplicated, and the copy then fails with a status (and leaves none). */
    mproc_args_t *copy = NULL;
    mproc_status_t st = mproc__args_clone(a, &copy);
    if ((st == MPROC_OK) != (copy != NULL) ||
        (st == MPROC_OK && mproc_args_count(copy) != mproc_args_count(a)))
        abort();
    mproc_args_free(copy);
    mproc_args_free(a);
    return 0;
}
