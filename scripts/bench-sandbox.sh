#!/usr/bin/env bash
# Benchmark of the script sandbox (figures printed, nothing asserted): the start-up time bubblewrap
# adds to each solution script, against exec.sandbox: none, as the median of paired runs of an
# empty script through the real interpreter (same limits, alternating, so load hits both alike).
# Goal: under 20 ms. Then the cost of the total disk cap's watcher (exec.max_disk_mb): per script, and
# per walk of a 10,000-file folder. Then bare namespaces with hyperfine, when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
PYTHON="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"
CONFIG="${CONFIG:-release}"  # CONFIG=debug skips the release build (figures then a little pessimistic)
swift build -c "$CONFIG" --product AIDEBenchmarks 2>&1 | grep -E "error|warning" || true
".build/$CONFIG/AIDEBenchmarks" sandbox-startup "$PYTHON" "$RUNS"
if command -v hyperfine >/dev/null && command -v bwrap >/dev/null; then
  echo "bare namespaces (hyperfine, $RUNS runs): python -c pass, alone and in bwrap --unshare-all"
  hyperfine -N -w 3 -r "$RUNS" --style basic \
    "$PYTHON -c pass" \
    "bwrap --unshare-all --die-with-parent --ro-bind / / $PYTHON -c pass" 2>&1 | grep -E "Time|±|faster" || true
fi
