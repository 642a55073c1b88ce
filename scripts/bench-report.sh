#!/usr/bin/env bash
# Benchmark of `aide report` (figures printed, nothing asserted): time and peak memory to report a
# generated 10,000-node run, per format, the median of RUNS runs (3). Goal: under 1 s each.
# Wall time on a shared machine is noisy; CPU seconds (user + sys) and the load average are printed
# beside it. SCRATCH (default .build) is the build folder, so a release build can live apart from
# the debug one (`SCRATCH=/tmp/aide-release scripts/bench-report.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
NODES="${NODES:-10000}"
RUNS="${RUNS:-3}"
SCRATCH="${SCRATCH:-.build}"
swift build -c release --scratch-path "$SCRATCH" --product aide 2>&1 | grep -E "error|warning" || true
swift build -c release --scratch-path "$SCRATCH" --product AIDEBenchmarks 2>&1 | grep -E "error|warning" || true
bin="$SCRATCH/release"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run="$work/generated-run"
echo "writing a generated run of $NODES nodes (through the real store)…"
"$bin"/AIDEBenchmarks make-run "$run" "$NODES"
echo "aide report on $NODES nodes ($(du -h "$run/run.sqlite" | cut -f1) database), median of $RUNS runs" \
  "(load average $(cut -d' ' -f1-3 /proc/loadavg)):"
for format in text json markdown html; do
  if ! "$bin"/aide report "$run" --format "$format" -o "$work/out.$format" 2>/dev/null; then
    echo "  $format: not available"; continue
  fi
  : > "$work/times.txt"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$bin"/aide report "$run" --format "$format" -o "$work/out.$format"
    cat "$work/time.txt" >> "$work/times.txt"
  done
  # Median of each column on its own (wall, CPU, peak RSS).
  median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
  seconds=$(awk '{ print $1 }' "$work/times.txt" | median)
  cpu=$(awk '{ print $2 + $3 }' "$work/times.txt" | median)
  kilobytes=$(awk '{ print $4 }' "$work/times.txt" | median)
  range=$(awk '{ print $1 }' "$work/times.txt" | sort -g | awk 'NR == 1 { low = $1 } { high = $1 } END { print low "–" high }')
  printf '  %-8s %6.2f s  (runs %s s; %.2f s CPU)  peak RSS %6.1f MiB  output %s\n' "$format" "$seconds" "$range" "$cpu" \
    "$(echo "$kilobytes / 1024" | bc -l)" "$(du -h "$work/out.$format" | cut -f1)"
done
