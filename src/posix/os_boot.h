/* The spawn command line, shared by the side that writes it (os_child.c) and
 * the side that checks it (os_boot.c). */
#ifndef MPROC_POSIX_OS_BOOT_H
#define MPROC_POSIX_OS_BOOT_H

#include "platform.h"

#define MPROC__OS_CHILD_ARG "--mproc-child"
/* The child receives its link here and pass[i] at MPROC__OS_CHILD_FD + 1 + i. */
#define MPROC__OS_CHILD_FD 3

#endif
