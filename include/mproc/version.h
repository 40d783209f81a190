/**
 * @file version.h
 * @brief The library version.
 */
#ifndef MPROC_VERSION_H
#define MPROC_VERSION_H

#include "export.h"

#define MPROC_VERSION_MAJOR 0 /**< incompatible API changes */
#define MPROC_VERSION_MINOR 1 /**< added functionality */
#define MPROC_VERSION_PATCH 0 /**< fixes */

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the library linked at run time, e.g. "0.1.0". */
MPROC_API const char *mproc_version_string(void);

#ifdef __cplusplus
}
#endif

#endif
