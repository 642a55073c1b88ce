#!/usr/bin/env bash
# The library never spells a command-line flag of aide: collects every long flag the built `aide`
# declares (from ArgumentParser's own dump of Sources/aide's commands, so a renamed or new flag is
# seen) and fails when Sources/AIDE spells one as `--name`. Other programs' interfaces keep their
# flags: bwrap's (Sandbox.swift), sbatch/squeue/scontrol's (SlurmSpec, SlurmControl, SlurmInterpreter,
# SlurmLeftovers), the `#SBATCH` lines of a bench's job script, and the page's CSS custom properties.
# Usage: bash scripts/check-flags.sh [path/to/aide]   (default .build/debug/aide; builds it when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
aide="${1:-.build/debug/aide}"
[ -x "$aide" ] || swift build --product aide >/dev/null
flags=$("$aide" --experimental-dump-help | python3 -c '
import json, sys
names = set()
def walk(command):
    for argument in command.get("arguments", []):
        for name in argument.get("names", []):
            if name["kind"] == "long" and name["name"] not in ("help", "version"):
                names.add(name["name"])
    for sub in command.get("subcommands", []):
        walk(sub)
walk(json.load(sys.stdin)["command"])
print("\n".join(sorted(names)))')
[ -n "$flags" ] || { echo "check-flags: no flags read from $aide" >&2; exit 1; }
pattern="(^|[^-[:alnum:]])--($(echo "$flags" | paste -sd'|'))([^-[:alnum:]]|$)"
found=$(grep -rnE "$pattern" Sources/AIDE --include='*.swift' \
    | grep -vE '^Sources/AIDE/Execution/(Sandbox|SlurmControl|SlurmInterpreter|SlurmLeftovers)\.swift:' \
    | grep -vE '^Sources/AIDE/Task/SlurmSpec\.swift:' \
    | grep -v '#SBATCH' \
    | grep -vE 'var\(--|--[a-z-]+: *#' || true)
if [ -n "$found" ]; then
    echo "check-flags: Sources/AIDE spells aide's command-line flags (word them in Sources/aide):" >&2
    echo "$found" >&2
    exit 1
fi
echo "check-flags: Sources/AIDE spells none of aide's $(echo "$flags" | wc -l) flags"
