#!/usr/bin/env bash
# A private one-node Slurm cluster on this machine (Debian's slurm-wlm and munge), for running
# `aide bench --slurm` job arrays without a real cluster. Needs root (it installs packages and the
# daemons run as root); needs no systemd and no cgroup delegation.
#
#   scripts/slurm-cluster.sh start     # install if missing, configure, start munged + slurmctld +
#                                      # slurmd, wait until the node is idle (already running: no-op)
#   scripts/slurm-cluster.sh status    # daemons and `sinfo`; exit 0 only when the node answers
#   scripts/slurm-cluster.sh env       # print `export SLURM_CONF=…`: eval it before sbatch/squeue/sinfo
#   scripts/slurm-cluster.sh stop      # cancel every job, stop the daemons, delete the folder
#   scripts/slurm-cluster.sh logs      # the tail of every daemon log
#   scripts/slurm-cluster.sh jobs      # every finished job and array element: JobState, ExitCode, …
#
# Everything (config, munge key and socket, state, spool, logs) lives in AIDE_SLURM_DIR, default
# ${TMPDIR:-/tmp}/aide-slurm; nothing in /etc is touched. Ports: AIDE_SLURM_PORT (slurmctld, default
# 6917) and the next one (slurmd), away from a real Slurm's 6817/6818.
set -euo pipefail

DIR="${AIDE_SLURM_DIR:-${TMPDIR:-/tmp}/aide-slurm}"
CTLD_PORT="${AIDE_SLURM_PORT:-6917}"
SLURMD_PORT=$((CTLD_PORT + 1))
PARTITION=local
CONF="$DIR/etc/slurm.conf"
MUNGE_SOCKET="$DIR/munge/munge.socket"
NODE="$(hostname -s)"
export SLURM_CONF="$CONF"

log() { echo "[slurm-cluster] $*" >&2; }

pid_of() { # the pid in a daemon's pid file when that process is alive
    local file="$DIR/run/$1.pid" pid
    [[ -s "$file" ]] || return 1
    pid=$(<"$file")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

await_pid_file() { # a daemon writes its pid file only after it has forked and read its config
    # Seen on a loaded 2-core CI machine: slurmd's pid file appeared more than a second after
    # `slurmd` returned, so a short wait took a starting daemon for a dead one.
    local name=$1 i
    for i in $(seq 300); do
        pid_of "$name" >/dev/null && return 0
        sleep 0.1
    done
    fail "$name wrote no live pid to $DIR/run/$name.pid within 30 s"
}

show_logs() {
    local f
    for f in "$DIR"/log/*.log; do
        [[ -s "$f" && "$f" != */jobcomp.log ]] || continue
        echo "---- ${f##*/} (last 20 lines)" >&2
        tail -n 20 "$f" >&2
    done
}

fail() { log "error: $*"; show_logs; exit 1; }

