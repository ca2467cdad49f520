#!/usr/bin/env bash
# Stop the single-node Slurm cluster that up.sh started: cancel its jobs, then stop slurmd, slurmctld and
# munged by the process ids in their pid files under the state directory (never by name, so another
# cluster on this machine is left alone). Idempotent; keeps the installed packages and the state directory
# (job state, logs) for a later up.sh -- remove ${CURATE_SLURM_STATE:-/tmp/curate-slurm} to start afresh.
set -euo pipefail

STATE="${CURATE_SLURM_STATE:-/tmp/curate-slurm}"
export SLURM_CONF="$STATE/slurm.conf"
export PATH="$PATH:/usr/sbin:/sbin"

log() { echo "[slurm-down] $*" >&2; }

# Process checks shared with the other script.
# shellcheck source=scripts/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# stop_daemon NAME: TERM the daemon named by its pid file, then KILL it if still there after 10 s.
stop_daemon() {
    local name=$1 pidfile="$STATE/run/$1.pid" pid i
    if pid_alive "$name" "$pidfile"; then
        pid="$(tr -dc '0-9' <"$pidfile")"
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 100); do
            running "$pid" || break
            sleep 0.1
        done
        if running "$pid"; then
            log "$name (pid $pid) ignored TERM: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

if [[ ! -d $STATE/run ]]; then
    log "nothing to stop: no state directory at $STATE"
    exit 0
fi

exec 9>"$STATE/lock"
flock -w 600 9 || { log "another up.sh/down.sh holds $STATE/lock"; exit 1; }

# Jobs left running would outlive slurmd as orphaned slurmstepd processes.
if pid_alive slurmctld "$STATE/run/slurmctld.pid" && command -v scancel >/dev/null; then
    jobs="$(timeout 10 squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ')"
    if [[ -n ${jobs// /} ]]; then
        log "cancelling jobs: $jobs"
        # shellcheck disable=SC2086  # one id per word
        timeout 10 scancel $jobs 2>/dev/null || true
    fi
    # Give slurmd a moment to end the job steps before it goes away itself.
    for _ in $(seq 20); do
        [[ -z "$(timeout 5 squeue -h -t running,completing 2>/dev/null)" ]] && break
        sleep 0.25
    done
fi

stop_daemon slurmd
stop_daemon slurmctld
stop_daemon munged
rm -f "$STATE/munge/munge.socket.2" "$STATE/munge/munge.socket.2.lock"
# curate finds the cluster by its live slurmctld (now stopped); env.sh would point at nothing.
rm -f "$STATE/env.sh"
log "stopped (packages, state and logs kept under $STATE; curate no longer finds this cluster)"
