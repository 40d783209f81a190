/**
 * @file export.h
 * @brief Symbol visibility for the public API (MPROC_API).
 *
 * Shared builds define MPROC_BUILDING_SHARED while compiling the library and
 * consumers of a shared build define MPROC_SHARED (the CMake package does
 * this for them). Static builds need neither.
 */
/**
 * @def MPROC_API
 * Marks a function as part of mproc's public API, the only symbols a shared
 * library exports: `__declspec(dllexport)` while building a Windows DLL,
 * `__declspec(dllimport)` for its consumers (MPROC_SHARED), default visibility
 * with GCC and Clang (everything else is compiled hidden), and nothing in a
 * static build.
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
