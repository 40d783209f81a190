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

# A static APR imports three DLLs a spawned child never uses: shell32 for
# CommandLineToArgvW (apr_app_initialize, which mproc never calls, shares an
# object with apr_initialize), rpcrt4 for UuidCreate and iphlpapi for
# if_nametoindex/if_indextoname. Windows loads every import before main, and
# shell32 brings user32 and gdi32 behind it: under Wine that was most of what
# a spawned child's start cost beyond a bare CreateProcess (docs/performance.md).
# Delay-loaded, each is loaded only if one of its functions is called. Sets OUT
# to what to link for them: MSVC, the DLLs plus /DELAYLOAD and delayimp; GNU,
# delay-import libraries made here with the toolchain's dlltool, each followed
# by its DLL's own import library for any function not listed (then loaded at
# start as before); without dlltool, the plain import libraries.
set(_APR_DELAYED shell32 rpcrt4 iphlpapi)
set(_APR_DELAYED_shell32 SHELL32.dll CommandLineToArgvW)
set(_APR_DELAYED_rpcrt4 RPCRT4.dll UuidCreate)
set(_APR_DELAYED_iphlpapi IPHLPAPI.DLL if_nametoindex if_indextoname)

function(_apr_delay_load out)
  if(MSVC)
    foreach(dll IN LISTS _APR_DELAYED)
      set_property(TARGET APR::APR APPEND PROPERTY INTERFACE_LINK_OPTIONS "/DELAYLOAD:${dll}.dll")
    endforeach()
    set(${out} ${_APR_DELAYED} delayimp PARENT_SCOPE)
    return()
  endif()
  set(dir "${CMAKE_BINARY_DIR}/apr-delayimp")
  set(libs "")
  foreach(dll IN LISTS _APR_DELAYED)
    set(lib "${dir}/lib${dll}_delay.a")
    file(REMOVE "${lib}")
    if(CMAKE_DLLTOOL) # CMake finds the toolchain's own for MinGW
      list(GET _APR_DELAYED_${dll} 0 name)
      list(SUBLIST _APR_DELAYED_${dll} 1 -1 functions)
      list(JOIN functions "\n" functions)
      file(WRITE "${dir}/${dll}.def" "LIBRARY ${name}\nEXPORTS\n${functions}\n")
      execute_process(COMMAND "${CMAKE_DLLTOOL}" -d "${dir}/${dll}.def" -y "${lib}"
                      RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
      if(NOT rc EQUAL 0)
        file(REMOVE "${lib}")
      endif()
    endif()
    if(EXISTS "${lib}")
      list(APPEND libs "${lib}")
    endif()
    list(APPEND libs ${dll})
  endforeach()
  set(${out} ${libs} PARENT_SCOPE)
endfunction()

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
    _apr_delay_load(_apr_delayed_libs)
    set_property(TARGET APR::APR PROPERTY INTERFACE_LINK_LIBRARIES
                 ws2_32 mswsock advapi32 ${_apr_delayed_libs})
    unset(_apr_delayed_libs)
  endif()
endif()
mark_as_advanced(APR_INCLUDE_DIR APR_LIBRARY)
