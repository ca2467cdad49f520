#!/usr/bin/env bash
# Start a single-node Slurm cluster (munged + slurmctld + slurmd) on this machine for curate's tests.
#
# Idempotent: daemons found alive through their pid files under the state directory are kept, dead ones
# (stale pid files, stale munge socket) are cleaned up and restarted, a DOWN/DRAINED node is resumed.
# Installs Debian's slurm-wlm and munge with apt-get when they are missing (root only).
#
# Environment:
#   CURATE_SLURM_STATE        state directory (default /tmp/curate-slurm): conf, pid files, spool, logs, env.sh
#   CURATE_SLURM_TIMEOUT      seconds to wait for the node to become usable (default 90)
#   CURATE_SLURM_CTLD_PORT    slurmctld port (default 6817)
#   CURATE_SLURM_SLURMD_PORT  slurmd port (default 6818)
#   CURATE_MUNGE_KEY          munge key file, created when missing (default /etc/munge/munge.key)
#
# Exit codes: 0 cluster up, 2 not root, 3 packages could not be installed, 4 the cluster did not come up.
set -euo pipefail

STATE="${CURATE_SLURM_STATE:-/tmp/curate-slurm}"
TIMEOUT="${CURATE_SLURM_TIMEOUT:-90}"
CTLD_PORT="${CURATE_SLURM_CTLD_PORT:-6817}"
SLURMD_PORT="${CURATE_SLURM_SLURMD_PORT:-6818}"
MUNGE_KEY="${CURATE_MUNGE_KEY:-/etc/munge/munge.key}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATE="$HERE/slurm.conf.in"
CONF="$STATE/slurm.conf"
MUNGE_SOCKET="$STATE/munge/munge.socket.2"
HOST="$(hostname -s)"
export SLURM_CONF="$CONF"
export PATH="$PATH:/usr/sbin:/sbin"

log() { echo "[slurm-up] $*" >&2; }
die() {
    local code=$1
    shift
    echo "[slurm-up] ERROR: $*" >&2
    exit "$code"
}

# Process checks shared with the other script.
# shellcheck source=scripts/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

show_logs() {
    local f
    for f in "$STATE"/log/*.log; do
        [[ -f $f ]] || continue
        echo "----- tail of $f -----" >&2
        tail -n 25 "$f" >&2
    done
}

install_packages() {
    if command -v munged >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null; then
        return 0
    fi
    command -v apt-get >/dev/null || die 3 "slurm-wlm/munge are not installed and there is no apt-get"
    log "installing slurm-wlm and munge with apt-get"
    # Keep the packages' maintainer scripts from starting system-wide daemons: we run our own, by pid file.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
    fi
    local apt=(apt-get install -y -q --no-install-recommends slurm-wlm munge)
    local ok=0
    if DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"$STATE/log/apt.log" 2>&1; then
        ok=1
    else
        log "install failed; running apt-get update and retrying"
        if DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE/log/apt.log" 2>&1 \
            && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >>"$STATE/log/apt.log" 2>&1; then
            ok=1
        fi
    fi
    if [[ $made_policy -eq 1 ]]; then
        rm -f "$policy"
        trap - EXIT
    fi
    if [[ $ok -ne 1 ]]; then
        tail -n 20 "$STATE/log/apt.log" >&2
        die 3 "apt-get could not install slurm-wlm and munge (log: $STATE/log/apt.log)"
    fi
}

ensure_munge_key() {
    [[ -s $MUNGE_KEY ]] && return 0
    log "creating munge key $MUNGE_KEY"
    mkdir -p "$(dirname "$MUNGE_KEY")"
    rm -f "$MUNGE_KEY"
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile="$MUNGE_KEY"
    else
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
    chmod 0400 "$MUNGE_KEY"
}

# munged running as root insists on a root-owned key; Debian's postinst makes one owned by the munge user,
# so that one is copied (0400, root) into the state directory.
munged_key() {
    if [[ "$(stat -c %u "$MUNGE_KEY")" == 0 ]]; then
        echo "$MUNGE_KEY"
    else
        install -m 0400 -o root -g root "$MUNGE_KEY" "$STATE/munge/munge.key"
        echo "$STATE/munge/munge.key"
    fi
}

start_munged() {
    if pid_alive munged "$STATE/run/munged.pid"; then
        munge -n -S "$MUNGE_SOCKET" >/dev/null 2>&1 && return 0
        log "munged is alive but does not answer: restarting it"
        stop_daemon munged
    fi
    # A socket or pid file left by a munged that is gone (e.g. a previous session) blocks a new one.
    rm -f "$STATE/run/munged.pid" "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
    log "starting munged"
    local key
    key="$(munged_key)"
    setsid munged --socket="$MUNGE_SOCKET" --key-file="$key" --pid-file="$STATE/run/munged.pid" \
        --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/munged.seed" \
        </dev/null >>"$STATE/log/munged.log" 2>&1 9>&- || { show_logs; die 4 "munged failed to start"; }
    local i
    for i in $(seq 50); do
        munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    show_logs
    die 4 "munged does not answer on $MUNGE_SOCKET"
}

select_type() {
    if compgen -G "/usr/lib/*/slurm-wlm/select_cons_tres.so" >/dev/null \
        || compgen -G "/usr/lib*/slurm/select_cons_tres.so" >/dev/null; then
        echo select/cons_tres
    else
        echo select/cons_res
    fi
}

