#!/usr/bin/env bash
# End-to-end check of `aide bench --slurm` on a one-node Slurm cluster started on this machine
# (scripts/slurm-cluster.sh; needs root, installs slurm-wlm and munge with apt-get when missing).
#
#   scripts/check-slurm-bench.sh            # the bench: plan with --slurm, sbatch --wait, collect
#   scripts/check-slurm-bench.sh --smoke    # no `aide bench`: a 4-element array of plain `aide run`s
#   scripts/check-slurm-bench.sh --keep     # leave the cluster running and the work folder in place
#
# The bench: `aide bench tasks/wine tasks/diabetes --seeds 2 --steps 4 --set search.num_drafts=2
# --replay tasks/<task>/transcript.jsonl … --slurm` writes a 4-element job array (2 tasks x seeds 1,
# 2, answered from the shipped transcripts: no model), `sbatch --wait` runs it on the cluster and
# `aide bench collect` summarizes it. Fails, saying which check, unless every array element
# completed, summary.json has 4 finished cases, and junit.xml matches docs/junit.xsd (xmllint) with
# 4 test cases and no failure. The cluster is stopped on exit (unless --keep or it was already up).
# --smoke: 4 `aide run`s of wine from its hand-written answers, as a plain array.
# Uses AIDE (a built aide) or builds .build/release/aide. Prints the figures: cluster start, array.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

