#!/usr/bin/env bash
# The allocation check: runs ReactorBenchmarks (nop, file reads into a reused
# buffer, echo) and fails when a benchmark allocates more per iteration than
# Benchmarks/Thresholds/ allows (tolerance in the benchmark's configuration:
# 100 per 1000 operations, so one allocation more per operation fails).
#
#   Benchmarks/check-thresholds.sh          # check (CI)
#   Benchmarks/check-thresholds.sh update   # rewrite the thresholds from a run
#
# Builds only the reactor's benchmarks (SwiftNIO is resolved, not built).
set -uo pipefail
cd "$(dirname "$0")/.."

benchmark() {
  swift package --package-path Benchmarks --disable-sandbox "$@"
}

if [ "${1:-}" = "update" ]; then
  benchmark --allow-writing-to-package-directory benchmark --target ReactorBenchmarks \
    thresholds update --path Benchmarks/Thresholds --no-progress || exit $?
  # Keep the allocation count only: times and syscalls are not thresholds.
  for file in Benchmarks/Thresholds/*.json; do
    count=$(grep -o '"mallocCountTotal" : [0-9]*' "$file" | grep -o '[0-9]*$')
    [ -n "$count" ] || { echo "no mallocCountTotal in $file" >&2; exit 1; }
    printf '{\n  "mallocCountTotal" : %s\n}\n' "$count" > "$file"
  done
  exit 0
fi

output=$(benchmark benchmark --target ReactorBenchmarks thresholds check \
  --path Benchmarks/Thresholds --no-progress 2>&1)
status=$?
printf '%s\n' "$output"
if [ "$status" -ne 0 ]; then
  if grep -q "is BETTER than" <<<"$output" && ! grep -q "is WORSE than" <<<"$output"; then
    echo "allocations: fewer than Benchmarks/Thresholds/ says; record them with" \
      "'Benchmarks/check-thresholds.sh update'"
    exit 0
  fi
  echo "allocations: a benchmark allocates more than Benchmarks/Thresholds/ allows" \
    "(or did not run); see above" >&2
  exit "$status"
fi
echo "allocations: within Benchmarks/Thresholds/"
