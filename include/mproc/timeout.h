/**
 * @file timeout.h
 * @brief The one timeout convention of every blocking mproc call.
 *
 * A timeout is a `double` number of seconds, as in Python:
 * - ::MPROC_FOREVER (Python's `None`) blocks until the event happens;
 * - 0 or any negative value polls once and returns at once (Python treats a
 *   negative timeout as zero);
 * - any other value bounds the wait, measured on the monotonic clock, so
 *   changes to the wall clock do not shorten or extend it.
 * A call whose time runs out returns ::MPROC_ETIMEDOUT and changes nothing.
 * NaN is rejected with ::MPROC_EINVAL. Values of a billion seconds or more
 * are treated as ::MPROC_FOREVER.
 */
#ifndef MPROC_TIMEOUT_H
#define MPROC_TIMEOUT_H

#include <math.h>

/** Block until the event happens (Python's `timeout=None`). */
#define MPROC_FOREVER HUGE_VAL

#endif
