#!/usr/bin/env bash
# Cross-build mproc's Windows test dependencies, APR 1.7.2 and CMocka 1.1.5, as
# static mingw-w64 (x86_64) libraries from Debian 12's own source packages, so
# the tests can be built as .exe and run under Wine.
#
# Usage: scripts/build-mingw-deps.sh PREFIX     (Debian 12; root, or sudo rights)
#
# Installed into PREFIX:
#   include/apr-1/apr*.h        APR headers, in the same sub-folder as Debian's
#                               Linux package (so: -I PREFIX/include/apr-1)
#   include/cmocka.h, include/cmocka_pbc.h
#   lib/libapr-1.a              APR's static target "apr-1"
#   lib/libcmocka.a             CMocka's static target "cmocka-static"
#                               (libcmocka-static.a), renamed so that -lcmocka
#                               works as on Linux; no CMocka DLL is built
#   lib/pkgconfig/apr-1.pc, lib/pkgconfig/cmocka.pc
# Next to PREFIX: src/ (sources, build trees) and wineprefix/ (a private,
# initialized WINEPREFIX; use it with WINEDEBUG=-all).
#
# Consumers: compile with -DAPR_DECLARE_STATIC -I PREFIX/include/apr-1
#   -I PREFIX/include; link -lapr-1 -lws2_32 -lrpcrt4 -lmswsock -ladvapi32
#   -lshell32 -liphlpapi, and -lcmocka for tests.
# Cached: once PREFIX/.stamp-apr-1.7.2-cmocka-1.1.5 exists the script exits at
# once; delete the stamp (or PREFIX) to rebuild.
set -euo pipefail

APR_VER=1.7.2
CMOCKA_VER=1.1.5

