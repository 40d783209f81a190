#ifndef MPROC_POSIX_OS_ADDR_WAIT_H
#define MPROC_POSIX_OS_ADDR_WAIT_H

#include <stdint.h>

/*
 * Waiting on a 32-bit word in memory shared between processes: the OS puts the
 * caller to sleep only while *addr still holds `expected`, and a wake on the
 * same word (from any process mapping it) ends the sleep. Linux futex, macOS
 * ulock.
 */

/* 0 when woken, when *addr no longer held `expected`, or spuriously (the
 * caller checks its condition again); ETIMEDOUT once the deadline
 * (mproc__os_now() seconds; < 0: none) has passed; another errno value on
 * failure. */
int mproc__os_addr_wait(volatile uint32_t *addr, uint32_t expected, double deadline);

/* Wake one process or thread sleeping on addr, if any. */
void mproc__os_addr_wake_one(volatile uint32_t *addr);

#endif
