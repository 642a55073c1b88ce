#!/usr/bin/env bash
# Offline demo, no API key needed:
#   1. a whole search on the house-prices task, answered from a hand-written answer file
#      (tasks/house-prices/demo-answers.jsonl: written for the demo, not a model's output),
#      with real Python execution, grading and SQLite;
#   2. llama.cpp's llama-server with SmolLM2-135M on loopback, asked through both wire formats.
set -euo pipefail
cd "$(dirname "$0")/.."
aide=.build/release/aide
[ -x "$aide" ] || swift build -c release --product aide

echo "== aide run: a scripted search over tasks/house-prices"
"$aide" run tasks/house-prices/task.yaml --scripted tasks/house-prices/demo-answers.jsonl \
  --steps 4 --set search.num_drafts=2 --set search.debug_prob=1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pid=$(bash scripts/llama-server.sh start "$port")
trap 'kill "$pid" 2>/dev/null || true' EXIT

echo "== aide query: OpenAI chat completions (compatible server)"
"$aide" query "Name one planet." --model compatible/smollm2 --base-url "http://127.0.0.1:$port/v1" --max-tokens 40
echo "== the same, streamed"
"$aide" query "Name one planet." --model compatible/smollm2 --base-url "http://127.0.0.1:$port/v1" --max-tokens 40 --stream
echo "== Anthropic Messages, streamed"
ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY=local \
  "$aide" query "Name one planet." --model anthropic/smollm2 --max-tokens 40 --stream