# write_conf: render the template; sets CONF_CHANGED=1 when the file on disk was replaced.
CONF_CHANGED=0
write_conf() {
    local cpus mem_mb headroom real def_mem
    cpus="$(nproc)"
    mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
    # Leave room for the OS and the daemons: slurmd drains a node that reports less than RealMemory.
    headroom=$((mem_mb / 10 > 512 ? mem_mb / 10 : 512))
    real=$((mem_mb - headroom))
    ((real > 256)) || die 4 "too little memory for a Slurm node (${mem_mb} MB)"
    def_mem=$((real / cpus < 1024 ? real / cpus : 1024))
    sed -e "s|@STATE@|$STATE|g" -e "s|@HOST@|$HOST|g" -e "s|@ADDR@|127.0.0.1|g" \
        -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" \
        -e "s|@SELECT_TYPE@|$(select_type)|g" -e "s|@CPUS@|$cpus|g" -e "s|@REAL_MEMORY@|$real|g" \
        -e "s|@DEF_MEM_PER_CPU@|$def_mem|g" "$TEMPLATE" >"$CONF.new"
    if [[ -f $CONF ]] && cmp -s "$CONF" "$CONF.new"; then
        rm -f "$CONF.new"
    else
        mv "$CONF.new" "$CONF"
        CONF_CHANGED=1
    fi
}

# stop_daemon NAME: TERM the daemon named by its pid file, then KILL after 10 s.
stop_daemon() {
    local name=$1 pidfile="$STATE/run/$1.pid" pid i
    if pid_alive "$name" "$pidfile"; then
        pid="$(tr -dc '0-9' <"$pidfile")"
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 100); do
            running "$pid" || break
            sleep 0.1
        done
        running "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

start_slurmctld() {
    if pid_alive slurmctld "$STATE/run/slurmctld.pid"; then
        return 0
    fi
    rm -f "$STATE/run/slurmctld.pid"
    log "starting slurmctld"
    setsid slurmctld </dev/null >>"$STATE/log/slurmctld.log" 2>&1 9>&- \
        || { show_logs; die 4 "slurmctld failed to start"; }
    local deadline=$((SECONDS + TIMEOUT))
    until scontrol ping 2>/dev/null | grep -q 'is UP'; do
        ((SECONDS < deadline)) || { show_logs; die 4 "slurmctld does not answer 'scontrol ping' after ${TIMEOUT}s"; }
        sleep 0.5
    done
}

start_slurmd() {
    if pid_alive slurmd "$STATE/run/slurmd.pid"; then
        return 0
    fi
    rm -f "$STATE/run/slurmd.pid"
    log "starting slurmd"
    setsid slurmd </dev/null >>"$STATE/log/slurmd.log" 2>&1 9>&- || { show_logs; die 4 "slurmd failed to start"; }
}

# wait_node_usable: until sinfo shows the node schedulable; resumes it when left DOWN or DRAINED.
wait_node_usable() {
    local deadline=$((SECONDS + TIMEOUT)) state last_resume=-10
    while true; do
        state="$(sinfo -h -n "$HOST" -o '%T' 2>/dev/null | head -n 1)"
        case "$state" in
            idle | mixed | allocated | completing) return 0 ;;
            down | drained | draining | drain | fail | failing)
                # Only once slurmd answers (no '*' suffix) does a resume stick; retry every few seconds.
                if ((SECONDS - last_resume >= 3)); then
                    log "node $HOST is $state: resuming it"
                    scontrol update nodename="$HOST" state=resume 2>/dev/null || true
                    last_resume=$SECONDS
                fi
                ;;
        esac
        ((SECONDS < deadline)) || {
            show_logs
            sinfo -N -l >&2 || true
            die 4 "node $HOST not usable after ${TIMEOUT}s (sinfo state: '${state:-none}')"
        }
        sleep 0.5
    done
}

main() {
    local t0=$SECONDS
    [[ $(id -u) -eq 0 ]] || die 2 "this single-node cluster runs its daemons as root; run up.sh as root"
    mkdir -p "$STATE"/{run,log,ctld,spool/slurmd,munge}
    # One up.sh/down.sh at a time per state directory (e.g. several pytest-xdist workers starting it).
    exec 9>"$STATE/lock"
    flock -w 600 9 || die 4 "another up.sh/down.sh holds $STATE/lock"
    chmod 0755 "$STATE" "$STATE/munge"
    [[ -f $TEMPLATE ]] || die 4 "template $TEMPLATE is missing"
    install_packages
    ensure_munge_key
    write_conf
    if ((CONF_CHANGED)); then
        # New hardware figures or template: running daemons must re-read the node definition.
        if pid_alive slurmd "$STATE/run/slurmd.pid" || pid_alive slurmctld "$STATE/run/slurmctld.pid"; then
            log "slurm.conf changed: restarting slurmd and slurmctld"
            stop_daemon slurmd
            stop_daemon slurmctld
        fi
    fi
    start_munged
    start_slurmctld
    start_slurmd
    wait_node_usable
    cat >"$STATE/env.sh" <<ENV
# Generated by scripts/slurm/up.sh: source it to talk to the curate test cluster.
export SLURM_CONF="$CONF"
ENV
    log "cluster 'curate' is up on $HOST in $((SECONDS - t0))s (state dir: $STATE)"
    cat <<USAGE
Slurm cluster 'curate' is up: node $HOST, partition debug.
curate finds it by itself (its slurmctld pid file under $STATE), e.g.
    curate demo --out runs/slurm-demo --executor slurm
For Slurm's own commands by hand: source $STATE/env.sh; sinfo; squeue
Stop it with: make slurm-down
USAGE
}

main "$@"
