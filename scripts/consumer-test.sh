#!/usr/bin/env bash
# Install mproc and use it from outside, as a user's project does.
#
# Usage: scripts/consumer-test.sh [KIND...]
#   native-static  native-shared  mingw-static  mingw-shared
# Default: both native kinds, and both mingw kinds when the mingw lane's tools
# are here (x86_64-w64-mingw32-gcc, wine, and APR built by
# scripts/build-mingw-deps.sh in $MPROC_MINGW_PREFIX). A kind named on the
# command line never is skipped: a missing tool fails it.
#
# For each kind: build the library alone (BUILD_SHARED_LIBS=OFF/ON), install
# it, move the installed tree elsewhere (the package and mproc.pc must not
# remember where they were installed), check what was installed and, for a
# shared build, that the library exports exactly the MPROC_API functions the
# installed headers declare (no mproc__ internals) and carries its SONAME.
# Then build tests/consumer twice against the tree, once through
# find_package(mproc CONFIG) and once through pkg-config, and run it: it calls
# mproc_init() and starts a child with the spawn method whose registered
# target returns 42. mingw kinds run under Wine. When the build found MPI,
# the MPI component is checked the same way (tests/consumer_mpi).
#
# Environment: CONSUMER_BUILD_DIR (default build/consumer), CC (native
# pkg-config build, default cc), MPROC_MINGW_PREFIX (default
# build/_deps/mingw), MPROC_WINEPREFIX (default build/_deps/wineprefix),
# CMAKE_GENERATOR (default Ninja when ninja is installed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${CONSUMER_BUILD_DIR:-$ROOT/build/consumer}
MINGW_PREFIX=${MPROC_MINGW_PREFIX:-$ROOT/build/_deps/mingw}
WINEPREFIX_DIR=${MPROC_WINEPREFIX:-$ROOT/build/_deps/wineprefix}
TOOLCHAIN=$ROOT/cmake/toolchains/mingw-w64-x86_64.cmake
MINGW_CC=x86_64-w64-mingw32-gcc
if [[ -z ${CMAKE_GENERATOR:-} ]] && command -v ninja >/dev/null; then
  export CMAKE_GENERATOR=Ninja
fi

mingw_available() {
  command -v "$MINGW_CC" >/dev/null && command -v wine >/dev/null &&
    [[ -f $MINGW_PREFIX/lib/libapr-1.a ]]
}

