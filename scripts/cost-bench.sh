#!/usr/bin/env bash
# What a search costs: aideml against aide in full, diff and diff+cache modes, on one loopback model
# that prices, caches and takes time like Anthropic (scripts/cost-bench/server.py). Figures printed,
# nothing asserted; not run in CI. See README "Performance" for the table it printed.
#
#   bash scripts/cost-bench.sh                          # 30 steps, 20 ms per output token
#   STEPS=12 PER_TOKEN=0.005 bash scripts/cost-bench.sh # quicker
#   AIDEML=none bash scripts/cost-bench.sh              # aide's modes only
#   SCRATCH=/tmp/cost-release bash scripts/cost-bench.sh  # the release build kept outside .build
#   AIDE=.build/debug/aide bash scripts/cost-bench.sh   # a given binary, no build
#
# aideml is installed from PyPI into .build-peer/ as scripts/peer-bench.sh installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-30}"
PER_TOKEN="${PER_TOKEN:-0.02}"
BAD_EVERY="${BAD_EVERY:-8}"
AIDEML_VERSION="${AIDEML_VERSION:-0.2.2}"

if [ -n "${AIDE:-}" ]; then aide="$(realpath "$AIDE")"; else
# A release build; SCRATCH (default .build) keeps it apart from a debug build's folder.
scratch="${SCRATCH:-.build}"
swift build -c release --scratch-path "$scratch" --product aide 2>&1 | grep -E "error|warning" || true
aide="$(cd "$scratch/release" && pwd)/aide"
fi
python="$(command -v python3)"
[ -x .venv/bin/python ] && python="$PWD/.venv/bin/python"

aideml_args=()
if [ "${AIDEML:-}" != "none" ]; then
  venv="$(AIDEML_VERSION="$AIDEML_VERSION" bash scripts/peer-bench/install-aideml.sh)"
  installed=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('aideml'))")
  aideml_args=(--aideml "$venv/bin/aide" --aideml-version "$installed")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/aide-cost-bench.XXXXXX")
if "$python" scripts/cost-bench/bench.py --aide "$aide" "${aideml_args[@]}" --python "$python" \
    --steps "$STEPS" --per-token "$PER_TOKEN" --bad-every "$BAD_EVERY" --work "$work"; then
  rm -rf "$work"
else
  echo "runs and logs kept in $work"
  exit 1
fi
