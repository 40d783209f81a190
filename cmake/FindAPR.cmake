# FindAPR: the Apache Portable Runtime as one imported target, APR::APR.
#
# Tried in order: an APR CMake package (vcpkg: apr::apr-1 / apr::libapr-1,
# conan: apr::apr), pkg-config apr-1 (Debian, Homebrew, vcpkg on unix), then a
# plain search with the APR_ROOT hint (the mingw lane's own build).
include(FindPackageHandleStandardArgs)

if(TARGET APR::APR)
  set(APR_FOUND TRUE)
  return()
endif()

find_package(apr CONFIG QUIET)
foreach(_apr_target apr::apr-1 apr::libapr-1 apr::apr)
  if(TARGET ${_apr_target})
    add_library(APR::APR INTERFACE IMPORTED)
    target_link_libraries(APR::APR INTERFACE ${_apr_target})
    set(APR_FOUND TRUE)
    find_package_handle_standard_args(APR DEFAULT_MSG APR_FOUND)
    return()
  endif()
endforeach()

if(NOT APR_ROOT AND NOT CMAKE_CROSSCOMPILING)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_APR QUIET IMPORTED_TARGET apr-1)
    if(PC_APR_FOUND)
      add_library(APR::APR INTERFACE IMPORTED)
      target_link_libraries(APR::APR INTERFACE PkgConfig::PC_APR)
      set(APR_VERSION ${PC_APR_VERSION})
      find_package_handle_standard_args(APR REQUIRED_VARS PC_APR_LIBRARIES VERSION_VAR APR_VERSION)
      return()
    endif()
  endif()
endif()

find_path(APR_INCLUDE_DIR apr.h HINTS ${APR_ROOT} PATH_SUFFIXES include/apr-1 include/apr-1.0 include)
find_library(APR_LIBRARY NAMES apr-1 libapr-1 HINTS ${APR_ROOT} PATH_SUFFIXES lib)
find_package_handle_standard_args(APR REQUIRED_VARS APR_LIBRARY APR_INCLUDE_DIR)
if(APR_FOUND)
  add_library(APR::APR UNKNOWN IMPORTED)
  set_target_properties(APR::APR PROPERTIES IMPORTED_LOCATION "${APR_LIBRARY}"
                                            INTERFACE_INCLUDE_DIRECTORIES "${APR_INCLUDE_DIR}")
  # A static APR on Windows: declare it so, and bring its system libraries.
  # The static library is apr-1.lib; libapr-1.lib is the DLL's import library
  # (no APR_DECLARE_STATIC there), so the name must start at a path separator.
  if(WIN32 AND APR_LIBRARY MATCHES "(^|[/\\])(lib)?apr-1\\.a$|(^|[/\\])apr-1\\.lib$")
    set_property(TARGET APR::APR PROPERTY INTERFACE_COMPILE_DEFINITIONS APR_DECLARE_STATIC)
    set_property(TARGET APR::APR PROPERTY INTERFACE_LINK_LIBRARIES
                 ws2_32 mswsock rpcrt4 advapi32 shell32 iphlpapi)
  endif()
endif()
mark_as_advanced(APR_INCLUDE_DIR APR_LIBRARY)
