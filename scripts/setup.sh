#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for aide: system packages, a Python venv for what runs Python,
# and llama.cpp's llama-server with a small model for the offline demo and the integration tests.
# Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[setup] $*" >&2; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
# chromium: the test suite renders `aide report --format html` in a real (headless) browser.
# libxml2-utils: xmllint checks `aide bench`'s junit.xml against docs/junit.xsd.
# bubblewrap: the sandbox every solution script runs in (exec.sandbox: auto).
# chromium-driver, python3-selenium: scripts/check-serve.sh drives `aide serve` in the browser.
for pkg in libcurl4-openssl-dev libsqlite3-dev cmake chromium libxml2-utils bubblewrap chromium-driver python3-selenium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v swift >/dev/null || { log "swift is not on PATH: install Swift 6 (https://swift.org/install)"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  log "creating the Python venv in .venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -r scripts/requirements.txt

# The local OpenAI- and Anthropic-compatible server used by the demo and the tests.
bash scripts/llama-server.sh build

log "building aide"
swift build -c release --product aide 2>&1 | tail -1
log "done: .build/release/aide"