install_packages() {
    local missing=()
    command -v munged >/dev/null || missing+=(munge)
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    ((${#missing[@]})) || return 0
    [[ $(id -u) == 0 ]] || { log "error: ${missing[*]} missing and not root: apt-get install -y ${missing[*]}"; exit 1; }
    log "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >"${TMPDIR:-/tmp}/aide-slurm-apt.log" 2>&1; then
        apt-get update >>"${TMPDIR:-/tmp}/aide-slurm-apt.log" 2>&1 || true
        apt-get install -y --no-install-recommends "${missing[@]}" >>"${TMPDIR:-/tmp}/aide-slurm-apt.log" 2>&1 \
            || { tail -n 20 "${TMPDIR:-/tmp}/aide-slurm-apt.log" >&2; log "error: apt-get install ${missing[*]} failed"; exit 1; }
    fi
}

write_config() {
    # slurmd -C prints this machine as a node line: NodeName=… CPUs=… Boards=… … RealMemory=…
    local probe cpus memory
    probe=$(slurmd -C 2>/dev/null | head -n 1)
    [[ "$probe" == NodeName=* ]] || fail "slurmd -C did not describe this machine: $probe"
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$probe")
    memory=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$probe")
    # Leave a tenth of the memory to the system: a node that reports less than its configured
    # RealMemory is drained, and memory seen inside a VM can shrink a little.
    memory=$((memory * 9 / 10))
    local hardware
    hardware=$(sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//' <<<"$probe")
    touch "$DIR/etc/plugstack.conf" # otherwise /etc/slurm/plugstack.conf is read
    cat >"$CONF" <<EOF
# Written by scripts/slurm-cluster.sh: one node, this machine, no cgroups, no accounting.
ClusterName=aide
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/etc/plugstack.conf
# No cgroups: a container without systemd has no delegated cgroup tree. linuxproc follows the
# process tree, so scancel and time limits reach children in their own session (aide's scripts);
# only a process whose parent has already exited escapes it.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Without cgroups, --mem is enforced by sampling each job's memory (every second) and killing a
# job past it: the job ends OUT_OF_MEMORY, as on a cluster with cgroups.
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
# One line per finished job and array element (state, exit code, times): slurm-cluster.sh jobs.
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default every job would take the whole node's memory and run alone.
DefMemPerCPU=$((memory / cpus))
ReturnToService=2
MaxArraySize=10001
# Finished jobs stay in slurmctld's memory for a day (squeue -t all, scontrol show job). sbatch
# --wait needs that: it exits with the highest exit code among the records it still sees when the
# last element ends, so with a short MinJobAge a failed element purged by then goes unnoticed (seen
# with MinJobAge=2). The price: sbatch --wait polls after 2, 8, then every 32 s.
MinJobAge=86400
MaxJobCount=100000
KillWait=10
InactiveLimit=0
NodeName=$NODE NodeAddr=127.0.0.1 $hardware RealMemory=$memory State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    pid_of munged >/dev/null && return 0
    if [[ ! -s "$DIR/munge/munge.key" ]]; then
        (umask 077 && head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
    fi
    # --force: munged refuses a socket folder under a world-writable /tmp otherwise.
    munged --force --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed" >>"$DIR/log/munged.log" 2>&1 \
        || fail "munged did not start"
    local i
    for i in $(seq 50); do
        munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "munged does not answer on $MUNGE_SOCKET"
}

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n 1 || true; }

running() { pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null && [[ -n "$(node_state)" ]]; }

stop_daemons() { # TERM them all, then wait; KILL what is left after 10 s
    local name pid pids=() i
    for name in "$@"; do pid=$(pid_of "$name") && pids+=("$pid") && kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { log "process $pid did not stop in 10 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    done
    return 0
}

cmd_stop() {
    if pid_of slurmctld >/dev/null; then
        local jobs i
        jobs=$(squeue -h -o %A 2>/dev/null || true)
        if [[ -n "$jobs" ]]; then
            log "cancelling $(wc -w <<<"$jobs") job(s)"
            scancel $jobs 2>/dev/null || true
            for i in $(seq 30); do [[ -z "$(squeue -h -t R,CG -o %A 2>/dev/null)" ]] && break; sleep 1; done
        fi
    fi
    stop_daemons slurmd slurmctld munged
    # A daemon stopped before it wrote its pid file: found by its command line (this config's path).
    pkill -KILL -f -- "-f $CONF" 2>/dev/null || true
    pkill -KILL -f -- "--socket=$MUNGE_SOCKET" 2>/dev/null || true
    rm -rf "$DIR"
    log "stopped"
}

cmd_start() {
    if running; then
        log "already running: $NODE is $(node_state) (SLURM_CONF=$CONF)"
        return 0
    fi
    # A half-started or crashed cluster: start again from nothing.
    [[ -d "$DIR" ]] && cmd_stop
    [[ $(id -u) == 0 ]] || { log "error: run as root (the daemons and jobs run as root)"; exit 1; }
    ((${#MUNGE_SOCKET} < 100)) || { log "error: $MUNGE_SOCKET is too long for a socket; set AIDE_SLURM_DIR"; exit 1; }
    install_packages
    local started=$SECONDS
    # A daemon that dies while starting (seen once on a fresh CI machine, right after the packages
    # were installed, with nothing in its log) gets one more try from nothing; `fail` in the
    # subshell ends only the attempt. (Not `if ! (…)`: that would switch off set -e inside.)
    local status
    set +e
    (set -e; start_daemons)
    status=$?
    set -e
    if ((status != 0)); then
        log "starting again from nothing"
        cmd_stop
        start_daemons
    fi
    log "ready in $((SECONDS - started)) s: node $NODE idle in partition $PARTITION; SLURM_CONF=$CONF"
}

start_daemons() {
    mkdir -p "$DIR"/{etc,munge,state,spool,log,run}
    chmod 755 "$DIR/munge" # munged wants its socket folder searchable by all; the key itself is 0600
    write_config
    start_munge
    slurmctld -f "$CONF" >>"$DIR/log/slurmctld.log" 2>&1 || fail "slurmctld did not start"
    slurmd -f "$CONF" -N "$NODE" >>"$DIR/log/slurmd.log" 2>&1 || fail "slurmd did not start"
    await_pid_file slurmctld
    await_pid_file slurmd
    local i state=""
    for i in $(seq 120); do
        pid_of slurmctld >/dev/null || fail "slurmctld exited"
        pid_of slurmd >/dev/null || fail "slurmd exited"
        state=$(node_state)
        [[ "$state" == idle ]] && break
        sleep 0.5
    done
    [[ "$state" == idle ]] || fail "node $NODE is '${state:-not reported}' after 60 s, not idle"
}

cmd_status() {
    local name pid
    for name in munged slurmctld slurmd; do
        if pid=$(pid_of "$name"); then echo "$name: running ($pid)"; else echo "$name: not running"; fi
    done
    echo "SLURM_CONF=$CONF"
    if running; then sinfo; squeue; else return 1; fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    logs) show_logs ;;
    jobs) cat "$DIR/log/jobcomp.log" 2>/dev/null || true ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
