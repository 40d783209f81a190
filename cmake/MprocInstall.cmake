# Install rules: headers, the library (static or shared, as BUILD_SHARED_LIBS
# chose), a CMake package, a pkg-config file and the license.
#
#   find_package(mproc CONFIG)   ->  mproc::mproc        (lib/cmake/mproc)
#   pkg-config mproc             ->  mproc.pc            (lib/pkgconfig)
# and, when the MPI backend was built (MPROC_HAVE_MPI):
#   find_package(mproc CONFIG COMPONENTS mpi)  ->  mproc::mpi  (libmproc-mpi)
#   pkg-config mproc-mpi         ->  mproc-mpi.pc
#
# A shared build's package defines MPROC_SHARED for its consumers (dllimport
# on Windows) and needs nothing else: APR and the thread library are private
# link dependencies of libmproc. A static build's package brings them along:
# find_dependency(APR) through this project's own FindAPR.cmake, installed
# beside the config file, and find_dependency(Threads); its mproc.pc lists
# apr-1 under Requires.private.
#
# Paths are relative to the install prefix, so the tree can be moved or
# installed with `cmake --install <build> --prefix <dir>`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(MPROC_INSTALL "Generate the install rules" ${PROJECT_IS_TOP_LEVEL})
set(MPROC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/mproc" CACHE STRING
    "Where the CMake package files go, relative to the prefix")
set(MPROC_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where mproc.pc goes, relative to the prefix")
if(NOT MPROC_INSTALL)
  return()
endif()

get_target_property(_mproc_type mproc TYPE)
if(_mproc_type STREQUAL "SHARED_LIBRARY")
  set(MPROC_INSTALL_SHARED ON)
else()
  set(MPROC_INSTALL_SHARED OFF)
endif()

install(TARGETS mproc EXPORT mprocTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT mproc_runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mproc_runtime
          NAMELINK_COMPONENT mproc_development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mproc_development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mproc"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT mproc_development
  FILES_MATCHING PATTERN "*.h")
if(MSVC AND MPROC_INSTALL_SHARED)
  install(FILES $<TARGET_PDB_FILE:mproc> DESTINATION ${CMAKE_INSTALL_BINDIR}
          COMPONENT mproc_runtime OPTIONAL)
endif()

# The license travels with every install (share/doc/mproc/LICENSE).
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT mproc_runtime)

# The CMake package.
install(EXPORT mprocTargets NAMESPACE mproc:: FILE mprocTargets.cmake
  DESTINATION ${MPROC_INSTALL_CMAKEDIR} COMPONENT mproc_development)
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/mprocConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/mprocConfig.cmake"
  INSTALL_DESTINATION ${MPROC_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO NO_CHECK_REQUIRED_COMPONENTS_MACRO)
# 0.x: a minor release may change the API, so only the same minor version is
# compatible (from 1.0 on this becomes SameMajorVersion).
write_basic_package_version_file("${PROJECT_BINARY_DIR}/mprocConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/mprocConfig.cmake"
              "${PROJECT_BINARY_DIR}/mprocConfigVersion.cmake"
              "${CMAKE_CURRENT_LIST_DIR}/FindAPR.cmake"
  DESTINATION ${MPROC_INSTALL_CMAKEDIR} COMPONENT mproc_development)

# The pkg-config file, relocatable: prefix is found from the file's own place.
if(IS_ABSOLUTE "${MPROC_INSTALL_PKGCONFIGDIR}")
  set(MPROC_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _mproc_pc_up "/prefix/${MPROC_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" _mproc_pc_up "${_mproc_pc_up}")
  set(MPROC_PC_PREFIX "\${pcfiledir}/${_mproc_pc_up}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(MPROC_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(MPROC_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
# Shared: consumers define MPROC_SHARED (dllimport on Windows) and link only
# -lmproc. Static: APR (apr-1.pc) and the system libraries follow with --static.
set(MPROC_PC_PRIVATE "")
if(MPROC_INSTALL_SHARED)
  set(MPROC_PC_CFLAGS " -DMPROC_SHARED")
else()
  set(MPROC_PC_CFLAGS "")
  string(APPEND MPROC_PC_PRIVATE "Requires.private: apr-1\n")
  set(_mproc_pc_libs "${CMAKE_THREAD_LIBS_INIT}")
  if(NOT WIN32 AND NOT APPLE)
    string(APPEND _mproc_pc_libs " -lrt")
  endif()
  string(STRIP "${_mproc_pc_libs}" _mproc_pc_libs)
  if(_mproc_pc_libs)
    string(APPEND MPROC_PC_PRIVATE "Libs.private: ${_mproc_pc_libs}\n")
  endif()
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/mproc.pc.in" "${PROJECT_BINARY_DIR}/mproc.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/mproc.pc"
  DESTINATION ${MPROC_INSTALL_PKGCONFIGDIR} COMPONENT mproc_development)

# The MPI backend: its own export set, loaded by the package only when the
# mpi component is asked for, and its own .pc file.
if(MPROC_HAVE_MPI)
  install(TARGETS mproc_mpi EXPORT mprocMpiTargets
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT mproc_runtime
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mproc_runtime
            NAMELINK_COMPONENT mproc_development
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mproc_development
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(FILES "${PROJECT_SOURCE_DIR}/mpi/include/mproc/mpi.h"
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mproc COMPONENT mproc_development)
  install(EXPORT mprocMpiTargets NAMESPACE mproc:: FILE mprocMpiTargets.cmake
    DESTINATION ${MPROC_INSTALL_CMAKEDIR} COMPONENT mproc_development)
  # A static libmproc-mpi needs MPI at link time: Open MPI's own ompi-c.pc.
  if(MPROC_INSTALL_SHARED)
    set(MPROC_MPI_PC_PRIVATE "")
  else()
    set(MPROC_MPI_PC_PRIVATE "Requires.private: ompi-c\n")
  endif()
  configure_file("${CMAKE_CURRENT_LIST_DIR}/mproc-mpi.pc.in" "${PROJECT_BINARY_DIR}/mproc-mpi.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/mproc-mpi.pc"
    DESTINATION ${MPROC_INSTALL_PKGCONFIGDIR} COMPONENT mproc_development)
endif()
