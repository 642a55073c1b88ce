#!/usr/bin/env bash
# End-to-end check of `exec.backend: slurm` (each solution script one Slurm job) on a one-node Slurm
# started on this machine (scripts/slurm-cluster.sh; needs root). Answers are scripted: no model.
#
#   scripts/check-slurm-run.sh          # all checks (~3 min)
#   scripts/check-slurm-run.sh --keep   # leave the cluster running and the work folder in place
#
# 1. tree:     a 6-step search with 3 workers (3 drafts, a debug, two improves), scripts as jobs,
#              gives the same tree (step, stage, parent, buggy, metric, exit code, code) as the
#              local run of the same answers, keyed by step; every node has its job id, node name
#              and queue wait.
# 2. limits:   a script over the job's memory (exec.slurm.mem) and one over its time limit
#              (exec.slurm.time): each a buggy node whose reason is Slurm's (OUT_OF_MEMORY, TIMEOUT);
#              one that writes past exec.max_disk_mb: stopped on its node, a buggy node with the
#              local reason, its files removed.
# 3. ctrl-c:   Ctrl-C twice with 3 jobs in flight: squeue shows none of the run's jobs, the nodes
#              committed before are intact, the run is interrupted.
# 4. kill -9:  kill -9 with 3 jobs in flight; two finish while aide is dead, the third still runs;
#              then --resume takes all three over (each node with its job id and its first code, no
#              code asked for again), the run finishes, squeue shows none of its jobs, earlier nodes intact.
# Uses AIDE (a built aide) or .build/debug/aide (building it when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
while (($#)); do
    case "$1" in
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

source scripts/slurm-check-lib.sh
show_failure() {
    for f in "$work"/*.log; do [[ -f "$f" ]] && { echo "---- $f (last 15 lines)" >&2; tail -n 15 "$f" >&2; }; done
}
check_begin slurm-run
find_aide debug
python=$(/usr/bin/env python3 -c 'import sys; print(sys.executable)')
start_cluster

# --- a small task and its scripted answers
task="$work/task"
mkdir -p "$task/data"
printf 'x,y\n1,2\n2,4\n3,6\n' >"$task/data/train.csv"
cat >"$task/task.yaml" <<EOF
name: slurm-check
goal: Predict y from x.
data: data
metric:
  name: score
  direction: maximize
budget:
  script_timeout: 10m
exec:
  python: $python
search:
  workers: 3
  num_drafts: 100
EOF
# answers FILE SCRIPT...: one code answer per script (a plan line and the code) and as many
# reviews, all alike, so which review a node gets does not depend on which job ends first.
answers() {
    local file=$1; shift
    python3 - "$file" "$@" <<'PY'
import json, sys
out = open(sys.argv[1], "w")
for i, code in enumerate(sys.argv[2:]):
    out.write(json.dumps({"kind": "code", "text": f"Attempt {i}.\n```python\n{code}\n```"}) + "\n")
for _ in sys.argv[2:]:
    out.write(json.dumps({"kind": "review", "arguments": {"is_bug": False, "summary": "Ran.", "metric": None}}) + "\n")
PY
}
good() { # a script that reads the data, writes a submission and prints metric $1, after $2 seconds
    printf 'import os, time\ntime.sleep(%s)\nrows = open("input/train.csv").read().splitlines()\nos.makedirs("working", exist_ok=True)\nopen("working/submission.csv", "w").write("\\n".join(rows))\nprint("Validation metric: %s")' "${2:-0}" "$1"
}
# keyed FILE STEP[@DELAY]:SCRIPT...: each step's own code answer (answering after DELAY seconds) and
# review ("step" keys): which answer a call gets does not depend on the order the workers' calls come in.
keyed() {
    local file=$1; shift
    python3 - "$file" "$@" <<'PY'
import json, sys
out = open(sys.argv[1], "w")
for spec in sys.argv[2:]:
    key, code = spec.split(":", 1)
    step, _, delay = key.partition("@")
    out.write(json.dumps({"kind": "code", "step": int(step), "delay": float(delay or 0),
                          "text": f"Step {step}.\n```python\n{code}\n```"}) + "\n")
    out.write(json.dumps({"kind": "review", "step": int(step),
                          "arguments": {"is_bug": False, "summary": f"Step {step} ran.", "metric": None}}) + "\n")
PY
}
bad() { printf 'import time\ntime.sleep(%s)\nraise ValueError("no model")' "${1:-0}"; }
# The tree: 3 drafts, then (debug_prob 1) a debug of the buggy draft, an improve of the best, an
# improve of the debugged one. With 3 workers, each step after the drafts is chosen when a node
# commits, from the nodes committed by then. The answers' delays fix which scripts take the first
# slots (0 first; 1 and 2 a second later; 3 three seconds after it is chosen, once 1 and 2 hold
# the slots when there are 2), and the scripts' lengths the order they end in (0 at once, 1 after
# 4 s, 3 after 9 s, 2 and 4 last), with 2 or more script slots, locally or on Slurm:
# 0 commits -> 3 = debug(0); 1 -> 4 = improve(1); 3 -> 5 = improve(3).
keyed "$work/tree.jsonl" "0:$(bad)" "1@1:$(good 0.60 4)" "2@1:$(good 0.70 22)" "3@3:$(good 0.65 9)" \
    "4:$(bad 12)" "5:$(good 0.80)"
expected_tree='0 draft - 1 None 1
1 draft - 0 0.6 0
2 draft - 0 0.7 0
3 debug 0 0 0.65 0
4 improve 1 1 None 1
5 improve 3 0 0.8 0'

# tree DB: one line per node, by step: stage, parent's step, buggy, metric, exit code, the md5 of its code.
tree() {
    python3 - "$1" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for row in db.execute("""select n.step, n.stage, coalesce(p.step, '-'), n.is_buggy, n.metric, n.exit_code, n.code
                         from nodes n left join nodes p on p.id = n.parent_id order by n.step"""):
    print(*row[:-1], hashlib.md5(row[-1].encode()).hexdigest())
PY
}
run_db() { find "$1" -name run.sqlite 2>/dev/null | head -n 1 || true; }
run_jobs() { # the run's jobs in the queue (any state squeue shows)
    squeue -h --me -o "%i %j %T" | grep " aide-$1-s[0-9]* " || true
}

# --- 1. the same tree
say "1. a 6-step search with 3 workers (drafts, a debug, two improves), locally and as Slurm jobs"
tree_runs=(--scripted "$work/tree.jsonl" --steps 6 --set search.num_drafts=3 --set search.debug_prob=1)
"$aide" run "$task/task.yaml" "${tree_runs[@]}" --runs-dir "$work/local" >"$work/local.log" 2>&1 &
local_run=$!
started=$(date +%s.%N)
"$aide" run "$task/task.yaml" "${tree_runs[@]}" --runs-dir "$work/slurm" \
    --set exec.backend=slurm --set exec.slurm.shared_filesystem=true --set exec.slurm.mem=1G >"$work/slurm.log" 2>&1 \
    || die "the Slurm run failed"
slurm_seconds=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
wait "$local_run" || die "the local run failed"
local_tree=$(tree "$(run_db "$work/local")")
slurm_tree=$(tree "$(run_db "$work/slurm")")
[[ "$local_tree" == "$slurm_tree" ]] || die "the trees differ:
local:
$local_tree
slurm:
$slurm_tree"
[[ "$(cut -d' ' -f1-6 <<<"$slurm_tree")" == "$expected_tree" ]] || die "not the tree the scripts' lengths make:
$slurm_tree
expected (step stage parent buggy metric exit):
$expected_tree"
placed=$(q "$(run_db "$work/slurm")" "select count(*) from nodes where slurm_job_id is not null and slurm_node is not null and queue_wait >= 0 and slurm_state is not null")
[[ $placed == 6 ]] || die "$placed of 6 nodes have a job id, node and queue wait"
echo "same tree (6 nodes: 3 drafts, a debug, 2 improves; 2 buggy; same parents and codes), every node with its job; Slurm run ${slurm_seconds} s"
sed 's/^/  /' <<<"$slurm_tree"

# --- 2. memory, time and disk limits
say "2. a script over the job's memory, one over its time limit, one over exec.max_disk_mb"
hog='import time
x = bytearray(1500 * 1024 * 1024)
for i in range(0, len(x), 4096): x[i] = 1
time.sleep(60)'
writer='import time
for i in range(200):
    open(f"working/part{i}.bin", "wb").write(b"x" * (1 << 20))
    time.sleep(0.02)
time.sleep(60)'
keyed "$work/limits.jsonl" "0:$hog" '1:import time; time.sleep(600)' "2:import os; os.makedirs('working', exist_ok=True)
$writer"
"$aide" run "$task/task.yaml" --scripted "$work/limits.jsonl" --steps 3 --runs-dir "$work/limits" \
    --set exec.backend=slurm --set exec.slurm.shared_filesystem=true --set exec.slurm.mem=300M \
    --set exec.slurm.time=60 --set exec.max_disk_mb=20 >"$work/limits.log" 2>&1 || die "the limits run failed"
db=$(run_db "$work/limits")
memory=$(q "$db" "select is_buggy, slurm_state, bug_reasons from nodes where step = 0")
time_limit=$(q "$db" "select is_buggy, slurm_state, bug_reasons from nodes where step = 1")
disk=$(q "$db" "select is_buggy, slurm_state, bug_reasons from nodes where step = 2")
[[ $memory == 1\|OUT_OF_MEMORY\|*"ran out of memory: OUT_OF_MEMORY"* ]] || die "the memory hog's node: $memory"
[[ $time_limit == 1\|TIMEOUT\|*"reached its time limit: TIMEOUT"* ]] || die "the sleeper's node: $time_limit"
[[ $disk == 1\|*\|*"stopped: wrote more than 20 MB to its folder (exec.max_disk_mb)"* ]] || die "the writer's node: $disk"
left=$(find "$(dirname "$db")"/nodes/0002-* -name 'part*.bin' | wc -l)
((left == 0)) || die "the writer's $left files are still in its folder"
echo "memory: $memory"
echo "time:   $time_limit"
echo "disk:   $disk (its files removed)"

# slow_run NAME SECONDS: starts a run of 8 steps whose first 3 scripts end at once and the rest sleep
# SECONDS; returns once 3 nodes are committed and 3 jobs of the run are in flight (running, or
# pending: the node has 2 job slots). Sets run_dir, run_id, background.
slow_run() {
    local name=$1 seconds=$2
    answers "$work/$name.jsonl" "$(good 0.1)" "$(good 0.2)" "$(good 0.3)" "$(good 0.4 "$seconds")" \
        "$(good 0.5 "$seconds")" "$(good 0.6 "$seconds")" "$(good 0.7 "$seconds")" "$(good 0.8 "$seconds")"
    "$aide" run "$task/task.yaml" --scripted "$work/$name.jsonl" --steps 8 --runs-dir "$work/$name" \
        --set exec.backend=slurm --set exec.slurm.shared_filesystem=true --set exec.slurm.mem=500M \
        >"$work/$name.log" 2>&1 &
    background=$!
    local i
    for i in $(seq 240); do
        db=$(run_db "$work/$name")
        if [[ -n $db ]]; then
            run_dir=$(dirname "$db")
            run_id=$(basename "$run_dir")
            local nodes queued
            nodes=$(q "$db" "select count(*) from nodes" 2>/dev/null || echo 0)
            queued=$(run_jobs "$run_id" | grep -c " RUNNING\| PENDING" || true)
            ((nodes >= 3 && queued == 3)) && return 0
        fi
        kill -0 "$background" 2>/dev/null || die "the $name run ended early"
        sleep 0.5
    done
    die "the $name run did not reach 3 nodes and 3 jobs in flight in 120 s"
}
snapshot() { q "$1" "select id, step, exit_code, length(output), is_buggy, metric, slurm_job_id from nodes where step < 3 order by step"; }
gone() { # waits up to 30 s until squeue shows none of run $1's jobs
    local i
    for i in $(seq 60); do [[ -z "$(run_jobs "$1")" ]] && return 0; sleep 0.5; done
    die "squeue still shows jobs of run $1: $(run_jobs "$1")"
}

# --- 3. Ctrl-C
say "3. Ctrl-C twice with 3 jobs in flight"
slow_run interrupt 300
before=$(snapshot "$db")
kill -INT "$background"
sleep 1
kill -INT "$background"
wait "$background" || true
background=""
gone "$run_id"
[[ "$(snapshot "$db")" == "$before" ]] || die "committed nodes changed after Ctrl-C"
status=$(q "$db" "select status from runs")
[[ $status == interrupted ]] || die "run is $status after Ctrl-C, not interrupted"
[[ $(q "$db" "pragma integrity_check") == ok ]] || die "run.sqlite is damaged"
echo "squeue shows none of run $run_id's jobs; 3 committed nodes intact; run interrupted"

# --- 4. kill -9 and resume
say "4. kill -9 with 3 jobs in flight, two end while aide is dead, then --resume takes them over"
slow_run killed 15
before=$(snapshot "$db")
kill -9 "$background"
wait "$background" 2>/dev/null || true
background=""
left=$(run_jobs "$run_id" | awk '{print $1}' | sort)
(($(wc -l <<<"$left") == 3)) || die "after kill -9, $(wc -l <<<"$left") jobs of the run are queued, 3 expected"
ended() { # how many of the left jobs wrote their end to their status file
    local id n=0
    for id in $left; do grep -qs '^exit' "$run_dir"/slurm/*-"$id".status && n=$((n + 1)); done
    echo "$n"
}
for i in $(seq 120); do (($(ended) >= 2)) && break; sleep 0.5; done
(($(ended) >= 2)) || die "two of the jobs left by kill -9 did not end within 60 s"
ended_while_dead=$(ended)
# The resumed run asks only for the reviews of the 3 steps it takes over, then 2 new steps (code + review).
answers "$work/resume.jsonl" "$(good 0.91)" "$(good 0.92)"
python3 -c 'import json
for _ in range(3): print(json.dumps({"kind": "review", "arguments": {"is_bug": False, "summary": "Ran.", "metric": None}}))' \
    >>"$work/resume.jsonl"
"$aide" run --resume "$run_dir" --scripted "$work/resume.jsonl" --steps 8 >"$work/resume.log" 2>&1 \
    || die "the resumed run failed"
for id in $left; do
    grep -q "taking over job $id " "$work/resume.log" || die "the resumed run did not take over job $id"
done
grep -q "cancelled .* job(s)" "$work/resume.log" && die "the resumed run cancelled jobs it should have taken over"
gone "$run_id"
[[ "$(snapshot "$db")" == "$before" ]] || die "committed nodes changed after kill -9 and resume"
adopted=$(q "$db" "select slurm_job_id from nodes where step between 3 and 5 order by slurm_job_id" | sort)
[[ "$adopted" == "$left" ]] || die "steps 3-5 have jobs $(echo $adopted), not the ones kill -9 left: $(echo $left)"
first_code=$(q "$db" "select count(*) from nodes where step between 3 and 5 and code like '%time.sleep(15)%' and is_buggy = 0")
((first_code == 3)) || die "$first_code of the 3 taken-over nodes have the code the killed aide had"
code_calls=$(q "$db" "select count(*) from llm_calls where purpose != 'review'")
pending=$(q "$db" "select count(*) from pending_steps")
nodes=$(q "$db" "select count(*) from nodes")
status=$(q "$db" "select status from runs")
((nodes == 8)) && [[ $status == finished ]] || die "resumed run: $nodes nodes, $status (want 8, finished)"
((code_calls == 8 && pending == 0)) || die "$code_calls code calls for 8 nodes, $pending steps still pending"
echo "jobs $(echo $left) taken over on resume ($ended_while_dead ended while aide was dead); squeue shows none of run $run_id's jobs; 8 nodes, 8 code calls, earlier 3 intact"
echo "figures: 6-step Slurm run with 3 workers ${slurm_seconds} s"