mode=bench
keep=0
while (($#)); do
    case "$1" in
        --smoke) mode=smoke; shift ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

source scripts/slurm-check-lib.sh
show_failure() {
    for f in "$work"/slurm-*.out "$work"/runs/bench-*/slurm/*.out; do
        [[ -f "$f" ]] && { echo "---- $f (last 20 lines)" >&2; tail -n 20 "$f" >&2; }
    done
    bash scripts/slurm-cluster.sh logs || true
}
check_begin slurm-check
find_aide release
[[ -x .venv/bin/python ]] || die ".venv/bin/python is missing: run scripts/setup.sh"
command -v xmllint >/dev/null || die "xmllint is missing: apt-get install libxml2-utils (scripts/setup.sh does)"
start_cluster

# Runs sbatch --wait on a script, prints the array's wall time, and checks every element completed.
submit_and_wait() {
    local script=$1 elements=$2 bench=${3:-} out job started
    say "sbatch --wait $script"
    started=$(date +%s.%N)
    local code=0
    out=$(sbatch --parsable --wait "$script") || code=$?
    job=${out%%;*}
    [[ $job =~ ^[0-9]+$ ]] || die "sbatch did not submit $script (exit $code): $out"
    array_seconds=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
    # sbatch --wait exits with the highest exit code of the elements; the jobcomp record has each.
    local records completed
    records=$(bash scripts/slurm-cluster.sh jobs | grep " ArrayJobId=$job " || true)
    completed=$(grep -c "JobState=COMPLETED .* ExitCode=0:0" <<<"$records" || true)
    if ((code != 0 || completed != elements)); then
        echo "job $job: sbatch --wait exited $code; $completed of $elements array elements completed with exit code 0:" >&2
        grep -oE "ArrayTaskId=[0-9]+|JobState=[A-Z_]+| ExitCode=[0-9]+:[0-9]+" <<<"$records" | paste -d' ' - - - >&2 || true
        if [[ -n $bench ]]; then # each failed case's reason, from the bench's index
            echo "aide bench collect says:" >&2
            "$aide" bench collect "$bench" --out "$work/failed-summary" 2>/dev/null | grep -E "^- |^[0-9]+ runs" >&2 || true
            local log
            for log in "$bench"/cases/*/output.log; do # each run's own account of why it failed
                [[ -f $log ]] && grep -E "^run .*: failed|^Error:" "$log" | sed "s|^|${log#"$bench"/cases/}: |" >&2 || true
            done
        fi
        die "the job array failed (each element's output is below)"
    fi
    # From submission to the last element's end, from the jobcomp record (whole seconds); sbatch
    # --wait returns up to 32 s later (its poll interval).
    array_span=$(bash scripts/slurm-cluster.sh jobs | grep " ArrayJobId=$job " | python3 -c '
import re, sys
from datetime import datetime
lines = sys.stdin.read().splitlines()
time = lambda key, line: datetime.fromisoformat(re.search(key + "=([0-9T:-]+)", line).group(1))
print(int((max(time("EndTime", l) for l in lines) - min(time("SubmitTime", l) for l in lines)).total_seconds()))')
    echo "job $job: $elements array elements completed; submit to last end ${array_span} s; sbatch --wait returned after ${array_seconds} s"
}

prepare_data() { # the task's data once, before the array elements would race to prepare it
    say "preparing the data of $1"
    "$aide" run "tasks/$1/task.yaml" --scripted "$2" --steps 1 --runs-dir "$work/prepare-runs" >"$work/prepare.log" 2>&1 \
        || { cat "$work/prepare.log" >&2; die "$1 did not run"; }
}

if [[ $mode == smoke ]]; then
    smoke_task=wine answers=tasks/wine/transcript-answers.jsonl # hand-written answers, seconds per run
    prepare_data "$smoke_task" "$answers"
    # A plain array, one `aide run` per element, each with its own seed: what a bench element does.
    cat >"$work/smoke.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=aide-smoke
#SBATCH --array=0-3
#SBATCH --output=$work/slurm-%a.out
#SBATCH --chdir=$repo
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --time=15
exec "$aide" run tasks/$smoke_task/task.yaml --scripted $answers --steps 4 \\
    --set search.num_drafts=2 --set search.debug_prob=1 --set search.seed="\$SLURM_ARRAY_TASK_ID" \\
    --runs-dir "$work/smoke-runs/\$SLURM_ARRAY_TASK_ID"
EOF
    submit_and_wait "$work/smoke.sbatch" 4
    for i in 0 1 2 3; do
        db=$(find "$work/smoke-runs/$i" -name run.sqlite | head -n 1)
        [[ -n "$db" ]] || die "element $i left no run.sqlite"
        row=$(python3 - "$db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
status, seed = db.execute("select status, seed from runs").fetchone()
nodes, good = db.execute("select count(*), count(*) - sum(is_buggy) from nodes").fetchone()
print(status, seed, nodes, good)
EOF
)
        read -r status seed nodes good <<<"$row"
        # A good node: its script ran in the venv (pandas, scikit-learn) under Slurm.
        [[ $status == finished && $seed == "$i" && $nodes == 4 && $good -ge 1 ]] \
            || die "element $i: run $db is $status, seed $seed, $nodes nodes, $good good (want finished, seed $i, 4 nodes, some good)"
    done
    echo "4 runs of $smoke_task finished, seeds 0-3, 4 nodes each, some good"
    echo "figures: cluster start ${cluster_seconds} s; 4-element array ${array_span} s (sbatch --wait ${array_seconds} s)"
    exit 0
fi

# --- the bench
tasks=(wine diabetes)
settings=(--steps 4 --set search.num_drafts=2) # as the transcripts were recorded
transcripts=()
for task in "${tasks[@]}"; do
    # Recorded for seeds 1-3 with the settings above (scripts/make-transcripts.sh).
    [[ -s tasks/$task/transcript.jsonl ]] || die "tasks/$task/transcript.jsonl is missing (scripts/make-transcripts.sh records it)"
    transcripts+=(--replay "tasks/$task/transcript.jsonl")
done

say "aide bench --slurm"
"$aide" bench "${tasks[@]/#/tasks/}" --name slurm-check --seeds 2 "${settings[@]}" "${transcripts[@]}" \
    --runs-dir "$work/runs" --slurm --cpus-per-task 1 --mem 2G --time 15 || die "aide bench --slurm failed"
bench="$work/runs/bench-slurm-check"
[[ -f "$bench/job.sbatch" ]] || die "aide bench --slurm wrote no $bench/job.sbatch"
grep -q -- "--array=0-3" "$bench/job.sbatch" || die "$bench/job.sbatch is not a 4-element array: $(grep array "$bench/job.sbatch")"

submit_and_wait "$bench/job.sbatch" 4 "$bench"

say "aide bench collect"
"$aide" bench collect "$bench" || die "aide bench collect exited $? (1: a run failed; see the summary above)"
for f in summary.md summary.json junit.xml; do [[ -s "$bench/$f" ]] || die "aide bench collect wrote no $bench/$f"; done
xmllint --noout --schema docs/junit.xsd "$bench/junit.xml" || die "$bench/junit.xml does not match docs/junit.xsd"
python3 - "$bench" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
bench = sys.argv[1]
root = ET.parse(f"{bench}/junit.xml").getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
cases = [case for suite in suites for case in suite.findall("testcase")]
bad = [case.get("name") for case in cases if case.find("failure") is not None or case.find("error") is not None]
failures = sum(int(suite.get("failures", 0)) + int(suite.get("errors", 0)) for suite in suites)
if len(cases) != 4 or bad or failures:
    sys.exit(f"error: junit.xml: {len(cases)} test cases (want 4), {failures} failures/errors: {bad}")
summary = json.load(open(f"{bench}/summary.json"))
statuses = [case.get("status") for case in summary.get("cases", [])]
if len(statuses) != 4 or any(status != "finished" for status in statuses):
    sys.exit(f"error: summary.json: case statuses {statuses}, want 4 x finished")
print("summary: 4 cases finished; junit: 4 test cases, 0 failures")
EOF
echo "figures: cluster start ${cluster_seconds} s; 4-element array ${array_span} s (sbatch --wait ${array_seconds} s)"
