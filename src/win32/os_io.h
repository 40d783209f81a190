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

/* A number for the calling thread that no other thread of this process ever
 * had (0 if it cannot be kept). */
LONG64 mproc__os_thread_serial(void);

/* A zero-byte read on a pipe that stays in flight between one thread's waits
 * (os_armed.c). take: ERROR_IO_PENDING (wait on mproc__os_armed_event),
 * ERROR_SUCCESS (data there, or EOF), ERROR_BUSY (another thread holds the
 * pipe's read: start one of your own), else the error of the read (no record
 * then: *out is NULL). ended: the read in flight has ended, as its OVERLAPPED
 * says (no call). Every record taken is given back when the wait ends,
 * `ended` when its event was seen set. forget ends and frees h's read before
 * h is closed; thread_ends those of an ending thread. */
typedef struct mproc__os_armed mproc__os_armed_t;
DWORD mproc__os_armed_take(HANDLE h, LONG64 me, mproc__os_armed_t **out);
HANDLE mproc__os_armed_event(const mproc__os_armed_t *a);
int mproc__os_armed_ended(const mproc__os_armed_t *a); /* its OVERLAPPED says so */
void mproc__os_armed_give(mproc__os_armed_t *a, int ended);
void mproc__os_armed_forget(HANDLE h);
void mproc__os_armed_thread_ends(LONG64 me);

/* One ReadFile (write 0) or WriteFile (write 1) of at most `want` bytes,
 * waited for to its end: ERROR_SUCCESS with *done set, or the Win32 error. */
DWORD mproc__os_io(HANDLE h, int write, void *buf, DWORD want, DWORD *done);

#endif
