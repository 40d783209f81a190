/*
 * I/O on the backend's pipes. Their read ends are overlapped named pipes, so
 * that a wait can be one WaitForMultipleObjects over pipes and other objects;
 * every read and write therefore goes through an OVERLAPPED with an event
 * (which also works, synchronously, on handles opened without overlap, such
 * as the bootstrap link's anonymous pipes).
 */
#ifndef MPROC_WIN32_OS_IO_H
#define MPROC_WIN32_OS_IO_H

#include "os_error.h"

/* The calling thread's manual-reset event number i (< MAXIMUM_WAIT_OBJECTS),
 * made on first use and closed when the thread ends; NULL if it cannot be
 * made. An I/O call and a wait each use them only while they run. */
HANDLE mproc__os_thread_event(size_t i);

/* One ReadFile (write 0) or WriteFile (write 1) of at most `want` bytes,
 * waited for to its end: ERROR_SUCCESS with *done set, or the Win32 error. */
DWORD mproc__os_io(HANDLE h, int write, void *buf, DWORD want, DWORD *done);

#endif
