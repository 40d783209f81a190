# vcpkg port of mproc, used as an overlay port from this repository:
#   vcpkg install mproc --overlay-ports=<repo>/ports
# or from a manifest whose vcpkg-configuration lists "overlay-ports".
#
# It builds the checkout it lives in (two levels up). A port for a registry
# takes the sources of a release instead, replacing the set(SOURCE_PATH ...)
# below with
#   vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO <owner>/mproc
#                     REF "v${VERSION}" SHA512 <sha512 of that archive> HEAD_REF main)
# vcpkg's binary cache keys a port by its own files, not by the sources it
# builds: after changing mproc's sources, reinstall with --no-binarycaching
# (or bump "port-version") so that a cached build is not reused.
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../..")
cmake_path(NORMAL_PATH SOURCE_PATH)
if(NOT EXISTS "${SOURCE_PATH}/include/mproc/mproc.h")
  message(FATAL_ERROR "mproc overlay port: no mproc checkout at ${SOURCE_PATH}")
endif()

# BUILD_SHARED_LIBS follows VCPKG_LIBRARY_LINKAGE (vcpkg_cmake_configure sets it).
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DMPROC_INSTALL=ON
    -DMPROC_BUILD_TESTS=OFF
    -DMPROC_BUILD_EXAMPLES=OFF
    -DMPROC_BUILD_BENCH=OFF
    -DMPROC_INSTALL_CMAKEDIR=share/mproc
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME mproc CONFIG_PATH share/mproc)
vcpkg_copy_pdbs()

# mproc.pc of a static build requires apr-1.pc. APR's Unix (autotools) build
# installs one; its Windows (CMake) build may not, and then pkg-config cannot
# resolve mproc there: skip vcpkg's check rather than fail, CMake users are
# unaffected.
if(EXISTS "${CURRENT_INSTALLED_DIR}/lib/pkgconfig/apr-1.pc" OR VCPKG_LIBRARY_LINKAGE STREQUAL "dynamic")
  vcpkg_fixup_pkgconfig()
else()
  vcpkg_fixup_pkgconfig(SKIP_CHECK)
endif()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
# Apache-2.0 (ports/mproc/vcpkg.json "license"): vcpkg's place for it is
# share/mproc/copyright, so the copy the project installs under share/doc goes.
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/share/doc")
