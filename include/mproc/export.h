/**
 * @file export.h
 * @brief Symbol visibility for the public API (MPROC_API).
 *
 * Shared builds define MPROC_BUILDING_SHARED while compiling the library and
 * consumers of a shared build define MPROC_SHARED (the CMake package does
 * this for them). Static builds need neither.
 */
#ifndef MPROC_EXPORT_H
#define MPROC_EXPORT_H

#if defined(_WIN32)
#  if defined(MPROC_BUILDING_SHARED)
#    define MPROC_API __declspec(dllexport)
#  elif defined(MPROC_SHARED)
#    define MPROC_API __declspec(dllimport)
#  else
#    define MPROC_API
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define MPROC_API __attribute__((visibility("default")))
#else
#  define MPROC_API
#endif

#endif
