# shellcheck shell=bash
# tests/slurm/slurm_local.sh — sourced by the real-Slurm tests: a one-node Slurm cluster on this
# machine, on loopback, owned by the calling test and gone when it exits.
#
#   source tests/slurm/slurm_local.sh
#   slurm_local_start           # install if missing, configure, start munged, slurmctld, slurmd
#   sbatch ...; slurm_local_wait_job JOBID TIMEOUT
#
# Everything lives in one temporary folder (SLURM_LOCAL_DIR): slurm.conf, the munge key and
# socket, state, spool and logs, with free ports picked at random, so it neither needs nor
# touches a system Slurm or munge (packages installed for it are left installed). No systemd,
# no cgroups: the daemons are started directly (this may be a container or a small VM), with
# proctrack/linuxproc and task/none. JobRequeue=1 and a long MinJobAge keep requeued and
# finished jobs visible to `scontrol show job` (there is no accounting database, so no sacct);
# a requeued job may start again after 10 s (cred_expire) and the scheduler looks every 2 s.
# When Slurm cannot be installed or started, slurm_local_skip prints "SLURM TEST SKIPPED: why"
# (the ctest skip regex) and exits 0.
#
# Environment: SLURM_LOCAL_KEEP=1 leaves the folder (and logs) behind for a look;
# MUNET_SKIP_SLURM_TESTS=1 skips.

# Ranks per job in the tests (test_*.sh): the one place to change it.
MUNET_SLURM_RANKS=${MUNET_SLURM_RANKS:-2}

SLURM_LOCAL_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MUNET_REPO=$(cd "$SLURM_LOCAL_TESTS/../.." && pwd)

slurm_local_skip() {
  echo "SLURM TEST SKIPPED: $*"
  exit 0
}

slurm_local_log() { printf '[slurm-local %4ds] %s\n' "$SECONDS" "$*"; }

# Installs Debian's slurm-wlm and munge when a command is missing (jobs/lib/setup.sh's installer).
slurm_local_install() {
  local cmd missing=0
  for cmd in sbatch scontrol slurmctld slurmd munged mungekey; do
    command -v "$cmd" >/dev/null || PATH=$PATH:/usr/sbin command -v "$cmd" >/dev/null || missing=1
  done
  export PATH=$PATH:/usr/sbin
  ((missing)) || return 0
  slurm_local_log "installing slurm-wlm and munge"
  (
    source "$MUNET_REPO/jobs/lib/setup.sh"
    munet_install_packages slurm-wlm munge
  ) || slurm_local_skip "could not install slurm-wlm and munge with apt-get (see above)"
}

# Prints a TCP port nobody listens on.
slurm_local_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

