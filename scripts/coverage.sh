#!/usr/bin/env bash
# Line and branch coverage of src/ from the linux tests (preset linux-coverage,
# gcc --coverage), counting what fork and spawn children execute: children
# write their counters before _exit (MPROC_COVERAGE in src/posix/os_system.c).
# Children killed by a signal (the tests' crashes, SIGKILL, terminate) write
# nothing: their lines count only where another process ran them too.
#
# Usage: scripts/coverage.sh [ctest args...]
# Output: build/coverage/index.html (per file, per line), lines.txt,
# branches.txt, and the summary on stdout.
set -uo pipefail
cd "$(dirname "$0")/.."
build=build/linux-coverage
out=build/coverage

cmake --preset linux-coverage >/dev/null && cmake --build --preset linux-coverage || exit 1
find "$build" -name '*.gcda' -delete
ctest --preset linux-coverage "$@"
tests_rc=$?

rm -rf "$out" && mkdir -p "$out"
common=(--root . --filter 'src/' --object-directory "$build" --exclude-unreachable-branches
        --gcov-ignore-parse-errors)
gcovr "${common[@]}" --txt "$out/lines.txt" --html-details "$out/index.html" --print-summary \
  >"$out/summary.txt" || exit 1
gcovr "${common[@]}" --branches --txt "$out/branches.txt" >/dev/null || exit 1
cat "$out/lines.txt"
cat "$out/summary.txt"
echo "coverage: $out/index.html"
[[ $tests_rc -eq 0 ]] || { echo "coverage: some tests failed (the figures count what ran)"; exit 1; }
