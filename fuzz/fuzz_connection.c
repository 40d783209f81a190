/*
 * Connection framing (u32 length, or the u32 escape 0xffffffff and a u64
 * length, then the bytes) as a peer may send it: truncated headers of either
 * form, lengths past the end, above the receiver's bound or above any object,
 * a peer that closes mid-frame. The input is what arrives on the read end;
 * every receive call gives a message or a status, never a crash, a hang or an
 * allocation the receiver's bound did not allow.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (mproc_init(*argc, *argv) != MPROC_OK)
        abort();
    return 0;
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
    feed(wr, data, size);
    close(wr);
    drain(c);
    mproc_connection_free(c);
    return 0;
}
