/* Mapping a shared-memory descriptor, shared by anonymous and named segments. */
#ifndef MPROC_POSIX_OS_SHM_MAP_H
#define MPROC_POSIX_OS_SHM_MAP_H

#include "platform.h"

/* Map `size` bytes of `fd` read-write and shared; out takes fd on success. */
mproc_status_t mproc__os_shm_map_fd(int fd, size_t size, mproc__os_shm_t *out);

#endif