if [[ $# -gt 0 ]]; then
  kinds=("$@")
else
  kinds=(native-static native-shared)
  if mingw_available; then
    kinds+=(mingw-static mingw-shared)
  else
    echo "consumer-test: mingw-w64, Wine or the mingw APR build missing: mingw kinds skipped"
  fi
fi

passed=0
failed=0
failed_kinds=""

log() { echo "consumer-test [$kind]: $*"; }
die() { echo "consumer-test [$kind]: FAILED: $*" >&2; return 1; }

# The names of the functions the installed headers declare with MPROC_API.
declared_api() {
  grep -h '^MPROC_API' "$1"/include/mproc/*.h | grep -o 'mproc_[a-z0-9_]*(' | tr -d '(' | sort -u
}

# Compare a library's exported names (stdin) with the declared API.
check_exports() { # prefix what
  local exported declared
  exported=$(grep -v '^$' | sort -u)
  declared=$(declared_api "$1")
  [[ -n $exported ]] || die "$2 exports nothing" || return 1
  if grep -q '^mproc__' <<<"$exported"; then
    die "$2 exports internals: $(grep '^mproc__' <<<"$exported" | tr '\n' ' ')" || return 1
  fi
  if [[ $exported != "$declared" ]]; then
    echo "exported but not declared with MPROC_API:" >&2
    comm -23 <(echo "$exported") <(echo "$declared") >&2
    echo "declared with MPROC_API but not exported:" >&2
    comm -13 <(echo "$exported") <(echo "$declared") >&2
    die "$2: exported symbols differ from the public API" || return 1
  fi
  log "$2 exports exactly the $(wc -l <<<"$declared" | tr -d ' ') MPROC_API functions, no internals"
}

run_kind() {
  local platform=${kind%-*} linkage=${kind#*-}
  local work=$OUT/$kind
  local shared=OFF cross=() consumer_cross=() prefix=$work/prefix
  [[ $linkage == shared ]] && shared=ON
  case $kind in
    native-static | native-shared) ;;
    mingw-static | mingw-shared)
      mingw_available || die "needs $MINGW_CC, wine and $MINGW_PREFIX/lib/libapr-1.a (make deps-mingw)" || return 1
      cross=(-DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DMPROC_MINGW_PREFIX="$MINGW_PREFIX"
             -DMPROC_WINEPREFIX="$WINEPREFIX_DIR")
      # The toolchain searches packages only in the Windows roots; the
      # installed tree is outside them.
      consumer_cross=(${cross[@]+"${cross[@]}"} -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=BOTH)
      ;;
    *) die "unknown kind (native-static, native-shared, mingw-static, mingw-shared)"; return 1 ;;
  esac
  rm -rf "$work"
  mkdir -p "$work"

  log "build and install mproc (BUILD_SHARED_LIBS=$shared)"
  cmake -S "$ROOT" -B "$work/build" ${cross[@]+"${cross[@]}"} -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=$shared -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_EXAMPLES=OFF \
    -DMPROC_BUILD_BENCH=OFF -DMPROC_WARNINGS_AS_ERRORS=ON >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; die "configure"; return 1; }
  cmake --build "$work/build" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; die "build"; return 1; }
  cmake --install "$work/build" --prefix "$work/stage" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; die "install"; return 1; }
  mv "$work/stage" "$prefix"   # relocated: nothing may point at stage/

  # What was installed.
  local f libdir
  libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$work/build/CMakeCache.txt")
  [[ -n $libdir ]] || die "no CMAKE_INSTALL_LIBDIR in the build's cache" || return 1
  for f in include/mproc/mproc.h include/mproc/export.h "$libdir/cmake/mproc/mprocConfig.cmake" \
           "$libdir/cmake/mproc/mprocConfigVersion.cmake" "$libdir/cmake/mproc/mprocTargets.cmake" \
           "$libdir/cmake/mproc/FindAPR.cmake" "$libdir/pkgconfig/mproc.pc" share/doc/mproc/LICENSE; do
    [[ -f $prefix/$f ]] || die "not installed: $f" || return 1
  done
  if grep -rqF "$work/stage" "$prefix/$libdir/cmake" "$prefix/$libdir/pkgconfig"; then
    die "the package remembers the install path: $(grep -rlF "$work/stage" "$prefix/$libdir")" || return 1
  fi

  # The library itself: kind, exports, version.
  local so
  case $kind in
    native-static | mingw-static)
      [[ -f $prefix/$libdir/libmproc.a || -f $prefix/$libdir/mproc.lib ]] ||
        die "no static library in $libdir" || return 1
      ;;
    native-shared)
      if [[ $(uname -s) == Darwin ]]; then
        so=$prefix/$libdir/libmproc.dylib
        [[ -f $so ]] || die "no $so" || return 1
        nm -gU "$so" | awk '{print $3}' | sed 's/^_//' | check_exports "$prefix" libmproc.dylib || return 1
        otool -D "$so" | grep -q 'libmproc\.0\.dylib' || die "install name is not libmproc.0.dylib" || return 1
      else
        so=$prefix/$libdir/libmproc.so
        [[ -f $so && -f $prefix/$libdir/libmproc.so.0 ]] || die "no libmproc.so / libmproc.so.0" || return 1
        nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' | check_exports "$prefix" libmproc.so || return 1
        readelf -d "$so" | grep -q 'SONAME.*\[libmproc\.so\.0\]' || die "SONAME is not libmproc.so.0" || return 1
        ls "$prefix/$libdir"/libmproc.so.0.* >/dev/null 2>&1 || die "no versioned libmproc.so.0.x.y" || return 1
        log "SONAME libmproc.so.0, $(basename "$(ls "$prefix/$libdir"/libmproc.so.0.*)")"
      fi
      ;;
    mingw-shared)
      so=$prefix/bin/libmproc.dll
      [[ -f $so && -f $prefix/$libdir/libmproc.dll.a ]] || die "no bin/libmproc.dll + lib/libmproc.dll.a" || return 1
      x86_64-w64-mingw32-objdump -p "$so" |
        sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | sed -n 's/^[[:space:]]*\[ *[0-9]*\] //p' |
        check_exports "$prefix" libmproc.dll || return 1
      ;;
  esac

  # 1. find_package(mproc CONFIG).
  log "consumer through find_package(mproc CONFIG)"
  cmake -S "$ROOT/tests/consumer" -B "$work/find_package" ${consumer_cross[@]+"${consumer_cross[@]}"} \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    -DMPROC_CONSUMER_EXPECT="$linkage" >"$work/find_package.log" 2>&1 ||
    { cat "$work/find_package.log" >&2; die "find_package consumer: configure"; return 1; }
  grep 'mproc .* from ' "$work/find_package.log" | sed 's/^-- /    /'
  cmake --build "$work/find_package" >>"$work/find_package.log" 2>&1 ||
    { cat "$work/find_package.log" >&2; die "find_package consumer: build"; return 1; }
  (cd "$work/find_package" && ctest --output-on-failure) >>"$work/find_package.log" 2>&1 ||
    { cat "$work/find_package.log" >&2; die "find_package consumer: run"; return 1; }
  grep -h 'consumer: ' "$work/find_package/Testing/Temporary/LastTest.log" | head -n1 | sed 's/^/    /'

  # The version file: this 0.x release satisfies 0.<minor> only.
  if [[ $kind == native-static ]]; then
    local v
    v=$(sed -n 's/^project(mproc VERSION \([0-9]*\)\.\([0-9]*\)\..*/\1.\2/p' "$ROOT/CMakeLists.txt")
    if cmake -S "$ROOT/tests/consumer" -B "$work/version" -DCMAKE_PREFIX_PATH="$prefix" \
         -DMPROC_CONSUMER_VERSION="${v%%.*}.$(( ${v#*.} + 1 ))" >"$work/version.log" 2>&1; then
      die "find_package(mproc ${v%%.*}.$(( ${v#*.} + 1 ))) accepted version $v" || return 1
    fi
    log "find_package refuses a newer minor version than $v, as it should"
  fi

  # 2. pkg-config.
  log "consumer through pkg-config"
  local pcpath=$prefix/$libdir/pkgconfig cc=${CC:-cc} static=() cflags libs exe run=()
  [[ $linkage == static ]] && static=(--static)
  if [[ $platform == mingw ]]; then
    cc=$MINGW_CC
    # Only the Windows .pc files: the installed tree's, and APR's.
    export PKG_CONFIG_LIBDIR=$pcpath:$MINGW_PREFIX/lib/pkgconfig
    unset PKG_CONFIG_PATH
    exe=$work/pkg-config/consumer.exe
    run=(env WINEPREFIX="$WINEPREFIX_DIR" WINEDEBUG=-all WINEPATH="$prefix/bin" wine)
  else
    export PKG_CONFIG_PATH=$pcpath${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    exe=$work/pkg-config/consumer
  fi
  pkg-config --print-errors --exists mproc || die "pkg-config cannot resolve mproc" || return 1
  cflags=$(pkg-config --cflags mproc)
  libs=$(pkg-config ${static[@]+"${static[@]}"} --libs mproc)
  echo "    cflags: $cflags"
  echo "    libs:   $libs"
  if [[ $linkage == shared ]]; then
    [[ $cflags == *-DMPROC_SHARED* ]] || die "mproc.pc of a shared build lacks -DMPROC_SHARED" || return 1
  else
    [[ $cflags != *-DMPROC_SHARED* ]] || die "mproc.pc of a static build defines MPROC_SHARED" || return 1
    [[ $libs == *-lapr-1* ]] || die "pkg-config --static --libs mproc does not bring APR" || return 1
  fi
  # A shared libmproc is found at run time through an rpath to the tree.
  [[ $platform == native && $linkage == shared ]] && libs="$libs -Wl,-rpath,$prefix/$libdir"
  mkdir -p "$work/pkg-config"
  # shellcheck disable=SC2086  # pkg-config output is a list of words
  "$cc" -std=c11 -Wall -Wextra -Werror $cflags "$ROOT/tests/consumer/consumer.c" -o "$exe" $libs \
    >"$work/pkg-config.log" 2>&1 || { cat "$work/pkg-config.log" >&2; die "pkg-config consumer: build"; return 1; }
  if [[ $kind == native-shared ]] && command -v ldd >/dev/null; then
    ldd "$exe" | grep -qF "$prefix/$libdir/libmproc.so.0" ||
      die "the pkg-config consumer does not load the installed libmproc: $(ldd "$exe" | grep mproc)" || return 1
  fi
  ${run[@]+"${run[@]}"} "$exe" >>"$work/pkg-config.log" 2>&1 ||
    { cat "$work/pkg-config.log" >&2; die "pkg-config consumer: run"; return 1; }
  grep 'spawn child exited with 42: ok' "$work/pkg-config.log" | sed 's/^/    /'
  grep -q 'spawn child exited with 42: ok' "$work/pkg-config.log" ||
    die "pkg-config consumer printed no success line" || return 1

  if [[ -f $pcpath/mproc-mpi.pc ]]; then
    run_mpi_consumer || return 1
  elif [[ $platform == native ]] && command -v mpicc >/dev/null; then
    die "MPI is here but the MPI component was not installed" || return 1
  fi
}

# The MPI component (built when MPI was found): find_package(mproc COMPONENTS
# mpi) and pkg-config mproc-mpi, and a pool whose worker is spawned with
# MPI_Comm_spawn (tests/consumer_mpi). Uses run_kind's variables.
run_mpi_consumer() {
  local mpi_env=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
                 OMPI_MCA_rmaps_base_oversubscribe=1)
  [[ -f $prefix/include/mproc/mpi.h && -f $prefix/$libdir/cmake/mproc/mprocMpiTargets.cmake ]] ||
    die "mproc-mpi.pc installed without mproc/mpi.h or mprocMpiTargets.cmake" || return 1
  if [[ $kind == native-shared ]]; then
    local exported declared
    exported=$(nm -D --defined-only "$prefix/$libdir/libmproc-mpi.so" | awk 'NF == 3 {print $3}' | sort -u)
    declared=$(grep -h '^MPROC_MPI_API' "$prefix/include/mproc/mpi.h" | grep -o 'mproc_[a-z0-9_]*(' | tr -d '(' | sort -u)
    [[ $exported == "$declared" ]] ||
      die "libmproc-mpi.so exports $(echo $exported), mpi.h declares $(echo $declared)" || return 1
    log "libmproc-mpi.so exports exactly the $(wc -l <<<"$declared" | tr -d ' ') MPROC_MPI_API functions"
  fi
  log "MPI consumer through find_package(mproc CONFIG COMPONENTS mpi)"
  cmake -S "$ROOT/tests/consumer_mpi" -B "$work/find_package_mpi" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" >"$work/find_package_mpi.log" 2>&1 ||
    { cat "$work/find_package_mpi.log" >&2; die "MPI consumer: configure"; return 1; }
  cmake --build "$work/find_package_mpi" >>"$work/find_package_mpi.log" 2>&1 ||
    { cat "$work/find_package_mpi.log" >&2; die "MPI consumer: build"; return 1; }
  (cd "$work/find_package_mpi" && ctest --output-on-failure) >>"$work/find_package_mpi.log" 2>&1 ||
    { cat "$work/find_package_mpi.log" >&2; die "MPI consumer: run"; return 1; }
  log "MPI consumer through pkg-config mproc-mpi"
  local cflags libs exe=$work/pkg-config/consumer_mpi
  cflags=$(pkg-config --cflags mproc-mpi) && libs=$(pkg-config ${static[@]+"${static[@]}"} --libs mproc-mpi) ||
    die "pkg-config cannot resolve mproc-mpi" || return 1
  echo "    libs:   $libs"
  [[ $linkage == shared ]] && libs="$libs -Wl,-rpath,$prefix/$libdir"
  # shellcheck disable=SC2086  # pkg-config output is a list of words
  "$cc" -std=c11 -Wall -Wextra -Werror $cflags "$ROOT/tests/consumer_mpi/consumer_mpi.c" -o "$exe" \
    $libs >"$work/pkg-config-mpi.log" 2>&1 ||
    { cat "$work/pkg-config-mpi.log" >&2; die "MPI pkg-config consumer: build"; return 1; }
  "${mpi_env[@]}" timeout 120 "$exe" >>"$work/pkg-config-mpi.log" 2>&1 ||
    { cat "$work/pkg-config-mpi.log" >&2; die "MPI pkg-config consumer: run"; return 1; }
  grep 'consumer_mpi: .*: ok' "$work/pkg-config-mpi.log" | sed 's/^/    /'
}

for kind in "${kinds[@]}"; do
  echo "==== consumer test: $kind"
  if ( run_kind ); then
    passed=$((passed + 1))
    log "passed"
  else
    failed=$((failed + 1))
    failed_kinds="$failed_kinds $kind"
  fi
done

[[ $failed -eq 0 ]] || echo "consumer-test: FAILED kinds:$failed_kinds"
echo "consumer-test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
