# FindCMocka: CMocka as the imported target cmocka::cmocka.
#
# CMocka 1.1.7+ and 2.x (vcpkg's builtin-baseline in vcpkg.json brings 2.0.2)
# and conan export cmocka::cmocka; Debian's 1.1.5 config file only sets
# CMOCKA_LIBRARY / CMOCKA_INCLUDE_DIR, and the mingw lane has just the files
# (CMOCKA_ROOT hint). The tests use only the API both majors share
# (cmocka_unit_test, cmocka_run_group_tests, assert_*): no LargestIntegralType,
# no mock or expect_* value types, which CMocka 2.0 changed.
include(FindPackageHandleStandardArgs)

if(NOT TARGET cmocka::cmocka)
  find_package(cmocka CONFIG QUIET)
endif()
if(TARGET cmocka::cmocka)
  set(CMocka_FOUND TRUE)
  return()
endif()
if(NOT CMOCKA_LIBRARY OR NOT CMOCKA_INCLUDE_DIR OR CMOCKA_ROOT)
  find_path(CMOCKA_INCLUDE_DIR cmocka.h HINTS ${CMOCKA_ROOT} PATH_SUFFIXES include)
  find_library(CMOCKA_LIBRARY NAMES cmocka cmocka-static HINTS ${CMOCKA_ROOT} PATH_SUFFIXES lib)
endif()
find_package_handle_standard_args(CMocka REQUIRED_VARS CMOCKA_LIBRARY CMOCKA_INCLUDE_DIR)
if(CMocka_FOUND)
  add_library(cmocka::cmocka UNKNOWN IMPORTED)
  set_target_properties(cmocka::cmocka PROPERTIES IMPORTED_LOCATION "${CMOCKA_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${CMOCKA_INCLUDE_DIR}")
  if(CMOCKA_LIBRARY MATCHES "\\.a$")
    set_property(TARGET cmocka::cmocka PROPERTY INTERFACE_COMPILE_DEFINITIONS CMOCKA_STATIC)
  endif()
endif()
