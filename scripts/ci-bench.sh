#!/usr/bin/env bash
# CI's bench: a small `aide bench` over the shipped tasks replayed from their transcripts (4 tasks ×
# 2 seeds, 4 steps, search.num_drafts=2 as recorded, 2 runs at a time; no model, no key), then checks
# its junit.xml against docs/junit.xsd and that every run finished with a valid submission. A run that
# fails (a replay miss after a prompt change: rerun scripts/make-transcripts.sh) has its output.log
# shown. Appends summary.md to $GITHUB_STEP_SUMMARY when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
aide=.build/release/aide
[ -x "$aide" ] || swift build -c release --product aide 2>&1 | tail -1
command -v xmllint >/dev/null || { echo "[ci-bench] needs xmllint (apt-get install libxml2-utils; scripts/setup.sh does)"; exit 1; }

tasks=(breast-cancer diabetes wine house-prices)
seeds=2
expected=$(( ${#tasks[@]} * seeds ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=()
for task in "${tasks[@]}"; do args+=("tasks/$task/task.yaml" --replay "tasks/$task/transcript.jsonl"); done

echo "[ci-bench] aide bench: ${tasks[*]} × $seeds seeds, replayed from tasks/<task>/transcript.jsonl"
start=$(date +%s)
status=0
"$aide" bench "${args[@]}" --seeds "$seeds" --steps 4 --set search.num_drafts=2 --jobs 2 \
  --runs-dir "$work" --name ci --out "$work/report" > "$work/bench.log" 2>&1 || status=$?
echo "[ci-bench] aide bench exited with status $status after $(( $(date +%s) - start )) s"

# The cases that did not finish with a valid submission (all of them when there is no summary):
# show what each printed.
summary="$work/report/summary.json"
if [ -s "$summary" ]; then
  bad=$(python3 -c "import json,sys
for c in json.load(open(sys.argv[1]))['cases']:
    if c['status'] != 'finished' or not c['valid_submission']: print(f\"{c['task']}-seed{c['seed']}\")" "$summary")
else
  bad=$(ls "$work/bench-ci/cases" 2>/dev/null || true)
fi
for name in $bad; do
  echo "[ci-bench] ---- $name: not finished with a valid submission; its output.log ----"
  tail -40 "$work/bench-ci/cases/$name/output.log" 2>/dev/null || echo "(no output.log)"
done
if [ "$status" != 0 ] || [ ! -s "$summary" ] || [ -n "$bad" ]; then
  echo "[ci-bench] ---- aide bench's output ----"
  tail -40 "$work/bench.log"
  echo "[ci-bench] FAILED: aide bench exited with status $status${bad:+; cases without a valid submission: $(echo $bad)}"
  exit 1
fi
cat "$work/bench.log"

junit="$work/report/junit.xml"
xmllint --noout --schema docs/junit.xsd "$junit"
tests=$(xmllint --xpath 'string(/testsuites/@tests)' "$junit")
failures=$(xmllint --xpath 'string(/testsuites/@failures)' "$junit")
skipped=$(xmllint --xpath 'string(/testsuites/@skipped)' "$junit")
valid=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals']['valid_submissions'])" "$work/report/summary.json")
[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$work/report/summary.md" >> "$GITHUB_STEP_SUMMARY"
echo "[ci-bench] junit.xml is schema-valid: $tests test cases, $failures failures, $skipped skipped; $valid valid submissions"
if [ "$tests" != "$expected" ] || [ "$failures" != 0 ] || [ "$skipped" != 0 ] || [ "$valid" != "$expected" ]; then
  echo "[ci-bench] FAILED: expected $expected test cases, each finished with a valid submission"
  exit 1
fi