slurm_local_write_conf() {
  local d=$SLURM_LOCAL_DIR host node
  host=$(hostname -s)
  # The node as slurmd sees it (CPUs, sockets, cores, memory), under this host's name.
  node=$(slurmd -C | head -1) || return 1
  [[ $node == NodeName=* ]] || return 1
  local ctld_port slurmd_port
  ctld_port=$(slurm_local_free_port) && slurmd_port=$(slurm_local_free_port) || return 1
  while [[ $slurmd_port == "$ctld_port" ]]; do slurmd_port=$(slurm_local_free_port); done
  cat > "$d/slurm.conf" <<EOF
# A one-node test cluster on loopback, written by tests/slurm/slurm_local.sh.
ClusterName=munettest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again after 10 s instead of 120 s.
AuthInfo=socket=$d/munge/munge.socket,cred_expire=10
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
# Look at pending jobs every few seconds (the defaults are 60 and 30 s).
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
MinJobAge=3600
KillWait=30
InactiveLimit=0
SlurmdTimeout=300
$node NodeAddr=127.0.0.1 NodeHostname=$host State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

# Kills a daemon we started, by the pid in its pid file, and waits for it to go.
slurm_local_kill_pidfile() {
  local f=$1 pid
  [[ -f $f ]] || return 0
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; ++i)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

slurm_local_stop() {
  [[ -n ${SLURM_LOCAL_DIR:-} && -d $SLURM_LOCAL_DIR ]] || return 0
  local d=$SLURM_LOCAL_DIR
  if [[ -f $d/run/slurmctld.pid ]]; then
    scancel --quiet --user=root 2>/dev/null || true
    # Give slurmd a moment to end the jobs' steps (their processes are ours too).
    for ((i = 0; i < 50; ++i)); do
      [[ -z $(squeue -h -t running,completing 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  slurm_local_kill_pidfile "$d/run/slurmd.pid"
  slurm_local_kill_pidfile "$d/run/slurmctld.pid"
  slurm_local_kill_pidfile "$d/run/munged.pid"
  if [[ ${SLURM_LOCAL_KEEP:-0} == 1 ]]; then
    echo "slurm-local: left $d"
  else
    rm -rf "$d"
  fi
  SLURM_LOCAL_DIR=
}

slurm_local_dump_logs() {
  local f
  for f in "$SLURM_LOCAL_DIR"/log/*.log; do
    [[ -f $f ]] || continue
    echo "---- $f (last 30 lines)"
    tail -30 "$f"
  done
}

slurm_local_start() {
  [[ ${MUNET_SKIP_SLURM_TESTS:-0} == 1 ]] && slurm_local_skip "MUNET_SKIP_SLURM_TESTS=1"
  ((EUID == 0)) || slurm_local_skip "needs root to run slurmctld and slurmd (this user is $(id -un))"
  command -v /usr/bin/python3 >/dev/null || slurm_local_skip "needs /usr/bin/python3 to pick free ports"
  slurm_local_install
  SLURM_LOCAL_DIR=$(mktemp -d /tmp/munet-slurm.XXXXXX)
  trap slurm_local_stop EXIT
  local d=$SLURM_LOCAL_DIR
  mkdir -p "$d"/{munge,state,spool,run,log}
  chmod 700 "$d/munge"
  export SLURM_CONF=$d/slurm.conf
  slurm_local_write_conf || slurm_local_skip "could not write slurm.conf (slurmd -C: $(slurmd -C 2>&1 | head -2))"

  slurm_local_log "starting munged, slurmctld, slurmd in $d"
  mungekey --create --keyfile="$d/munge/munge.key" 2>/dev/null ||
    { dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none && chmod 600 "$d/munge/munge.key"; }
  munged --force --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
    --pid-file="$d/run/munged.pid" --log-file="$d/log/munged.log" --seed-file="$d/munge/munged.seed" ||
    { slurm_local_dump_logs; slurm_local_skip "munged does not start"; }
  slurmctld -f "$SLURM_CONF" || { slurm_local_dump_logs; slurm_local_skip "slurmctld does not start"; }
  slurmd -f "$SLURM_CONF" || { slurm_local_dump_logs; slurm_local_skip "slurmd does not start"; }

  local state=''
  for ((i = 0; i < 120; ++i)); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -1)
    [[ $state == idle ]] && break
    sleep 0.5
  done
  if [[ $state != idle ]]; then
    slurm_local_dump_logs
    slurm_local_skip "the node did not become idle within 60 s (state: ${state:-none})"
  fi
  slurm_local_log "Slurm $(sinfo --version | cut -d' ' -f2) up: node $(sinfo -h -N -o '%N %c CPUs %m MB %T')"
}

# Prints a job's field (State, Restarts, ExitCode, ...) from `scontrol show job`.
slurm_local_job_field() {
  scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# Waits until job JOBID has ended (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...), at most TIMEOUT
# seconds; prints the final state. Fails (status 1) on timeout.
slurm_local_wait_job() {
  local job=$1 timeout=$2 state='' start=$SECONDS
  while ((SECONDS - start < timeout)); do
    state=$(slurm_local_job_field "$job" JobState)
    case $state in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
        echo "$state"
        return 0
        ;;
    esac
    sleep 1
  done
  echo "${state:-unknown} (still not done after $timeout s)"
  return 1
}
