#!/usr/bin/env bash
# Load benchmark of `aide serve` (figures printed, nothing asserted; not run in CI):
# 50 clients follow one live run of 2,000 nodes while it grows by GROW more, written as fast as the
# store takes them (the worst case: a real step takes seconds). Prints the run's commit rate
# alone and followed by the clients, alternating ROUNDS times (each followed phase against the alone
# phases either side; goal: within 5%), the server's peak RSS, and the time from a node's commit to
# its arrival at each client (goal: < 1 s).
#   NODES=2000 GROW=300 CLIENTS=50 ROUNDS=3 CONFIG=release scripts/bench-serve.sh
# The clients run on the same machine (Python threads), so they share its cores with the run.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${CONFIG:-release}"
swift build -c "$CONFIG" --product aide 2>&1 | grep -E "error|warning:" || true
swift build -c "$CONFIG" --product AIDEBenchmarks 2>&1 | grep -E "error|warning:" || true
exec /usr/bin/python3 scripts/bench_serve.py --aide ".build/$CONFIG/aide" --benchmarks ".build/$CONFIG/AIDEBenchmarks" \
    --nodes "${NODES:-2000}" --grow "${GROW:-300}" --clients "${CLIENTS:-50}" --rounds "${ROUNDS:-3}"
