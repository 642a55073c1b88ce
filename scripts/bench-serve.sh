#!/usr/bin/env bash
# Load benchmark of `aide serve` (figures printed, nothing asserted; not run in CI): 50 clients follow
# one live run of 2,000 nodes. Two kinds of growth, each alone and followed, alternating ROUNDS times
# (each followed phase against the alone phases either side; goal: within 5%):
#   run:   a real `aide run --resume` (a tiny task, scripted answers, WORKERS workers) adds RUN_GROW
#          steps: the run's step rate, the figure the goal is about;
#   flood: GROW nodes committed as fast as the store takes them: the worst case (a real step takes
#          seconds), which shows the server's CPU per 1,000 commits, and the commit -> client time.
# Also the server's peak RSS, and the server's and the clients' CPU, apart. The clients are one
# process on the same machine (non-blocking sockets), so they share its cores with the run.
#   NODES=2000 GROW=600 RUN_GROW=60 WORKERS=4 CLIENTS=50 ROUNDS=3 KINDS=run,flood scripts/bench-serve.sh
# Builds release binaries in SCRATCH (default /tmp/aide-serve-release), apart from .build.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-/tmp/aide-serve-release}"
swift build -c release --scratch-path "$SCRATCH" --product aide 2>&1 | grep -E "error|warning:" | grep -v "unhandled" || true
swift build -c release --scratch-path "$SCRATCH" --product AIDEBenchmarks 2>&1 | grep -E "error|warning:" | grep -v "unhandled" || true
exec /usr/bin/python3 scripts/bench_serve.py --aide "$SCRATCH/release/aide" --benchmarks "$SCRATCH/release/AIDEBenchmarks" \
    --nodes "${NODES:-2000}" --grow "${GROW:-600}" --run-grow "${RUN_GROW:-60}" --workers "${WORKERS:-4}" \
    --clients "${CLIENTS:-50}" --rounds "${ROUNDS:-3}" --kinds "${KINDS:-run,flood}"
