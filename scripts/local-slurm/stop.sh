#!/usr/bin/env bash
# Stop what scripts/local-slurm/start.sh started, by the PIDs it recorded in /run/distancing-slurm
# (jobs still queued are cancelled first); nothing else is touched. State is kept for a restart.
set -uo pipefail
RUN=/run/distancing-slurm
[ "$(id -u)" = 0 ] || { echo "[local-slurm] ERROR: run as root" >&2; exit 1; }

pid_of() {  # the PID recorded for daemon $1, if that process is alive and is $1
    local pid
    [ -s "$RUN/$1.pid" ] || return 1
    pid=$(tr -dc 0-9 < "$RUN/$1.pid")
    [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ] && echo "$pid"
}

if pid_of slurmctld > /dev/null; then
    jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null
        for _ in $(seq 1 40); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
    fi
fi
stopped=()
for d in slurmd slurmctld slurmdbd mariadbd munged; do
    if pid=$(pid_of "$d"); then
        kill -TERM "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        stopped+=("$d=$pid")
    fi
    rm -f "$RUN/$d.pid"
done
echo "local-slurm stopped: ${stopped[*]:-nothing was running}"
