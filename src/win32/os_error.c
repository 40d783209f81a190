#include "os_error.h"

mproc_status_t mproc__os_status_from_win32(DWORD err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return MPROC_ENOENT;
    case ERROR_INVALID_HANDLE: /* as EBADF on POSIX */
    case ERROR_INVALID_PARAMETER:
        return MPROC_EINVAL;
    case ERROR_ACCESS_DENIED:
        return MPROC_EACCES;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT: /* a mapping larger than the pagefile allows */
        return MPROC_ENOMEM;
    case ERROR_TOO_MANY_OPEN_FILES:
        return MPROC_EMFILE;
    case ERROR_NO_SYSTEM_RESOURCES:
        return MPROC_EAGAIN;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA: /* writing to a pipe whose reader has gone */
    case ERROR_PIPE_NOT_CONNECTED:
        return MPROC_EEOF;
    default:
        return MPROC_EOS;
    }
}
