#!/usr/bin/env bash
# Regenerates tasks/<task>/transcript.jsonl for the shipped tasks: the hand-written answers in
# tasks/<task>/transcript-answers.jsonl (NOT a model's output) recorded through the scripted backend,
# 4 steps for each of the seeds 1, 2 and 3, then replayed once per seed to check that the replay
# builds the recorded tree. Run it again whenever a prompt changes: a stale transcript misses.
#   bash scripts/make-transcripts.sh [task ...]      (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
aide=.build/debug/aide
swift build --product aide 2>&1 | grep -E "error|warning:" || true
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(breast-cancer diabetes wine house-prices bitcoin-price)
settings=(--steps 4 --set search.num_drafts=2)
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT

# The node table of a run, without what depends on the clock.
tree() {
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("select * from nodes order by step"):
    names = [d[0] for d in db.execute("select * from nodes limit 0").description]
    print({k: v for k, v in zip(names, row) if k not in ("run_id", "created_at", "finished_at", "exec_time")})
PY
}

for task in "${tasks[@]}"; do
  transcript=tasks/$task/transcript.jsonl
  cat > "$transcript" <<HEADER
# Written for the purpose: a transcript of hand-written answers (tasks/$task/transcript-answers.jsonl),
# NOT a model's output, recorded through the scripted backend by scripts/make-transcripts.sh
# (4 steps, search.num_drafts=2, seeds 1, 2 and 3). Replay a whole search offline, with no key:
#   aide run tasks/$task/task.yaml --replay $transcript ${settings[*]} --set search.seed=1
HEADER
  for seed in 1 2 3; do
    "$aide" run "tasks/$task/task.yaml" --scripted "tasks/$task/transcript-answers.jsonl" --record "$transcript" \
      "${settings[@]}" --set search.seed=$seed --runs-dir "$runs/record-$task-$seed" > /dev/null 2>&1
    "$aide" run "tasks/$task/task.yaml" --replay "$transcript" \
      "${settings[@]}" --set search.seed=$seed --runs-dir "$runs/replay-$task-$seed" > /dev/null 2>&1
    if ! cmp -s <(tree "$runs"/record-$task-$seed/*/run.sqlite) <(tree "$runs"/replay-$task-$seed/*/run.sqlite); then
      echo "$task seed $seed: the replay did not build the recorded tree" >&2
      diff <(tree "$runs"/record-$task-$seed/*/run.sqlite) <(tree "$runs"/replay-$task-$seed/*/run.sqlite) | head -20 >&2
      exit 1
    fi
    echo "$task seed $seed: $(tree "$runs"/record-$task-$seed/*/run.sqlite | wc -l) nodes recorded and replayed alike"
  done
  echo "$transcript: $(wc -c < "$transcript") bytes"
done
