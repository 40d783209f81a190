/*
 * Connection framing (u32 length, or the u32 escape 0xffffffff and a u64
 * length, then the bytes) as a peer may send it: truncated headers of either
 * form, lengths past the end, above the receiver's bound or above any object,
 * a peer that closes mid-frame. The input is what arrives on the read end;
 * every receive call gives a message or a status, never a crash, a hang or an
 * allocation the receiver's bound did not allow.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args_internal.h"
#include "mproc/mproc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (mproc_init(*argc, *argv) != MPROC_OK)
        abort();
    return 0;
}

/* A readable connection end over a pipe whose other end is `*wr`. */
static mproc_connection_t *reader(int *wr)
{
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    mproc_args_t *a = NULL;
    mproc__obj_t obj = {MPROC__OBJ_CONNECTION, 1, 1, {fds[0], MPROC__OS_NO_HANDLE}};
    mproc_connection_t *c = NULL;
    if (mproc_args_create(&a) || mproc__args_add_object(a, &obj) ||
        mproc_args_get_connection(a, 0, &c))
        abort();
    mproc_args_free(a);
    close(fds[0]);
    *wr = fds[1];
    return c;
}

/* The bound of the allocating receive: larger than any input (so messages
 * that arrived whole are taken), far below -malloc_limit_mb. An unbounded
 * receive would let the input's lengths decide the allocation, as it does
 * for any peer: that is what the bound is for. */
#define BOUND ((size_t)1 << 20)

/* Receive in turn with each call until the stream is used up or broken. */
static void drain(mproc_connection_t *c)
{
    unsigned char small[16];
    for (unsigned step = 0;; step++) {
        void *msg = NULL;
        size_t len = 0;
        mproc_status_t st;
        switch (step % 3) {
        case 0:
            st = mproc_connection_recv_bytes_max(c, 0, BOUND, &msg, &len);
            if (st == MPROC_OK && len)
                (void)((volatile unsigned char *)msg)[len - 1];
            if (st == MPROC_OK ? len > BOUND : msg || len)
                abort(); /* above the bound, or out-parameters not cleared */
            mproc_free(msg);
            break;
        case 1:
            st = mproc_connection_recv_bytes_into(c, 0, small, sizeof small, &len);
            if (st == MPROC_ESHORTBUF)
                st = MPROC_OK; /* the message stays for the next call */
            break;
        default:
            st = mproc_connection_poll(c, 0);
            if (st == MPROC_ETIMEDOUT)
                abort(); /* the writer has closed: there is always an answer */
            break;
        }
        if (st != MPROC_OK)
            return;
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int wr;
    mproc_connection_t *c = reader(&wr);
    /* All of it fits in the pipe (libFuzzer's -max_len stays below 64 KiB). */
    fcntl(wr, F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(wr, data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(wr);
    drain(c);
    mproc_connection_free(c);
    return 0;
}
