#!/usr/bin/env bash
# The MSVC-mode lane: compile every source, test and example the way MSVC
# would see them, with warnings as errors, so that the _MSC_VER branches are
# compiled on every run of `make test`, not only on a Windows runner.
#
# clang with --target=<arch>-pc-windows-msvc and -fms-compatibility defines
# _MSC_VER (19.40, Visual Studio 2022) and _WIN32 and takes the MSVC paths;
# the CRT and Windows SDK headers are Wine's MSVC-compatible ones (Debian's
# libwine-dev), APR's and CMocka's come from the mingw build
# (scripts/build-mingw-deps.sh). Nothing is linked: the lane proves the code
# compiles under MSVC's rules; the mingw-wine lane runs it.
#
#   x64      everything, as a static library user and as a DLL (dllexport /
#            dllimport), with -Wall -Wextra -Werror (clang-cl's /W4 /WX)
#   ARM64    the core files that use src/atomic.h, whose memory ordering
#            differs per target (Wine's windows.h does not build for ARM64
#            under clang, so the backend is x64 only)
#   x86      src/lock.c, for atomic.h's 32-bit branch (the queue's 64-bit
#            reservation sizes do not fit a 32-bit size_t)
# Then scripts/check-assign-in-condition.py stands in for MSVC's C4706,
# which clang does not have.
#
# Usage: scripts/msvc-syntax.sh [mingw prefix]   (default build/_deps/mingw)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-$root/build/_deps/mingw}
wine_inc=/usr/include/wine/wine
cc=${MPROC_MSVC_CLANG:-clang}

for need in "$wine_inc/msvcrt/stdlib.h" "$wine_inc/windows/windows.h" \
            "$prefix/include/apr-1/apr.h" "$prefix/include/cmocka.h"; do
  [[ -f $need ]] || { echo "msvc-syntax: missing $need (make deps-mingw)" >&2; exit 1; }
done
command -v "$cc" >/dev/null || { echo "msvc-syntax: no $cc" >&2; exit 1; }

# clang's own intrin.h first: it declares the MSVC intrinsics and then
# includes Wine's. APR's apr.h defines __attribute__ away for compilers
# without __GNUC__ unless it is a macro already (right for MSVC, whose
# intrinsic headers do not use it; clang's do): an identity macro keeps it.
resource=$("$cc" -print-resource-dir)/include
common=(-fms-compatibility -fms-compatibility-version=19.40 -std=c11
        -Wall -Wextra -Werror -fsyntax-only
        '-D__attribute__(x)=__attribute__(x)'
        -isystem "$resource" -isystem "$wine_inc/msvcrt" -isystem "$wine_inc/windows"
        -isystem "$prefix/include/apr-1" -isystem "$prefix/include"
        -I "$root/include" -I "$root/src" -I "$root/tests"
        -D_CRT_SECURE_NO_WARNINGS -DAPR_DECLARE_STATIC -DCMOCKA_STATIC)

cd "$root"
library=(src/*.c src/win32/*.c)
programs=()
for f in tests/*.c tests/os/*.c tests/support/*.c tests/consumer/*.c examples/*.c; do
  # POSIX-only tests (rlimits, signals), built by tests/CMakeLists.txt under if(UNIX).
  case $f in tests/test_limits.c | tests/test_signals.c) continue ;; esac
  programs+=("$f")
done
atomic_users=$(grep -l '#include "atomic.h"\|#include "lock.h"' src/*.c)

# One line per compilation: target, extra flags, file.
jobs() {
  local f
  for f in "${library[@]}"; do
    echo "x86_64 - $f"
    echo "x86_64 -DMPROC_BUILDING_SHARED $f"
  done
  for f in "${programs[@]}"; do
    echo "x86_64 - $f"
    echo "x86_64 -DMPROC_SHARED $f"
  done
  for f in $atomic_users; do
    echo "aarch64 - $f"
  done
  echo "i686 -msse2 src/lock.c"
}

# Arrays do not cross into xargs' shells: pass the flags through a file.
flagfile=$(mktemp)
trap 'rm -f "$flagfile"' EXIT
printf '%s\n' "${common[@]}" >"$flagfile"

status=0
total=$(jobs | wc -l)
jobs | xargs -P "$(nproc)" -L 1 bash -c '
  mapfile -t common <"'"$flagfile"'"
  target=$0 extra=$1 file=$2 flags=()
  [[ $extra == - ]] || flags=("$extra")
  if ! out=$("'"$cc"'" --target="$target-pc-windows-msvc" "${common[@]}" "${flags[@]}" "$file" 2>&1); then
    echo "msvc-syntax: FAILED $target ${flags[*]} $file"; echo "$out"; exit 1
  fi' || status=1
if [[ $status -eq 0 ]]; then
  echo "msvc-syntax: $total compilations clean (MSVC 19.40 mode, -Wall -Wextra -Werror)"
fi

python3 scripts/check-assign-in-condition.py src tests examples bench || status=1
exit $status
