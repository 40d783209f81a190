# Cross-build for 64-bit Windows with Debian's mingw-w64 and run the .exe
# files (try_run, ctest, custom commands naming an executable target) under Wine.
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mingw-w64-x86_64.cmake \
#         -DMPROC_MINGW_PREFIX=$PWD/build/_deps/mingw \
#         -DMPROC_WINEPREFIX=$PWD/build/_deps/wineprefix ...
#
# MPROC_MINGW_PREFIX: where scripts/build-mingw-deps.sh installed APR and CMocka.
# MPROC_WINEPREFIX:   optional; if set, Wine runs with this private prefix and
#                     WINEDEBUG=-all instead of the user's ~/.wine.
# Both may also come from environment variables of the same name.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MPROC_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER   ${MPROC_MINGW_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MPROC_MINGW_TRIPLE}-g++)
set(CMAKE_RC_COMPILER  ${MPROC_MINGW_TRIPLE}-windres)

# try_compile/try_run projects re-read this file without our cache entries.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MPROC_MINGW_PREFIX MPROC_WINEPREFIX)

foreach(var MPROC_MINGW_PREFIX MPROC_WINEPREFIX)
  if(NOT ${var} AND DEFINED ENV{${var}})
    set(${var} "$ENV{${var}}")
  endif()
endforeach()

set(CMAKE_FIND_ROOT_PATH /usr/${MPROC_MINGW_TRIPLE})
if(MPROC_MINGW_PREFIX)
  list(APPEND CMAKE_FIND_ROOT_PATH "${MPROC_MINGW_PREFIX}")
  list(APPEND CMAKE_PREFIX_PATH "${MPROC_MINGW_PREFIX}")
endif()

# Host tools (wine, pkg-config, ...) from the host; anything linked into the
# .exe only from the Windows roots, so Linux headers/libraries never leak in.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
if(NOT DEFINED CMAKE_FIND_ROOT_PATH_MODE_PACKAGE)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)  # -D...=BOTH to relax
endif()

# Same reasoning for pkg-config: the host's .pc files describe Linux builds.
set(_pc_libdir "/usr/${MPROC_MINGW_TRIPLE}/lib/pkgconfig")
if(MPROC_MINGW_PREFIX)
  set(_pc_libdir "${MPROC_MINGW_PREFIX}/lib/pkgconfig:${_pc_libdir}")
endif()
set(ENV{PKG_CONFIG_LIBDIR} "${_pc_libdir}")
set(ENV{PKG_CONFIG_PATH} "")

find_program(MPROC_WINE wine)
if(NOT MPROC_WINE)
  message(FATAL_ERROR "mingw-w64 toolchain: 'wine' not found (Debian: apt-get install wine wine64)")
endif()
if(MPROC_WINEPREFIX)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      ${CMAKE_COMMAND} -E env WINEPREFIX=${MPROC_WINEPREFIX} WINEDEBUG=-all ${MPROC_WINE})
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MPROC_WINE})
endif()
