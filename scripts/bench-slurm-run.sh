#!/usr/bin/env bash
# Benchmark (printed, not a test) of `exec.backend: slurm` on the one-node Slurm of
# scripts/slurm-cluster.sh (needs root). Answers are scripted: no model.
#
#   scripts/bench-slurm-run.sh [--steps N]     # default 12
#
# 1. Per-script overhead: the same N trivial scripts (1 worker) locally and as Slurm jobs; the
#    difference in wall time per step is what a job costs (sbatch, scheduling, the job's start,
#    noticing its end).
# 2. Nodes per minute with 1, 4 and 8 workers as Slurm jobs, at a fixed per-call delay (each code
#    answer takes 1 s) and scripts of 2 s. The one node has as many job slots as cores, so the
#    figures level off at the machine's cores: on a real cluster, at the slots the partition gives.
# Uses AIDE (a built aide) or .build/debug/aide.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=12
while (($#)); do
    case "$1" in
        --steps) steps=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1" >&2; exit 2 ;;
    esac
done
aide=${AIDE:-.build/debug/aide}
[[ -x $aide ]] || { echo "error: $aide is missing (swift build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/aide-slurm-bench.XXXXXX")
cluster_started=0
finish() { ((cluster_started)) && bash scripts/slurm-cluster.sh stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap finish EXIT
bash scripts/slurm-cluster.sh status >/dev/null 2>&1 || cluster_started=1
bash scripts/slurm-cluster.sh start 2>/dev/null
eval "$(bash scripts/slurm-cluster.sh env)"
python=$(/usr/bin/env python3 -c 'import sys; print(sys.executable)')
# q DB SQL: the rows, one a line, columns joined by | (Python's sqlite3: no sqlite3 CLI needed).
q() {
    python3 -c 'import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for row in db.execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in row))' "$1" "$2"
}

mkdir -p "$work/task/data"
printf 'x,y\n1,2\n' >"$work/task/data/train.csv"
cat >"$work/task/task.yaml" <<EOF
name: slurm-bench
goal: Predict y.
data: data
metric:
  name: score
  direction: maximize
exec:
  python: $python
search:
  num_drafts: 1000
EOF
answers() { # answers FILE STEPS SLEEP DELAY
    python3 - "$@" <<'PY'
import json, sys
file, steps, sleep, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
code = ("import os, time\ntime.sleep(%s)\nos.makedirs('working', exist_ok=True)\n"
        "open('working/submission.csv', 'w').write('x\\n1\\n')\nprint('Validation metric: 0.5')" % sleep)
with open(file, "w") as out:
    for _ in range(steps):
        answer = {"kind": "code", "text": f"Plan.\n```python\n{code}\n```"}
        if delay: answer["delay"] = delay
        out.write(json.dumps(answer) + "\n")
    for _ in range(steps):
        out.write(json.dumps({"kind": "review", "arguments": {"is_bug": False, "summary": "ok", "metric": 0.5}}) + "\n")
PY
}
# timed NAME ARGS...: runs aide, prints its wall seconds
timed() {
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    "$aide" run "$work/task/task.yaml" --runs-dir "$work/runs-$name" "$@" >"$work/$name.log" 2>&1 \
        || { tail -n 20 "$work/$name.log" >&2; echo "error: run $name failed" >&2; exit 1; }
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')"
}
slurm=(--set exec.backend=slurm --set exec.slurm.shared_filesystem=true --set exec.slurm.mem=500M)

echo "== 1. per-script overhead: $steps trivial scripts, 1 worker"
answers "$work/quick.jsonl" "$steps" 0 0
local_s=$(timed local --scripted "$work/quick.jsonl" --steps "$steps" --workers 1)
slurm_s=$(timed slurm --scripted "$work/quick.jsonl" --steps "$steps" --workers 1 "${slurm[@]}")
db=$(find "$work/runs-slurm" -name run.sqlite | head -n 1)
read -r wait exec <<<"$(q "$db" "select printf('%.2f %.2f', avg(queue_wait), avg(exec_time)) from nodes")"
python3 - "$steps" "$local_s" "$slurm_s" "$wait" "$exec" <<'PY'
import sys
steps, local, slurm, wait, run = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"local run {local:.1f} s, Slurm run {slurm:.1f} s ({slurm / local:.1f}x)")
print(f"per script: local {local / steps:.2f} s, as a job {slurm / steps:.2f} s: overhead {(slurm - local) / steps:.2f} s "
      f"(mean queue wait {wait:.2f} s, mean run in the job {run:.2f} s)")
PY

echo "== 2. nodes per minute as Slurm jobs: $steps steps, code answers 1 s, scripts 2 s"
answers "$work/delayed.jsonl" "$steps" 2 1
for workers in 1 4 8; do
    seconds=$(timed "w$workers" --scripted "$work/delayed.jsonl" --steps "$steps" --workers "$workers" "${slurm[@]}")
    python3 -c "print(f'workers $workers: $steps nodes in {$seconds:.1f} s = {$steps * 60 / $seconds:.1f} nodes/min')"
done
echo "(the node runs $(sinfo -h -o %c) jobs at once: one per core)"
