#!/usr/bin/env bash
# Installs aideml (AIDEML_VERSION, default 0.2.2) from PyPI into its own venv under .build-peer/ once,
# and prints the venv's path. Used by scripts/peer-bench.sh and scripts/cost-bench.sh.
#
# --no-deps plus only the packages its harness imports: its full dependency list adds torch and ~60
# ML libraries for the scripts a real model writes, which the benchmarks' stdlib-only scripts do not
# need. Its console command is also named `aide`, so it is only ever run by its full path.
set -euo pipefail
cd "$(dirname "$0")/../.."
AIDEML_VERSION="${AIDEML_VERSION:-0.2.2}"
venv="$PWD/.build-peer/aideml-$AIDEML_VERSION"
if [ ! -e "$venv/.installed" ]; then
  echo "installing aideml $AIDEML_VERSION into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps "aideml==$AIDEML_VERSION" >&2
  # The harness's own requirements, pinned as aideml 0.2.2 pins them.
  # pip lists every skipped dependency as a conflict; those lines are expected and filtered out.
  "$venv/bin/pip" install -q "black==24.3.0" "funcy==2.0" "humanize==4.8.0" "jsonschema==4.19.2" \
    "numpy==1.26.2" "openai>=1.69.0" "anthropic>=0.20.0" "pandas==2.1.4" "rich==13.7.0" \
    "dataclasses_json>=0.6.4" "omegaconf>=2.3.0" "loguru==0.7.2" "shutup>=0.2.0" "tqdm==4.66.3" \
    "coolname>=2.2.0" "igraph>=0.11.3" "genson>=1.2.0" backoff python-dotenv "requests>=2.32.4" \
    2>&1 | { grep -vE "^aideml .* requires |dependency resolver does not|dependency conflicts" || true; } >&2
  touch "$venv/.installed"
fi
echo "$venv"
