#!/usr/bin/env bash
# CI's bench: a small `aide bench` over the shipped tasks (4 tasks × 1 seed, 4 steps, 2 runs at a
# time), then checks its junit.xml against docs/junit.xsd and that no run failed or went without a
# valid submission. Appends summary.md to $GITHUB_STEP_SUMMARY when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
aide=.build/release/aide
[ -x "$aide" ] || swift build -c release --product aide 2>&1 | tail -1
command -v xmllint >/dev/null || { echo "[ci-bench] needs xmllint (apt-get install libxml2-utils; scripts/setup.sh does)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# TODO(replay): once `aide run --replay` is on main, answer from the recorded transcripts instead:
#   --replay tasks/<task>/transcript.jsonl for each task, --seeds 2 (recorded for seeds 1-3 with --steps 4).
echo "[ci-bench] aide bench over tasks/*/task.yaml with scripts/bench-answers.jsonl"
"$aide" bench tasks/*/task.yaml --seeds 1 --steps 4 --jobs 2 --scripted scripts/bench-answers.jsonl \
  --runs-dir "$work" --name ci --out "$work/report"
junit="$work/report/junit.xml"
xmllint --noout --schema docs/junit.xsd "$junit"
tests=$(xmllint --xpath 'string(/testsuites/@tests)' "$junit")
failures=$(xmllint --xpath 'string(/testsuites/@failures)' "$junit")
skipped=$(xmllint --xpath 'string(/testsuites/@skipped)' "$junit")
[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$work/report/summary.md" >> "$GITHUB_STEP_SUMMARY"
echo "[ci-bench] junit.xml is schema-valid: $tests test cases, $failures failures, $skipped skipped"
if [ "$tests" -lt 4 ] || [ "$failures" != 0 ] || [ "$skipped" != 0 ]; then
  echo "[ci-bench] expected 4 passing test cases"
  exit 1
fi
