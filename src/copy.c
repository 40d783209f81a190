/* The piecewise copy of copy.h: pieces small enough that memcpy uses its
 * vector loop rather than `rep movsb`. */

#include "copy.h"

void mproc__copy_in_pieces(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t at = 0; at < n; at += MPROC__COPY_PIECE)
        memcpy(d + at, s + at, n - at < MPROC__COPY_PIECE ? n - at : MPROC__COPY_PIECE);
}
