#!/usr/bin/env bash
# aide as an MLE-bench agent. mle-bench runs, inside the competition's container and as user nonroot,
#     bash $AGENT_DIR/start.sh key=value ... [--flag value ...]
# (config.yaml's kwargs, kwargs_type omegaconf). This script turns the container's competition into
# a task (`aide init`), searches (`aide run`), and leaves what mle-bench collects:
#     $SUBMISSION_DIR/submission.csv   the best node's submission (none when no node made a valid one)
#     $LOGS_DIR/                       task.yaml (what aide init wrote and aide run ran), aide.log, start.log,
#                                      run.sqlite, report.html, report.md,
#                                      journal.json (aideml's format)
#     $CODE_DIR/                       best_solution.py, the script that wrote the submission
#
# Arguments: key=value settings first, each a task.yaml override (`aide run --set key=value`, e.g.
# agent.code_model=claude-sonnet-4-5 or metric.direction=maximize); then any flags of `aide run`,
# passed as they are (--workers 2, --replay calls.jsonl, ...).
#
# Everything comes from the environment; the defaults are the container's (agents/.shared_env):
#     DATA_DIR=/home/data  SUBMISSION_DIR=/home/submission  LOGS_DIR=/home/logs  CODE_DIR=/home/code
#     AGENT_DIR=/home/agent  (the run's folder goes in $AGENT_DIR/runs)
#     TIME_LIMIT_SECS  the wall-time budget: aide stops starting steps a margin before it, and is
#                      stopped (SIGTERM: scripts killed, run marked interrupted) just before it
#     STEP_LIMIT       the step budget (budget.steps)
#     COMPETITION_ID   the task's name (mle-bench sets it)
#     AIDE             the aide binary (default: aide on PATH)
#     AIDE_PYTHON      the Python scripts run with (default: the image's conda env "agent", else python3)

DATA_DIR=${DATA_DIR:-/home/data}
SUBMISSION_DIR=${SUBMISSION_DIR:-/home/submission}
LOGS_DIR=${LOGS_DIR:-/home/logs}
CODE_DIR=${CODE_DIR:-/home/code}
AGENT_DIR=${AGENT_DIR:-/home/agent}
AIDE=${AIDE:-aide}
if [ -z "${AIDE_PYTHON:-}" ]; then
  if [ -x /opt/conda/envs/agent/bin/python ]; then AIDE_PYTHON=/opt/conda/envs/agent/bin/python; else AIDE_PYTHON=python3; fi
fi

mkdir -p "$SUBMISSION_DIR" "$LOGS_DIR" "$CODE_DIR" "$AGENT_DIR" || exit 1
log() { echo "start.sh: $*" | tee -a "$LOGS_DIR/start.log" >&2; }

# key=value settings, then flags (as `aide data_dir=… agent.steps=…` takes them).
sets=()
flags=()
for arg in "$@"; do
  if [ ${#flags[@]} -eq 0 ] && [[ "$arg" != -* ]]; then
    if [[ "$arg" != *=* ]]; then log "\"$arg\": expected key=value (a task.yaml key) before any --flag"; exit 2; fi
    sets+=(--set "$arg")
  else
    flags+=("$arg")
  fi
done

limits=()
stopper=()
if [ -n "${STEP_LIMIT:-}" ]; then limits+=(--steps "$STEP_LIMIT"); fi
if [ -n "${TIME_LIMIT_SECS:-}" ]; then
  # A twentieth of the limit (15 s to 10 min) to stop cleanly, and as much again to copy the results.
  margin=$(( TIME_LIMIT_SECS / 20 ))
  if [ "$margin" -lt 15 ]; then margin=15; fi
  if [ "$margin" -gt 600 ]; then margin=600; fi
  budget=$(( TIME_LIMIT_SECS - 2 * margin ))
  if [ "$budget" -lt 1 ]; then log "TIME_LIMIT_SECS=$TIME_LIMIT_SECS leaves no time to search"; exit 2; fi
  limits+=(--time-limit "${budget}s")
  stopper=(timeout --signal=TERM --kill-after=30 "$(( TIME_LIMIT_SECS - margin ))")
fi

task="$LOGS_DIR/task.yaml"  # beside the run's logs, where mle-bench collects them
runs="$AGENT_DIR/runs"
log "competition ${COMPETITION_ID:-?}: data $DATA_DIR, python $AIDE_PYTHON, limits ${limits[*]:-none}"

# The task: data, description.md (its Evaluation names the metric and so its direction), sample submission.
if ! "$AIDE" init "$DATA_DIR" -o "$task" --force --name "${COMPETITION_ID:-competition}" --python "$AIDE_PYTHON" \
    > /dev/null 2>> "$LOGS_DIR/start.log"; then
  log "aide init failed (see start.log)"
  exit 1
fi

# aide init leaves the direction commented out when nothing names the metric; only a setting can say it.
if grep -q '^  # direction:' "$task" && [[ " $* " != *" metric.direction="* ]]; then
  log "description.md names no metric aide knows, so which way is better is unknown: add metric.direction=minimize (or maximize) to the agent's kwargs"
  exit 1
fi

"${stopper[@]}" "$AIDE" run "$task" --runs-dir "$runs" "${limits[@]}" "${sets[@]}" "${flags[@]}" 2>&1 | tee "$LOGS_DIR/aide.log"
status=${PIPESTATUS[0]}
log "aide run exited with $status"

# What mle-bench collects, whatever way the run ended.
run_dir=$(find "$runs" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1)
if [ -z "$run_dir" ]; then
  log "no run was started (see aide.log)"
  exit 1
fi
for file in "$run_dir/run.sqlite" "$run_dir/run.sqlite-wal"; do [ -f "$file" ] && cp "$file" "$LOGS_DIR/"; done
"$AIDE" report "$run_dir" --format html -o "$LOGS_DIR/report.html" 2>> "$LOGS_DIR/start.log"
"$AIDE" report "$run_dir" --format markdown -o "$LOGS_DIR/report.md" 2>> "$LOGS_DIR/start.log"
"$AIDE" report "$run_dir" --export-aide "$LOGS_DIR/journal.json" 2>> "$LOGS_DIR/start.log"
if [ -f "$run_dir/best_solution.py" ]; then cp "$run_dir/best_solution.py" "$CODE_DIR/best_solution.py"; fi
if [ -f "$run_dir/best_submission.csv" ]; then
  cp "$run_dir/best_submission.csv" "$SUBMISSION_DIR/submission.csv"
  log "submission: $SUBMISSION_DIR/submission.csv"
  exit 0
fi
log "no node wrote a valid submission; $SUBMISSION_DIR/submission.csv not written"
exit 1
