/*
 * Win32 error codes and deadlines as mproc sees them. Every win32 backend
 * file includes this header first: it fixes the Windows API level before
 * <windows.h>.
 */
#ifndef MPROC_WIN32_OS_ERROR_H
#define MPROC_WIN32_OS_ERROR_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
/* Windows 7: GetActiveProcessorCount and PROC_THREAD_ATTRIBUTE_HANDLE_LIST. */
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0601
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0601
#endif
#include <windows.h>

#include "mproc/status.h"

/* The one place a Win32 error becomes an mproc status. */
mproc_status_t mproc__os_status_from_win32(DWORD err);

/* Milliseconds left until an mproc__os_now() deadline, rounded up so that a
 * wait never ends before it; 0 once it has passed; INFINITE for a deadline
 * < 0. A wait that times out must ask again: Win32 timers may fire early. */
DWORD mproc__os_wait_ms(double deadline);

/* Wait for one object until deadline (< 0: forever): MPROC_OK when signalled,
 * MPROC_EOWNERDEAD for an abandoned mutex (now owned), MPROC_ETIMEDOUT. */
mproc_status_t mproc__os_wait_object(HANDLE h, double deadline);

#endif
