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
# aideml goes into its own venv in .build-peer/ (gitignored), pinned to AIDEML_VERSION
# (scripts/peer-bench/install-aideml.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-20}"
DELAY="${DELAY:-1}"
WORKERS="${WORKERS:-1,2,4}"
AIDEML_VERSION="${AIDEML_VERSION:-0.2.2}"

swift build -c release --product aide 2>&1 | grep -E "error|warning" || true
aide="$PWD/.build/release/aide"
python="$(command -v python3)"
[ -x .venv/bin/python ] && python="$PWD/.venv/bin/python"

venv="$(AIDEML_VERSION="$AIDEML_VERSION" bash scripts/peer-bench/install-aideml.sh)"
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
