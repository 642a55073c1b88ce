#!/usr/bin/env bash
# Benchmark of `aide report` (figures printed, nothing asserted): time and peak memory to report a
# generated 10,000-node run, per format. Goal: under 1 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES="${NODES:-10000}"
swift build -c release --product aide 2>&1 | grep -E "error|warning" || true
swift build -c release --product AIDEBenchmarks 2>&1 | grep -E "error|warning" || true
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run="$work/generated-run"
echo "writing a generated run of $NODES nodes (through the real store)…"
.build/release/AIDEBenchmarks make-run "$run" "$NODES"
echo "aide report on $NODES nodes ($(du -h "$run/run.sqlite" | cut -f1) database):"
for format in text json markdown html; do
  if ! .build/release/aide report "$run" --format "$format" -o "$work/out.$format" 2>/dev/null; then
    echo "  $format: not available"; continue
  fi
  /usr/bin/time -f "%e %M" -o "$work/time.txt" .build/release/aide report "$run" --format "$format" -o "$work/out.$format"
  read -r seconds kilobytes < "$work/time.txt"
  printf '  %-8s %6.2f s  peak RSS %6.1f MiB  output %s\n' "$format" "$seconds" "$(echo "$kilobytes / 1024" | bc -l)" \
    "$(du -h "$work/out.$format" | cut -f1)"
done
