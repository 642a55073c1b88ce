#!/usr/bin/env bash
# Benchmark of `aide run` (figures printed, nothing asserted):
#   - harness overhead per node: a scripted backend with zero latency and a trivial script, against
#     the bare cost of the Python processes each node needs (syntax check + the script);
#   - peak RSS of `aide run` over 200 steps.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-200}"
swift build -c release --product aide 2>&1 | grep -E "error|warning" || true
aide="$PWD/.build/release/aide"
python="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && python="$PWD/.venv/bin/python"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/task/data"
printf 'id,x\n1,0.5\n2,1.5\n' > "$work/task/data/test.csv"
cat > "$work/task/task.yaml" <<YAML
name: bench
goal: Write a submission.
data: data
metric: {name: score, direction: maximize}
budget: {steps: $STEPS, script_timeout: 60}
search: {num_drafts: 5, debug_prob: 0.5}
exec: {python: $python}
YAML
script='print("Validation metric: 0.5")
open("./working/submission.csv", "w").write("id,y\n1,1\n2,2\n")'
"$python" - "$work/answers.jsonl" "$STEPS" "$script" <<'PY'
import json, sys
path, steps, script = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as out:
    for _ in range(steps):
        out.write(json.dumps({"kind": "code", "text": "Plan.\n```python\n" + script + "\n```"}) + "\n")
        out.write(json.dumps({"kind": "review", "arguments": {"is_bug": False, "summary": "ok", "metric": 0.5}}) + "\n")
PY

echo "aide run: $STEPS steps, scripted backend (zero latency), trivial script, python $python"
/usr/bin/time -v -o "$work/time.txt" "$aide" run "$work/task/task.yaml" --scripted "$work/answers.jsonl" \
  --runs-dir "$work/runs" > "$work/out.txt" 2>&1 || { tail -20 "$work/out.txt"; exit 1; }
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
seconds=$("$python" -c "import sys; p=sys.argv[1].split(':'); print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))" "$wall")

# The same Python work without the harness: per node one syntax check and one script run.
mkdir -p "$work/bare/working" && printf '%s\n' "$script" > "$work/bare/runfile.py"
start=$(date +%s.%N)
for _ in $(seq "$STEPS"); do
  "$python" -c "import sys; compile(sys.stdin.read(), 'runfile.py', 'exec')" < "$work/bare/runfile.py"
  (cd "$work/bare" && "$python" runfile.py > /dev/null)
done
end=$(date +%s.%N)
"$python" - "$seconds" "$start" "$end" "$STEPS" "$rss" <<'PY'
import sys
total, start, end, steps, rss = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bare = end - start
print(f"  aide run: {total:.2f} s for {steps} nodes = {1000*total/steps:.1f} ms per node")
print(f"  the same python processes alone: {1000*bare/steps:.1f} ms per node")
print(f"  harness overhead: {1000*(total-bare)/steps:.1f} ms per node ({total/bare:.2f}x the bare python work)")
print(f"  peak RSS of aide run: {rss/1024:.1f} MiB")
PY
