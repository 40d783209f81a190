#!/usr/bin/env python3
"""Check the packaging files that cannot be run here (vcpkg and conan need the
network): they parse, they say what their tools expect, and they all carry the
version that CMakeLists.txt's project() declares.

Usage: scripts/check-packaging.py    (from anywhere; exit status 1 on a problem)
"""
import ast
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems = []
checked = 0


def problem(msg):
    problems.append(msg)


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def load_json(rel):
    global checked
    checked += 1
    try:
        return json.loads(read(rel))
    except (OSError, ValueError) as e:
        problem(f"{rel}: not valid JSON: {e}")
        return {}


def dep_names(manifest):
    return [d if isinstance(d, str) else d.get("name") for d in manifest.get("dependencies", [])]


m = re.search(r"project\(mproc\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", read("CMakeLists.txt"))
if not m:
    sys.exit("check-packaging: no project(mproc VERSION x.y.z) in CMakeLists.txt")
version = m.group(1)

# The developer manifest and the overlay port.
for rel in ("vcpkg.json", "ports/mproc/vcpkg.json"):
    manifest = load_json(rel)
    if not manifest:
        continue
    if manifest.get("name") != "mproc":
        problem(f"{rel}: name is {manifest.get('name')!r}, not 'mproc'")
    if manifest.get("version-semver") != version:
        problem(f"{rel}: version-semver {manifest.get('version-semver')!r} != CMake's {version}")
    if "apr" not in dep_names(manifest):
        problem(f"{rel}: does not depend on apr")
    if "builtin-baseline" in manifest and not re.fullmatch(r"[0-9a-f]{40}", manifest["builtin-baseline"]):
        problem(f"{rel}: builtin-baseline is not a commit hash")

port = load_json("ports/mproc/vcpkg.json")
for helper in ("vcpkg-cmake", "vcpkg-cmake-config"):
    if not any(isinstance(d, dict) and d.get("name") == helper and d.get("host") for d in port.get("dependencies", [])):
        problem(f"ports/mproc/vcpkg.json: {helper} must be a host dependency")
root = load_json("vcpkg.json")
if "cmocka" not in dep_names(root.get("features", {}).get("tests", {})):
    problem("vcpkg.json: the tests feature must bring cmocka (windows-msvc preset)")

portfile = read("ports/mproc/portfile.cmake")
checked += 1
for call in ("vcpkg_cmake_configure", "vcpkg_cmake_install", "vcpkg_cmake_config_fixup",
             "vcpkg_fixup_pkgconfig", "vcpkg_copy_pdbs"):
    if call + "(" not in portfile:
        problem(f"ports/mproc/portfile.cmake: no {call}()")
if not os.path.isfile(os.path.join(ROOT, "ports/mproc/usage")):
    problem("ports/mproc/usage: missing")

# The conan recipe and its test package: Python that parses, conan 2 imports,
# and the names consumers rely on.
for rel in ("conanfile.py", "test_package/conanfile.py"):
    checked += 1
    try:
        tree = ast.parse(read(rel), rel)
    except SyntaxError as e:
        problem(f"{rel}: {e}")
        continue
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    if "conans" in imports or any(i and i.startswith("conans.") for i in imports):
        problem(f"{rel}: imports conan 1's 'conans' package")
    if "conan" not in imports:
        problem(f"{rel}: does not import ConanFile from conan (conan 2)")
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    if rel == "conanfile.py":
        for needed in ("mproc::mproc", "cmake_target_name", "cmake_file_name", "pkg_config_name",
                       "MPROC_SHARED"):
            if needed not in strings:
                problem(f"{rel}: no {needed!r}")
        regex = next((s for s in strings if s.startswith("project\\(mproc")), None)
        if not regex or not re.search(regex, read("CMakeLists.txt")):
            problem(f"{rel}: set_version's pattern does not find the version in CMakeLists.txt")
# One license, declared everywhere it is packaged.
LICENSE_ID = "Apache-2.0"
if "Apache License" not in (read("LICENSE") if os.path.isfile(os.path.join(ROOT, "LICENSE")) else ""):
    problem("LICENSE: missing or not the Apache License")
for rel in ("vcpkg.json", "ports/mproc/vcpkg.json"):
    if load_json(rel).get("license") != LICENSE_ID:
        problem(f"{rel}: license is not {LICENSE_ID}")
if not re.search(r'^\s*license\s*=\s*"' + LICENSE_ID + '"', read("conanfile.py"), re.M):
    problem(f"conanfile.py: license is not {LICENSE_ID}")
if "vcpkg_install_copyright" not in portfile:
    problem("ports/mproc/portfile.cmake: the license is not installed as copyright")
if "LICENSE" not in read("cmake/MprocInstall.cmake"):
    problem("cmake/MprocInstall.cmake: the license is not installed")

for rel in ("test_package/CMakeLists.txt", "test_package/test_package.c"):
    if not os.path.isfile(os.path.join(ROOT, rel)):
        problem(f"{rel}: missing")

for p in problems:
    print(f"check-packaging: {p}")
print(f"check-packaging: {checked} files checked against version {version}: "
      f"{'ok' if not problems else f'{len(problems)} problem(s)'}")
sys.exit(1 if problems else 0)
