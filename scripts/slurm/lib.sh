# Helpers sourced by up.sh and down.sh.

# running PID: true while PID exists and is not a zombie (PID 1 of some containers/VMs never reaps orphans).
running() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ ${stat:0:1} != [ZX] ]]
}

# pid_alive NAME PIDFILE: true when PIDFILE names a running process whose command is NAME (guards against
# pid reuse).
pid_alive() {
    local name=$1 pidfile=$2 pid
    [[ -s $pidfile ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n $pid ]] && running "$pid" || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]]
}
