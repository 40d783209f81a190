/* Process descriptors (Linux pidfds): a handle that turns readable when a
 * process ends, held by nobody but whoever opened it. A fork child needs no
 * link to its parent then: each side's sentinel is made when first asked for. */
#ifndef MPROC_POSIX_OS_PIDFD_H
#define MPROC_POSIX_OS_PIDFD_H

/* 1 when this kernel has pidfds (asked once). */
int mproc__os_pidfd_works(void);
/* A pidfd (close-on-exec) for `pid`, or -1 with errno. */
int mproc__os_pidfd_open(long pid);
/* A descriptor that is always ready (the read end of a closed pipe): the
 * sentinel of a process that ended before anyone asked; -1 with errno. */
int mproc__os_ended_fd(void);

#endif
