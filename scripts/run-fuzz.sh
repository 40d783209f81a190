#!/usr/bin/env bash
# Build the libFuzzer targets (preset linux-fuzz) and run each for a while.
#
# Usage: scripts/run-fuzz.sh SECONDS [target...]
#   Every fuzz/fuzz_<name>.c is a target (unless targets are named). Each runs
#   SECONDS seconds from its seed corpus fuzz/corpus/fuzz_<name>/ (when there is
#   one) plus what earlier runs found (build/fuzz/corpus/, not checked in).
#   A crash, over-read, leak, timeout or oversized allocation fails the run;
#   the input that caused it is left in build/fuzz/artifacts/.
# A target may add libFuzzer flags in fuzz/fuzz_<name>.options (words on one
# line, e.g. -max_len=65536); they come last, so they override the defaults.
# Environment: FUZZ_MAX_LEN (default 4096), FUZZ_MALLOC_MB (default 512).
set -uo pipefail

seconds=${1:?usage: $0 SECONDS [target...]}
shift
cd "$(dirname "$0")/.."
cmake --preset linux-fuzz >/dev/null && cmake --build --preset linux-fuzz || exit 1

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
fi
mkdir -p build/fuzz/artifacts
failed=()
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t
  mkdir -p "$work"
  seeds=()
  [[ -d fuzz/corpus/$t ]] && seeds=("fuzz/corpus/$t")
  extra=()
  [[ -f fuzz/$t.options ]] && read -r -a extra <"fuzz/$t.options"
  echo "== $t: ${seconds}s"
  if ! build/linux-fuzz/fuzz/"$t" -max_total_time="$seconds" -max_len="${FUZZ_MAX_LEN:-4096}" \
      -malloc_limit_mb="${FUZZ_MALLOC_MB:-512}" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="build/fuzz/artifacts/$t-" "${extra[@]}" "$work" "${seeds[@]}" \
      >"build/fuzz/$t.log" 2>&1; then
    tail -n 40 "build/fuzz/$t.log"
    failed+=("$t")
  else
    grep -E '^stat::number_of_executed_units|^Done' "build/fuzz/$t.log" | tr '\n' ' '
    echo
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in build/fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no failure"
