"""Conan 2 recipe for mproc, built from this checkout.

    conan create .                      # build the package and run test_package/
    conan create . -o "mproc/*:shared=True"

Consumers get find_package(mproc CONFIG) with the target mproc::mproc
(CMakeDeps) and the pkg-config module mproc (PkgConfigDeps). See
docs/packaging.md.
"""
import os
import re

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class MprocConan(ConanFile):
    name = "mproc"
    description = ("Python's multiprocessing model for C: Process with join(timeout), daemon, "
                   "exitcode, terminate, kill and sentinels, under the fork and spawn start methods.")
    license = "Apache-2.0"
    topics = ("multiprocessing", "process", "fork", "spawn", "apr")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False]}
    default_options = {"shared": False, "fPIC": True}
    exports_sources = "CMakeLists.txt", "cmake/*", "include/*", "src/*", "LICENSE*"

    def set_version(self):
        # One version for every build system: the one in project().
        cmakelists = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        self.version = re.search(r"project\(mproc\s+VERSION\s+([0-9.]+)", cmakelists).group(1)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")
        # A C library: the C++ settings do not change the binary.
        self.settings.rm_safe("compiler.cppstd")
        self.settings.rm_safe("compiler.libcxx")

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # A private dependency: consumers never include APR's headers, but a
        # static mproc needs APR at link time (conan's default traits do that).
        self.requires("apr/[>=1.7.0 <2]")

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["MPROC_INSTALL"] = True
        tc.cache_variables["MPROC_BUILD_TESTS"] = False
        tc.cache_variables["MPROC_BUILD_EXAMPLES"] = False
        tc.cache_variables["MPROC_BUILD_BENCH"] = False
        tc.generate()
        # cmake/FindAPR.cmake finds conan's APR through find_package(apr CONFIG).
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE*", src=self.source_folder,
             dst=os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # Conan writes its own CMake and pkg-config files from package_info().
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "mproc")
        self.cpp_info.set_property("cmake_target_name", "mproc::mproc")
        self.cpp_info.set_property("pkg_config_name", "mproc")
        self.cpp_info.libs = ["mproc"]
        if self.options.shared:
            # dllimport on Windows (include/mproc/export.h).
            self.cpp_info.defines = ["MPROC_SHARED"]
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread", "rt"]
