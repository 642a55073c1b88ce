# Sourced by scripts/check-slurm-bench.sh and scripts/check-slurm-run.sh: what both do around their
# checks on the one-node Slurm of scripts/slurm-cluster.sh.
#   say/die          a step's title; the failure (its reason printed again at the end)
#   check_begin N    the work folder (aide-N.XXXXXX) and the exit trap: on failure the check's
#                    `show_failure` (if defined) prints its logs; the cluster is stopped unless it was
#                    already up or keep=1; the work folder is removed on success unless keep=1
#   find_aide CONF   $AIDE, or .build/CONF/aide (built when missing): sets aide
#   start_cluster    starts the cluster (a running one is left running), exports its environment,
#                    sets cluster_seconds
#   q DB SQL         the rows, one a line, columns joined by | (Python's sqlite3: no sqlite3 CLI needed)
#   background       a pid the exit trap kills (a run still going when a check fails)
say() { echo "== $*"; }
reason=""
die() { reason=$*; echo "error: $*" >&2; exit 1; }
keep=${keep:-0}
cluster_started=0
background=""

check_begin() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/aide-$1.XXXXXX")
    trap check_finish EXIT
}

check_finish() {
    local status=$?
    [[ -n $background ]] && kill -9 "$background" 2>/dev/null || true
    if ((status != 0)); then
        declare -F show_failure >/dev/null && show_failure
        echo "check failed (exit $status)${reason:+: $reason}; work folder: $work" >&2
    fi
    if ((keep)); then
        echo "kept: work folder $work; cluster running (scripts/slurm-cluster.sh stop)" >&2
    else
        ((cluster_started)) && bash scripts/slurm-cluster.sh stop || true
        ((status == 0)) && rm -rf "$work"
    fi
    exit "$status"
}

find_aide() {
    local configuration=$1
    if [[ -n "${AIDE:-}" ]]; then
        aide=$(cd "$(dirname "$AIDE")" && pwd)/$(basename "$AIDE")
    else
        if [[ ! -x ".build/$configuration/aide" || $configuration == release ]]; then
            say "building aide ($configuration)"
            swift build -c "$configuration" --product aide 2>&1 | grep -E "error|warning: " >&2 || true
        fi
        aide="$(pwd)/.build/$configuration/aide"
    fi
    [[ -x "$aide" ]] || die "$aide is not an executable aide"
}

start_cluster() {
    say "starting the cluster"
    local start
    start=$(date +%s.%N)
    bash scripts/slurm-cluster.sh status >/dev/null 2>&1 || cluster_started=1
    bash scripts/slurm-cluster.sh start
    cluster_seconds=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
    eval "$(bash scripts/slurm-cluster.sh env)"
}

q() {
    python3 -c 'import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for row in db.execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in row))' "$1" "$2"
}
