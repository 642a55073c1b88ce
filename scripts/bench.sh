#!/usr/bin/env bash
# Benchmarks (figures printed, nothing asserted): SSE parsing throughput, streamed query throughput,
# and the overhead of one query() over a raw libcurl call to the same loopback server.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product AIDEBenchmarks 2>&1 | grep -E "error|warning" || true
.build/release/AIDEBenchmarks