[[ $# -eq 1 ]] || { echo "usage: $0 PREFIX" >&2; exit 2; }
PREFIX=$(realpath -m -- "$1")
STAMP=$PREFIX/.stamp-apr-$APR_VER-cmocka-$CMOCKA_VER
if [[ -e $STAMP ]]; then
  echo "build-mingw-deps: APR $APR_VER + CMocka $CMOCKA_VER already in $PREFIX (cached)"
  exit 0
fi

TOP=$(dirname "$PREFIX")
SRC=$TOP/src
export WINEPREFIX=$TOP/wineprefix WINEDEBUG=-all
TOOLCHAIN=$(cd "$(dirname "$0")/.." && pwd)/cmake/toolchains/mingw-w64-x86_64.cmake
JOBS=$(nproc)
SUDO=; [[ $EUID -eq 0 ]] || SUDO=sudo

STEP="start"
step() { STEP=$1; echo "==> [build-mingw-deps +${SECONDS}s] $1"; }
on_exit() { local rc=$?; (( rc == 0 )) || echo "build-mingw-deps: FAILED (exit $rc) in step: $STEP" >&2; }
trap on_exit EXIT
die() { echo "build-mingw-deps: $*" >&2; exit 1; }

# The dpkg lock may be held by a concurrent apt run (e.g. image provisioning).
APT=(${SUDO:+"$SUDO"} env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
APT_UPDATED=
apt_update() { [[ -n $APT_UPDATED ]] || { "${APT[@]}" update; APT_UPDATED=1; }; }

step "Ensuring apt has deb-src entries"
DEBSRC=/etc/apt/sources.list.d/mproc-deb-src.sources
if [[ ! -e $DEBSRC ]] &&
   ! grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list &&
   ! grep -Eqs '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources; then
  # Mirror every enabled "Types: deb" stanza of Debian's deb822 file, so the
  # sources come from the same mirror/suites/keyring as the binaries.
  entries=$(awk 'BEGIN { RS = "" }
    /(^|\n)Types:[^\n]*[ \t]deb([ \t]|\n|$)/ && !/(^|\n)Enabled:[ \t]*no/ {
      n = split($0, line, "\n")
      for (i = 1; i <= n; i++) {
        if (line[i] ~ /^#/) continue
        if (line[i] ~ /^Types:/) line[i] = "Types: deb-src"
        print line[i]
      }
      print ""
    }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [[ -z $entries ]]; then
    # One-line format (debootstrap, older installs): copy every "deb" line as
    # "deb-src", with its options ([signed-by=...]), mirror and suite.
    lines=$(sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    if [[ -n $lines ]]; then
      DEBSRC=/etc/apt/sources.list.d/mproc-deb-src.list
      entries=$lines
    fi
  fi
  if [[ -z $entries ]]; then
    entries=$'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  fi
  printf '# Added by mproc scripts/build-mingw-deps.sh (apt-get source apr cmocka)\n%s\n' \
    "$entries" | $SUDO tee "$DEBSRC" >/dev/null
  echo "    wrote $DEBSRC"
  apt_update
fi

step "Ensuring packages: dpkg-dev cmake mingw-w64 wine wine64"
missing=()
# "wine" provides the /usr/bin/wine command; wine64 the 64-bit runtime.
for p in dpkg-dev cmake mingw-w64 wine wine64; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "    installing: ${missing[*]}"
  "${APT[@]}" install -y "${missing[@]}" || { apt_update; "${APT[@]}" install -y "${missing[@]}"; }
fi

# Created before the build: APR's build runs gen_test_char.exe under Wine, and
# tests started in parallel later must not race to create the prefix.
step "Initializing WINEPREFIX $WINEPREFIX"
mkdir -p "$WINEPREFIX"
# Without wine32 (i386) it reports that syswow64\rundll32.exe is missing: harmless.
wineboot --init
# Let wineserver exit so the new prefix is completely on disk before use.
"$(command -v wineserver || echo /usr/lib/wine/wineserver)" -w

step "Fetching sources into $SRC (apt-get source apr cmocka)"
mkdir -p "$SRC"
cd "$SRC"
rm -rf "apr-$APR_VER" "cmocka-$CMOCKA_VER" build-apr build-cmocka
# As root apt cannot drop to _apt here anyway; say so instead of warning.
src=(apt-get -q source apr cmocka); [[ $EUID -ne 0 ]] || src+=(-o APT::Sandbox::User=root)
"${src[@]}" || { apt_update; "${src[@]}"; }
[[ -d apr-$APR_VER && -d cmocka-$CMOCKA_VER ]] ||
  die "Debian's sources are no longer APR $APR_VER / CMocka $CMOCKA_VER (see $SRC)"

step "Building APR $APR_VER (static target apr-1)"
# APR's CMakeLists.txt targets MSVC. It runs gen_test_char via $<TARGET_FILE>,
# which never gets the emulator; the bare target name does (Wine from the toolchain).
sed -i 's/COMMAND \$<TARGET_FILE:gen_test_char>/COMMAND gen_test_char/' "apr-$APR_VER/CMakeLists.txt"
grep -q 'COMMAND gen_test_char ' "apr-$APR_VER/CMakeLists.txt" || die "could not patch APR's gen_test_char command"
# mingw-w64 gaps in APR's win32 code: the MSVC-only __wtypes_h__ trick drags in
# OLE headers (COM_NO_WINDOWS_H), socket/interface declarations the MSVC SDK
# pulls in implicitly (force-included headers, NETIOAPI_API_, IF_NAMESIZE), and
# without HAVE_ATOMIC_BUILTINS* apr_atomic_init needs the generic 64-bit code.
# WIN32_LEAN_AND_MEAN is what apr.h sets anyway, too late for the forced
# includes; it keeps windows.h (parsed for every file) small.
apr_cflags="-DCOM_NO_WINDOWS_H -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -DNETIOAPI_API_=WINAPI -DIF_NAMESIZE=256"
apr_cflags+=" -DHAVE_ATOMIC_BUILTINS=1 -DHAVE_ATOMIC_BUILTINS64=1"
apr_cflags+=" -include winsock2.h -include ws2tcpip.h -include mswsock.h -include ifdef.h"
cmake -S "apr-$APR_VER" -B build-apr -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
  -DCMAKE_BUILD_TYPE=Release -DMIN_WINDOWS_VER=Windows7 -DCMAKE_C_FLAGS="$apr_cflags"
# Only apr-1: the DLL fails in windres on libapr.rc and aprapp-1 includes
# <ShellAPI.h>, which does not exist on a case-sensitive file system.
cmake --build build-apr --target apr-1 -j "$JOBS"

step "Building CMocka $CMOCKA_VER (static target cmocka-static)"
cmake -S "cmocka-$CMOCKA_VER" -B build-cmocka -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
  -DCMAKE_BUILD_TYPE=Release -DWITH_STATIC_LIB=ON -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF
cmake --build build-cmocka --target cmocka-static -j "$JOBS"

step "Installing into $PREFIX"
# By hand: cmake --install would want the targets not built above, and APR's
# list of headers misses apr_encode.h.
install -d "$PREFIX/include/apr-1" "$PREFIX/lib/pkgconfig"
install -m 644 "apr-$APR_VER"/include/apr_*.h build-apr/apr.h "$PREFIX/include/apr-1/"
install -m 644 build-apr/libapr-1.a "$PREFIX/lib/libapr-1.a"
install -m 644 "cmocka-$CMOCKA_VER"/include/cmocka{,_pbc}.h "$PREFIX/include/"
install -m 644 build-cmocka/src/libcmocka-static.a "$PREFIX/lib/libcmocka.a"
cat >"$PREFIX/lib/pkgconfig/apr-1.pc" <<EOF
prefix=$PREFIX
Name: APR
Description: Apache Portable Runtime, static mingw-w64 build
Version: $APR_VER
Cflags: -DAPR_DECLARE_STATIC -I\${prefix}/include/apr-1
Libs: -L\${prefix}/lib -lapr-1 -lws2_32 -lrpcrt4 -lmswsock -ladvapi32 -lshell32 -liphlpapi
EOF
cat >"$PREFIX/lib/pkgconfig/cmocka.pc" <<EOF
prefix=$PREFIX
Name: cmocka
Description: CMocka unit testing library, static mingw-w64 build
Version: $CMOCKA_VER
Cflags: -I\${prefix}/include
Libs: -L\${prefix}/lib -lcmocka
EOF

touch "$STAMP"
echo "build-mingw-deps: done in ${SECONDS}s: APR $APR_VER + CMocka $CMOCKA_VER in $PREFIX"
echo "build-mingw-deps: WINEPREFIX=$WINEPREFIX (run tests with WINEDEBUG=-all)"
