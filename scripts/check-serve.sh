#!/usr/bin/env bash
# `aide serve` in a real browser: starts the server on a fresh runs folder, starts a scripted search
# (tasks/house-prices, a quick script of its demo answers, with a delay before each) writing into it, and
# drives headless Chromium (scripts/check_serve.py, selenium + chromium-driver): the runs list shows
# the run, its page's tree grows as nodes are committed without a reload, the node the user opened
# stays open, and no JavaScript error is raised; then a bench of two one-step cases (the same script)
# starts, and its page shows the summary and cases and counts them done as they finish. Saves screenshots.
#
#   scripts/check-serve.sh [-o DIR]
#
# Needs Debian's chromium, chromium-driver and python3-selenium (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

out=""
while (($#)); do
    case "$1" in
        -o) out="${2:?-o needs a folder}"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1" >&2; exit 2 ;;
    esac
done
out="${out:-$(mktemp -d "${TMPDIR:-/tmp}/aide-serve-check.XXXXXX")}"
mkdir -p "$out/runs"

for need in chromium chromedriver; do
    command -v "$need" >/dev/null 2>&1 || { echo "error: $need is missing; run scripts/setup.sh" >&2; exit 2; }
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || { echo "error: python3-selenium is missing; run scripts/setup.sh" >&2; exit 2; }

aide="${AIDE_BIN:-}"   # an aide already built; otherwise the debug build
if [[ -z "$aide" ]]; then
    echo "== building aide"
    swift build --product aide 2>&1 | grep -E "error|warning:" >&2 || true
    aide="$PWD/.build/debug/aide"
fi
[[ -x "$aide" ]] || { echo "error: $aide was not built" >&2; exit 1; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Answers for the search: the demo's first (quick) script and its review, four times over, each code
# answer after a pause, so the nodes land one by one while the page is open.
/usr/bin/python3 - tasks/house-prices/demo-answers.jsonl "$out/answers.jsonl" "$out/bench-answers.jsonl" <<'PY'
import json, sys
answers = [json.loads(line) for line in open(sys.argv[1]) if line.strip() and not line.startswith("#")]
code = next(a for a in answers if a["kind"] == "code")
review = next(a for a in answers if a["kind"] == "review")
with open(sys.argv[2], "w") as target:
    for _ in range(4):
        target.write(json.dumps(dict(code, delay=3)) + "\n")
        target.write(json.dumps(review) + "\n")
# Each bench case reads the answers afresh: one step, after a pause long enough to see it running.
with open(sys.argv[3], "w") as target:
    target.write(json.dumps(dict(code, delay=4)) + "\n")
    target.write(json.dumps(review) + "\n")
PY

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$aide" serve "$out/runs" --port "$port" >"$out/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "http://" "$out/serve.log" && break; sleep 0.1; done
grep -q "http://" "$out/serve.log" || { echo "FAIL: aide serve did not start; see $out/serve.log" >&2; cat "$out/serve.log" >&2; exit 1; }
echo "== $(head -1 "$out/serve.log")"

"$aide" run tasks/house-prices/task.yaml --scripted "$out/answers.jsonl" --runs-dir "$out/runs" \
    --steps 4 --set search.num_drafts=1 >"$out/run.log" 2>&1 &
run_pid=$!
pids+=("$run_pid")

status=0
/usr/bin/python3 scripts/check_serve.py --url "http://127.0.0.1:$port/" --out "$out" --nodes 4 \
    --bench "$aide bench tasks/house-prices/task.yaml --seeds 2 --steps 1 --jobs 1 --name check \
        --scripted $out/bench-answers.jsonl --runs-dir $out/runs --set search.num_drafts=1" || status=$?
wait "$run_pid" || { echo "FAIL: the scripted run failed; see $out/run.log" >&2; tail -5 "$out/run.log" >&2; status=1; }
exit "$status"
