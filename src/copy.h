/*
 * Copies of large messages that keep clear of a slow case of the CPU's string
 * copy: when the destination lies 1 to 31 bytes past the source modulo a
 * 4 KiB page, each load aliases a store just made, and `rep movsb` (what
 * glibc's memcpy uses from about 2 KiB to the L2's size) runs 15-25x slower
 * on this project's machine (AMD EPYC, Zen 3): a 64 KiB copy took 21-37 us
 * instead of 1.3-1.6 us (from 32 bytes on it does not, and pieces would cost
 * about 20% more there). A queue's frames start 8 bytes apart from lap to
 * lap, so some of a stream's messages met it against the user's buffer, and
 * which ones depended on where malloc put that buffer (docs/performance.md,
 * profile 8). Such a copy goes in pieces below the size at which memcpy
 * turns to `rep movsb`; its vector loop handles the aliasing (glibc copies
 * backwards then), and the pieces cost about one call per 2 KiB. From 512
 * KiB (the L2's size on Zen 2 and 3) glibc copies with that loop anyway, and
 * pieces would take twice as long (1 MiB: 64 us against 34).
 */
#ifndef MPROC_COPY_H
#define MPROC_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MPROC__COPY_PIECE ((size_t)2048)
#define MPROC__COPY_PIECES_BELOW ((size_t)512 << 10)

void mproc__copy_in_pieces(void *dst, const void *src, size_t n);

/* memcpy(dst, src, n), in pieces where the two alias as above. */
static inline void mproc__copy(void *dst, const void *src, size_t n)
{
    uintptr_t ahead = ((uintptr_t)dst - (uintptr_t)src) & 4095;
    if (n > MPROC__COPY_PIECE && n < MPROC__COPY_PIECES_BELOW && ahead - 1 < 31)
        mproc__copy_in_pieces(dst, src, n);
    else
        memcpy(dst, src, n);
}

#endif
