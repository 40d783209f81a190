#include "mproc/status.h"

const char *mproc_strerror(mproc_status_t status)
{
    switch (status) {
#define MPROC__STATUS_MSG(name, value, msg) \
    case value:                             \
        return msg;
        MPROC_STATUS_TABLE(MPROC__STATUS_MSG)
#undef MPROC__STATUS_MSG
    default:
        return "unknown mproc status";
    }
}

const char *mproc_err_name(mproc_status_t status)
{
    switch (status) {
#define MPROC__STATUS_NAME(name, value, msg) \
    case value:                              \
        return "MPROC_" #name;
        MPROC_STATUS_TABLE(MPROC__STATUS_NAME)
#undef MPROC__STATUS_NAME
    default:
        return "MPROC_EUNKNOWN";
    }
}
