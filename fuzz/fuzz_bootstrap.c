/*
 * Fuzz target: the spawn bootstrap message a child reads from its parent
 * (src/boot.c). Malformed input must give a status, never a crash, an
 * over-read, a leak or an unbounded allocation; an accepted message must hold
 * only readable strings and a well-formed argument list.
 */
#include <stdint.h>
#include <string.h>

#include "boot.h"

static void touch_args(const mproc_args_t *args)
{
    for (size_t i = 0; i < mproc_args_count(args); i++) {
        const char *s = NULL;
        const void *b = NULL;
        size_t n = 0;
        int64_t v = 0;
        double d = 0;
        switch (mproc_args_type(args, i)) {
        case MPROC_ARG_STR:
            if (mproc_args_get_str(args, i, &s) == MPROC_OK)
                (void)strlen(s); /* an over-read shows here */
            break;
        case MPROC_ARG_BYTES:
            if (mproc_args_get_bytes(args, i, &b, &n) == MPROC_OK && n)
                (void)((const volatile unsigned char *)b)[n - 1];
            break;
        case MPROC_ARG_INT:
            (void)mproc_args_get_int(args, i, &v);
            break;
        case MPROC_ARG_DOUBLE:
            (void)mproc_args_get_double(args, i, &d);
            break;
        default:
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mproc__boot_msg_t m;
    if (mproc__boot_decode(data, size, &m) != MPROC_OK)
        return 0;
    (void)strlen(m.target);
    (void)strlen(m.name);
    (void)strlen(m.identity);
    (void)strlen(m.parent_name);
    touch_args(m.args);
    mproc__boot_msg_free(&m);
    return 0;
}
