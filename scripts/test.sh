#!/usr/bin/env bash
# The test suite: builds, starts a real llama-server (both OpenAI and Anthropic wire formats) on
# loopback for the integration tests, runs `swift test`, stops the server, then checks the HTML
# report and `aide serve` in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export LLAMA_LOG="${TMPDIR:-/tmp}/aide-llama-server-$port.log"
pid=$(bash scripts/llama-server.sh start "$port")
trap 'kill "$pid" 2>/dev/null || true' EXIT
export AIDE_LLAMA_URL="http://127.0.0.1:$port"
echo "[test] llama-server on $AIDE_LLAMA_URL (pid $pid)"

swift build --build-tests
# The library spells none of aide's command-line flags (they are worded in Sources/aide).
bash scripts/check-flags.sh
# In parallel (Swift Testing's default): no test waits on the wall clock or sleeps for something to
# start, so a loaded machine makes the suite slower, not red. The llama-server suite takes turns.
swift test

# The HTML report in a real browser: a generated 2,000-node run, no JavaScript error, a drawn tree.
timeout 900 bash scripts/check-html-report.sh

# `aide serve` in a real browser: a scripted search's tree grows on the open page, no reload, no JS error.
timeout 600 bash scripts/check-serve.sh
