#!/usr/bin/env bash
# Benchmark of large data (figures printed, nothing asserted; not run in CI): synthetic tasks of
# 10 MB, 100 MB, 1 GB and 5 GB (a train.csv of 41 columns, a test.csv, and a folder of up to 20,000
# small files), generated in a temporary folder and deleted after. For each size, one `aide run` of
# one step (scripted answers, a trivial script) prints:
#   - the time from starting `aide run` to its first LLM call (the first step's start, which is its
#     draft call: nothing comes between them),
#   - the disk used by the run folder (du, links not followed),
#   - aide's own peak RSS (the kernel's VmHWM) and its peak anonymous memory (RssAnon, sampled every 5 ms),
# and, side by side, aideml's data preview (aide/utils/data_preview.py of aideml 0.2.2 from PyPI,
# installed with --no-deps under ~/.cache/aide/aideml; pandas from .venv) on the same folder: its time
# and its process's peak RSS.
#   SIZES="10M 100M" bash scripts/bench-data.sh      # fewer sizes
#   AIDEML_UP_TO=1G                                   # aideml reads everything: skipped above this (default 5G)
#   SANDBOX=none DATA=copy                            # another exec.sandbox / exec.data (default: auto / auto)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="${SIZES:-10M 100M 1G 5G}"
AIDEML_UP_TO="${AIDEML_UP_TO:-5G}"
SANDBOX="${SANDBOX:-auto}"
DATA="${DATA:-auto}"
swift build -c release --product aide 2>&1 | grep -E "error|warning: .*Sources/" || true
aide="$PWD/.build/release/aide"
python="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && python="$PWD/.venv/bin/python"
aideml="$HOME/.cache/aide/aideml"
if [ ! -f "$aideml/aide/utils/data_preview.py" ]; then
  "$python" -m pip install -q --no-deps --target "$aideml" aideml==0.2.2 humanize genson \
    || echo "aideml could not be installed: its column is left empty"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/aide-bench-data.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
script='print("Validation metric: 0.5")'
"$python" - "$work/answers.jsonl" "$script" <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    out.write(json.dumps({"kind": "code", "text": "Plan.\n```python\n" + sys.argv[2] + "\n```"}) + "\n")
    out.write(json.dumps({"kind": "review", "arguments": {"is_bug": False, "summary": "ok", "metric": 0.5}}) + "\n")
PY

bytes() { numfmt --from=iec "$1"; }
printf '%-6s | %-10s | %-9s | %-10s | %-9s | %-10s | %-10s | %s\n' size files "1st call" "run folder" "aide RSS" "aide anon" "aideml" "aideml RSS"
printf '%s\n' "-------|------------|-----------|------------|-----------|------------|------------|-----------"
for size in $SIZES; do
  task="$work/task-$size"
  mkdir -p "$task/data"
  # 85% train.csv, 5% test.csv, 10% small files (at most 20,000, at least 4 kB each).
  "$python" - "$task/data" "$(bytes "$size")" <<'PY'
import os, random, sys
folder, total = sys.argv[1], int(sys.argv[2])
random.seed(1)
header = "id," + ",".join(f"f{i}" for i in range(39)) + ",target\n"
rows = [",".join(f"{random.random():.5f}" for _ in range(39)) + f",{random.randint(0, 1)}" for _ in range(2000)]
def write_csv(path, size, target=True):
    head = header if target else header.replace(",target", "")
    body = rows if target else [row.rsplit(",", 1)[0] for row in rows]
    with open(path, "w") as out:
        out.write(head)
        written, count = len(head), 0
        while written < size:
            chunk = "".join(f"{count + i},{row}\n" for i, row in enumerate(body))
            out.write(chunk)
            written += len(chunk)
            count += len(body)
write_csv(os.path.join(folder, "train.csv"), total * 85 // 100)
write_csv(os.path.join(folder, "test.csv"), total * 5 // 100, target=False)
files = max(1, min(20000, total // 10 // 4096))
each = total // 10 // files
os.makedirs(os.path.join(folder, "images"))
blob = os.urandom(each)
for i in range(files):
    with open(os.path.join(folder, "images", f"{i:05d}.png"), "wb") as out:
        out.write(blob)
PY
  cat > "$task/task.yaml" <<YAML
name: data-$size
goal: Predict target for every id in test.csv.
data: data
metric: {name: score, direction: maximize}
budget: {steps: 1, script_timeout: 60}
exec: {python: $python, sandbox: $SANDBOX, data: $DATA}
YAML
  sync
  files=$(find "$task/data" -type f | wc -l)
  runs="$work/runs-$size"
  "$python" - "$aide" "$task/task.yaml" "$work/answers.jsonl" "$runs" "$work/aide-$size.txt" <<'PY' > "$work/aide-$size.fig"
import os, sqlite3, subprocess, sys, time, datetime
aide, task, answers, runs, log = sys.argv[1:]
start = time.time()
process = subprocess.Popen([aide, "run", task, "--scripted", answers, "--runs-dir", runs],
                           stdout=open(log, "w"), stderr=subprocess.STDOUT)
hwm = anon = 0
def kib(field, text):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
while process.poll() is None:
    try:
        status = open(f"/proc/{process.pid}/status").read()
        hwm, anon = max(hwm, kib("VmHWM", status)), max(anon, kib("RssAnon", status))
    except OSError:
        pass
    time.sleep(0.005)
if process.returncode != 0:
    sys.exit(f"aide run failed ({process.returncode}): see {log}\n" + open(log).read()[-2000:])
folder = os.path.join(runs, next(n for n in os.listdir(runs) if not n.startswith(".")))
created = sqlite3.connect(os.path.join(folder, "run.sqlite")).execute(
    "select created_at from nodes order by step limit 1").fetchone()[0]
first = datetime.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() - start
du = subprocess.run(["du", "-sb", folder], capture_output=True, text=True).stdout.split()[0]
print(f"{first:.2f} {int(du)} {hwm} {anon}")
PY
  read -r first du hwm anon < "$work/aide-$size.fig"
  ml_time="-" ml_rss="-"
  if [ -f "$aideml/aide/utils/data_preview.py" ] && [ "$(bytes "$size")" -le "$(bytes "$AIDEML_UP_TO")" ]; then
    sync
    if figures=$(PYTHONPATH="$aideml" "$python" - "$aideml/aide/utils/data_preview.py" "$task/data" <<'PY'
import importlib.util, resource, sys, time
spec = importlib.util.spec_from_file_location("data_preview", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)  # imports pandas, humanize, genson: outside the timing
start = time.time()
module.generate(sys.argv[2])
print(f"{time.time() - start:.2f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
PY
    ); then read -r ml_time ml_rss <<< "$figures"; ml_time="${ml_time} s"; ml_rss="$((ml_rss / 1024)) MiB"; fi
  fi
  printf '%-6s | %-10s | %-9s | %-10s | %-9s | %-10s | %-10s | %s\n' "$size" "$files" "${first} s" \
    "$(numfmt --to=iec --suffix=B "$du")" "$((hwm / 1024)) MiB" "$((anon / 1024)) MiB" "$ml_time" "$ml_rss"
  grep -E "^data: " "$work/aide-$size.txt" | sed 's/^/         /' || true
  chmod -R u+w "$task" "$runs" 2>/dev/null || true
  rm -rf "$task" "$runs"
done
