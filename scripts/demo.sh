#!/usr/bin/env bash
# Offline demo: starts llama-server with SmolLM2-135M on loopback and asks it through both wire
# formats, whole and streamed. No API key needed.
set -euo pipefail
cd "$(dirname "$0")/.."
aide=.build/release/aide
[ -x "$aide" ] || swift build -c release --product aide

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pid=$(bash scripts/llama-server.sh start "$port")
trap 'kill "$pid" 2>/dev/null || true' EXIT

echo "== OpenAI chat completions (compatible server)"
"$aide" query "Name one planet." --model compatible/smollm2 --base-url "http://127.0.0.1:$port/v1" --max-tokens 40
echo "== the same, streamed"
"$aide" query "Name one planet." --model compatible/smollm2 --base-url "http://127.0.0.1:$port/v1" --max-tokens 40 --stream
echo "== Anthropic Messages, streamed"
ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY=local \
  "$aide" query "Name one planet." --model anthropic/smollm2 --max-tokens 40 --stream
