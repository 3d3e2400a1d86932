#!/usr/bin/env bash
# Start a single-node SLURM cluster with accounting on this machine, as root, for the tests
# (tests/test_slurm.py) and CI: Debian 12 packages, no systemd needed. Each daemon is started
# by hand and its PID recorded in $RUN, so stop.sh ends exactly what this script started.
# Daemons already running from an earlier start are reused; the last line reads
# "local-slurm ready: partition=... cpus=... mem_mb=...".
#
#   sudo scripts/local-slurm/start.sh && pytest tests/test_slurm.py && sudo scripts/local-slurm/stop.sh
#
# Environment: LOCAL_SLURM_PARTITION [debug], LOCAL_SLURM_MEM_MARGIN_MB (kept from the node) [1024].
set -euo pipefail

PARTITION=${LOCAL_SLURM_PARTITION:-debug}
MARGIN=${LOCAL_SLURM_MEM_MARGIN_MB:-1024}
RUN=/run/distancing-slurm     # PID files of the daemons this script started
LOG=/var/log/distancing-slurm
CONF=/etc/slurm

say() { echo "[local-slurm] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

alive() {  # alive NAME: the PID file $RUN/NAME.pid names a live process called NAME
    local pid
    [ -s "$RUN/$1.pid" ] || return 1
    pid=$(tr -dc 0-9 < "$RUN/$1.pid")
    [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ]
}
wait_for() {  # wait_for SECONDS WHAT COMMAND...
    local secs=$1 what=$2; shift 2
    for _ in $(seq 1 $((secs * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
    die "timed out after ${secs}s waiting for $what"
}

missing=()
for p in slurm-wlm slurmdbd munge mariadb-server mariadb-client; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi

HOST=$(hostname -s)
if ! getent hosts "$HOST" > /dev/null; then  # slurmctld and slurmd find each other by it
    say "hostname $HOST does not resolve: adding '127.0.1.1 $HOST' to /etc/hosts"
    echo "127.0.1.1 $HOST" >> /etc/hosts
fi
mkdir -p "$RUN" "$LOG" /var/spool/slurmctld /var/spool/slurmd /run/munge /run/mysqld "$CONF"
chown slurm:slurm "$LOG" /var/spool/slurmctld
chown munge:munge /run/munge
chown mysql:mysql /run/mysqld

# munge: authenticates every SLURM message.
if [ ! -s /etc/munge/munge.key ]; then mungekey --create --keyfile=/etc/munge/munge.key --force; fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
if ! alive munged && ! (munge -n | unmunge) > /dev/null 2>&1; then  # reuse a munged the package started
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged --force
    wait_for 20 "munged" test -s /run/munge/munged.pid
    cp /run/munge/munged.pid "$RUN/munged.pid"
fi
wait_for 20 "munge" bash -c 'munge -n | unmunge'

# MariaDB: the accounting database behind slurmdbd (and so sacct).
[ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql > /dev/null
if ! alive mariadbd && ! mariadb-admin ping > /dev/null 2>&1; then  # reuse a server the package started
    setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 > "$LOG/mariadbd.log" 2>&1 < /dev/null &
    echo $! > "$RUN/mariadbd.pid"
fi
wait_for 60 "MariaDB" mariadb-admin ping
[ -s "$CONF/.dbpass" ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 > "$CONF/.dbpass")
DBPASS=$(cat "$CONF/.dbpass")
mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DBPASS'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

# Config: one node as slurmd detects it, memory a little below (never above, or it drains).
DETECTED=$(slurmd -C | head -1)
REALMEM=$(( $(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<< "$DETECTED") - MARGIN ))
CPUS=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<< "$DETECTED")
cat > "$CONF/slurmdbd.conf" <<CONF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$DBPASS
CONF
chown slurm:slurm "$CONF/slurmdbd.conf" && chmod 0600 "$CONF/slurmdbd.conf"
cat > "$CONF/slurm.conf" <<CONF
# Written by scripts/local-slurm/start.sh (distancing): one node, one partition, accounting.
ClusterName=local
SlurmctldHost=$HOST
SlurmUser=slurm
AuthType=auth/munge
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
MinJobAge=300
KillWait=10
$(sed "s/RealMemory=[0-9]*/RealMemory=$REALMEM/" <<< "$DETECTED") State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF

alive slurmdbd || /usr/sbin/slurmdbd
wait_for 60 "slurmdbd" sacctmgr -n list cluster
sacctmgr -n -P list cluster format=cluster | grep -qx local || sacctmgr -i add cluster local > /dev/null
if alive slurmctld; then scontrol reconfigure; else /usr/sbin/slurmctld; fi
wait_for 60 "slurmctld" scontrol ping
alive slurmd || /usr/sbin/slurmd
node_up() { sinfo -h -n "$HOST" -o %t | grep -Eq '^(idle|mix|alloc)'; }
for _ in $(seq 1 40); do node_up && break; sleep 0.5; done
node_up || scontrol update NodeName="$HOST" State=RESUME > /dev/null 2>&1 || true
wait_for 30 "node $HOST" node_up
wait_for 30 "sacct" sacct -n -X -S now-1minutes

pids=$(for d in munged mariadbd slurmdbd slurmctld slurmd; do printf '%s=%s ' "$d" "$(cat "$RUN/$d.pid" 2>/dev/null || echo not-ours)"; done)
echo "local-slurm ready: partition=$PARTITION cpus=$CPUS mem_mb=$REALMEM slurm=$(sinfo -V | cut -d' ' -f2) $pids"
