#!/usr/bin/env bash
# aide against its peer, aideml (WecoAI's AIDE from PyPI), measured side by side (figures printed,
# nothing asserted; not run in CI). One loopback OpenAI-compatible server answers both harnesses with
# the same trivial script and review after a fixed delay per call; aideml, then aide with each worker
# count, run the same task for the same steps. Prints nodes, buggy nodes, LLM calls, wall time,
# nodes/min, the ratio to aideml and peak RSS.
#
#   bash scripts/peer-bench.sh                         # 20 steps, 1 s per call, aide with 1, 2, 4 workers
#   STEPS=40 DELAY=0.5 WORKERS=1 bash scripts/peer-bench.sh
#   AIDE_SET="exec.parallel=4" bash scripts/peer-bench.sh   # extra --set for aide run (space-separated)
#
# aideml goes into its own venv in .build-peer/ (gitignored), pinned to AIDEML_VERSION, with
# --no-deps plus only the packages its harness imports: its full dependency list adds torch and ~60
# ML libraries for the scripts a real model writes, which the benchmark's stdlib-only script does
# not need. Its console command is also named `aide`, so it is only ever run by its full path.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-20}"
DELAY="${DELAY:-1}"
WORKERS="${WORKERS:-1,2,4}"
AIDEML_VERSION="${AIDEML_VERSION:-0.2.2}"
venv="$PWD/.build-peer/aideml-$AIDEML_VERSION"

swift build -c release --product aide 2>&1 | grep -E "error|warning" || true
aide="$PWD/.build/release/aide"
python="$(command -v python3)"
[ -x .venv/bin/python ] && python="$PWD/.venv/bin/python"

if [ ! -e "$venv/.installed" ]; then
  echo "installing aideml $AIDEML_VERSION into $venv ..."
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps "aideml==$AIDEML_VERSION"
  # The harness's own requirements, pinned as aideml 0.2.2 pins them.
  # pip lists every skipped dependency as a conflict; those lines are expected and filtered out.
  "$venv/bin/pip" install -q "black==24.3.0" "funcy==2.0" "humanize==4.8.0" "jsonschema==4.19.2" \
    "numpy==1.26.2" "openai>=1.69.0" "anthropic>=0.20.0" "pandas==2.1.4" "rich==13.7.0" \
    "dataclasses_json>=0.6.4" "omegaconf>=2.3.0" "loguru==0.7.2" "shutup>=0.2.0" "tqdm==4.66.3" \
    "coolname>=2.2.0" "igraph>=0.11.3" "genson>=1.2.0" backoff python-dotenv "requests>=2.32.4" \
    2>&1 | { grep -vE "^aideml .* requires |dependency resolver does not|dependency conflicts" || true; }
  touch "$venv/.installed"
fi
installed=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('aideml'))")
echo "aideml $installed ($venv), openai client $("$venv/bin/python" -c "import openai; print(openai.__version__)")"
echo "aide $("$aide" --version 2>/dev/null || echo '(no --version)') ($aide), scripts run by $python"

work=$(mktemp -d "${TMPDIR:-/tmp}/aide-peer-bench.XXXXXX")
set_args=()
for setting in ${AIDE_SET:-}; do set_args+=(--aide-set "$setting"); done
if "$python" scripts/peer-bench/bench.py --aide "$aide" --aideml "$venv/bin/aide" --aideml-version "$installed" \
    --python "$python" --steps "$STEPS" --delay "$DELAY" --workers "$WORKERS" --work "$work" "${set_args[@]}"; then
  rm -rf "$work"
else
  echo "runs and logs kept in $work"
  exit 1
fi
