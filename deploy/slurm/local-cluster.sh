#!/bin/bash
# local-cluster.sh [start|stop|status]
#
# A one-node Slurm cluster on this machine, for trying deploy/slurm/ for real (no GPUs needed:
# point the sweep at tools/sim-vllm). It installs nothing: it expects Debian's packages
#     apt-get install -y slurm-wlm munge            # the cluster
#     apt-get install -y slurmdbd mariadb-server    # optional: accounting, for sacct
# and runs everything as the current user (root in a container) from a state folder:
# GRSU_SLURM_STATE (default /tmp/grsu-slurm): a munge key (munged on its default socket), a minimal slurm.conf for one node on
# localhost, munged, slurmctld and slurmd (and with slurmdbd and mariadbd installed, a MariaDB and
# slurmdbd so that sacct works). `stop` stops them all. The Slurm commands need
#     export SLURM_CONF=$GRSU_SLURM_STATE/slurm.conf
# (start prints it).

set -euo pipefail

state=${GRSU_SLURM_STATE:-/tmp/grsu-slurm}
conf=$state/slurm.conf
export SLURM_CONF=$conf
node=grsu-node
cluster=grsu-local
mysql_port=${GRSU_SLURM_MYSQL_PORT:-3317}

need() {
    command -v "$1" >/dev/null || {
        echo "$1 not found: apt-get install -y slurm-wlm munge" >&2
        exit 1
    }
}

stop_pidfile() {
    local file=$1 pid
    [[ -f $file ]] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$file"
}

stop() {
    stop_pidfile "$state/slurmd.pid"
    stop_pidfile "$state/slurmctld.pid"
    stop_pidfile "$state/slurmdbd.pid"
    stop_pidfile "$state/mariadb.pid"
    stop_pidfile "$state/munged.pid"
    echo "local Slurm cluster stopped (state kept in $state)"
}

accounting() {
    command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null &&
        command -v mariadb-install-db >/dev/null
}

start() {
    need munged
    need slurmctld
    need slurmd
    mkdir -p "$state"/{slurmctld,slurmd,log}
    chmod 700 "$state"

    # munge: its own key and pid file in the state folder.
    if [[ ! -f $state/munge.key ]]; then
        dd if=/dev/urandom of="$state/munge.key" bs=1024 count=1 status=none
    fi
    chmod 400 "$state/munge.key"
    # The default socket: slurmctld's connection to slurmdbd does not follow AuthInfo.
    mkdir -p /run/munge
    munged --force --key-file="$state/munge.key" --socket=/run/munge/munge.socket.2 \
        --pid-file="$state/munged.pid" --log-file="$state/log/munged.log" \
        --seed-file="$state/munge.seed"

    local storage="AccountingStorageType=accounting_storage/none"
    if accounting; then
        if [[ ! -d $state/mysql ]]; then
            mariadb-install-db --datadir="$state/mysql" --user="$(id -un)" \
                --auth-root-authentication-method=socket >"$state/log/mariadb-install.log" 2>&1
        fi
        mariadbd --datadir="$state/mysql" --socket="$state/mysql.sock" \
            --bind-address=127.0.0.1 --port="$mysql_port" --pid-file="$state/mariadb.pid" \
            --user="$(id -un)" --log-error="$state/log/mariadb.log" </dev/null >/dev/null 2>&1 &
        for _ in $(seq 100); do
            [[ -S $state/mysql.sock ]] && break
            sleep 0.2
        done
        mariadb --socket="$state/mysql.sock" -e "
            CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'grsu-local';
            CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'grsu-local';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
        cat >"$state/slurmdbd.conf" <<DBD
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=$(id -un)
PidFile=$state/slurmdbd.pid
LogFile=$state/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$mysql_port
StorageUser=slurm
StoragePass=grsu-local
StorageLoc=slurm_acct_db
DBD
        chmod 600 "$state/slurmdbd.conf"
        storage="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5"
    fi

    local cpus memory
    cpus=$(nproc)
    memory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
    cat >"$conf" <<CONF
ClusterName=$cluster
SlurmctldHost=$(hostname -s)(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$state/slurmctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.log
$storage
# Requeued and preempted jobs: SIGTERM, then SIGKILL after KillWait seconds.
KillWait=30
MinJobAge=3600
SchedulerParameters=defer
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

    if accounting; then
        slurmdbd
        for _ in $(seq 50); do
            sacctmgr -n list cluster >/dev/null 2>&1 && break
            sleep 0.2
        done
        sacctmgr -i add cluster "$cluster" >/dev/null 2>&1 || true
    fi
    slurmctld
    slurmd -N "$node"
    for _ in $(seq 100); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            break
        fi
        sleep 0.3
    done
    sinfo
    echo "local Slurm cluster up: export SLURM_CONF=$conf"
    accounting && echo "accounting: sacct works (slurmdbd on MariaDB in $state/mysql)" ||
        echo "accounting: none (apt-get install -y slurmdbd mariadb-server for sacct); completed jobs in $state/log/jobcomp.log"
}

case ${1:-start} in
start) start ;;
stop) stop ;;
status)
    sinfo
    squeue
    ;;
*)
    echo "usage: $0 [start|stop|status]" >&2
    exit 2
    ;;
esac
