#!/usr/bin/env bash
# Benchmark of `aide bench` (figures printed, nothing asserted): a bench of 3 tasks × 3 seeds replayed
# from the shipped transcripts (4 steps, search.num_drafts=2 as recorded; real sklearn scripts, no
# model), --jobs 1 against --jobs 2, REPS times each (default 2); prints the wall times, their ratio
# and the machine's load. Uses hyperfine when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-2}"
swift build -c release --product aide 2>&1 | grep -E "error|warning" || true
aide="$PWD/.build/release/aide"
tasks=(tasks/breast-cancer/task.yaml tasks/diabetes/task.yaml tasks/wine/task.yaml)
answers=(--replay tasks/breast-cancer/transcript.jsonl --replay tasks/diabetes/transcript.jsonl
  --replay tasks/wine/transcript.jsonl --set search.num_drafts=2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Prepare the tasks' data once, outside the timings.
"$aide" bench "${tasks[@]}" --seeds 1 --steps 1 "${answers[@]}" --runs-dir "$work/warm" --name warm >/dev/null 2>&1 || true

bench() {  # jobs, run number
  "$aide" bench "${tasks[@]}" --seeds 3 --steps 4 --jobs "$1" "${answers[@]}" --runs-dir "$work/j$1-$2" --name b \
    > "$work/j$1-$2.log" 2>&1 || { tail -20 "$work/j$1-$2.log"; exit 1; }
}

echo "aide bench: 3 tasks × 3 seeds, 4 steps per run, replayed transcripts; $(nproc) cores, load average$(uptime | sed 's/.*load average//')"
if command -v hyperfine >/dev/null; then
  command_for() { echo "$aide bench ${tasks[*]} --seeds 3 --steps 4 --jobs $1 ${answers[*]} --runs-dir $work/j$1 --name b"; }
  hyperfine --runs "$REPS" --export-json "$work/h.json" --style basic \
    --prepare "rm -rf $work/j1" -n "jobs 1" "$(command_for 1)" \
    --prepare "rm -rf $work/j2" -n "jobs 2" "$(command_for 2)"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(f'  wall time ratio --jobs 1 / --jobs 2: {r[0][\"mean\"]/r[1][\"mean\"]:.2f}x')" "$work/h.json"
  echo "  load average after$(uptime | sed 's/.*load average//')"
  exit 0
fi
declare -A total
for jobs in 1 2; do
  times=()
  for rep in $(seq "$REPS"); do
    start=$(date +%s.%N)
    bench "$jobs" "$rep"
    end=$(date +%s.%N)
    times+=("$(python3 -c "print(f'{$end - $start:.1f}')")")
  done
  total[$jobs]=$(python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(sum(v)/len(v))" "${times[@]}")
  echo "  --jobs $jobs: ${times[*]} s (mean $(python3 -c "print(f'{${total[$jobs]}:.1f}')") s)"
done
python3 -c "print(f'  wall time ratio --jobs 1 / --jobs 2: {${total[1]}/${total[2]}:.2f}x')"
echo "  load average after$(uptime | sed 's/.*load average//')"
