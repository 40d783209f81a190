#!/usr/bin/env bash
# Install what building and testing mproc needs, and nothing that is there.
#
# Usage: scripts/install-deps.sh [native|mingw|mpi|bench|all]   (default: native)
#   native  compilers, CMake, Ninja, APR, CMocka, sanitizer and libFuzzer
#           runtime (clang's libclang-rt-dev), python3, Doxygen (make docs),
#           gcovr (make coverage), valgrind (its header lets mproc tell when
#           it runs under memcheck; a test runs a queue program under it)
#   mingw   the Windows lanes: mingw-w64 and Wine (APR and CMocka for Windows
#           are then built by scripts/build-mingw-deps.sh), and Wine's
#           MSVC-compatible CRT and SDK headers for the MSVC-mode lane
#           (scripts/msvc-syntax.sh compiles with clang against them)
#   mpi     the optional MPI backend (libmproc-mpi, docs/mpi.md): Open MPI and
#           Debian's mpi4py for the bench (for /usr/bin/python3)
#   bench   make bench's plots: gnuplot (no X; its SVG terminal), and
#           valgrind, whose callgrind counts instructions for the profiles in
#           docs/performance.md (repeatable on a loaded machine)
# Debian and Ubuntu are installed with apt-get (as root, or through sudo).
# Elsewhere it names what to install and fails if something is missing.
set -euo pipefail

lane=${1:-native}
native=(cmake ninja-build gcc clang libclang-rt-dev pkg-config libapr1-dev libcmocka-dev python3
        doxygen gcovr valgrind)
mingw=(mingw-w64 wine wine64 dpkg-dev libwine-dev)
mpi=(openmpi-bin libopenmpi-dev python3-mpi4py)
bench=(gnuplot-nox valgrind)
case $lane in
  native) want=("${native[@]}") ;;
  mingw) want=("${mingw[@]}") ;;
  mpi) want=("${mpi[@]}") ;;
  bench) want=("${bench[@]}") ;;
  all) want=("${native[@]}" "${mingw[@]}" "${mpi[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 [native|mingw|mpi|bench|all]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  cat >&2 <<MSG
install-deps: not a Debian/Ubuntu system; install these yourself:
  a C11 compiler, CMake >= 3.25, Ninja, pkg-config, APR 1.7 (apr-1.pc), CMocka,
  python3 (benchmarks, docs), Doxygen (make docs); for the Windows lane
  mingw-w64 and Wine; for the MSVC-mode lane clang and Wine's headers
  (libwine-dev).
  macOS (Homebrew): brew install cmake ninja pkg-config apr cmocka doxygen
    and export PKG_CONFIG_PATH=\$(brew --prefix apr)/lib/pkgconfig
  Windows: use the windows-msvc preset with vcpkg (VCPKG_ROOT set).
MSG
  for tool in cmake ninja pkg-config; do
    command -v "$tool" >/dev/null || { echo "install-deps: missing $tool" >&2; exit 1; }
  done
  exit 0
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: $lane dependencies present"
  exit 0
fi

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
echo "install-deps: done"
