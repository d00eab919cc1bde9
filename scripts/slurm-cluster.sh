#!/bin/sh
# slurm-cluster.sh: a throwaway Slurm cluster on this machine, for tests:
# one slurmctld and N slurmd (default 3), each slurmd a simulated host
# with its own name (n1, n2, ...), loopback address (127.0.0.N) and port.
# Everything lives in one folder: munge's key and socket, slurm.conf, the
# state, spools, pid and log files. Nothing is written under /etc and no
# service manager is involved. Needs root (Slurm's daemons run as root
# here) and Debian's slurmctld, slurmd, slurm-client and munge.
#
#	scripts/slurm-cluster.sh start DIR [N]	bring it up; waits until
#						sinfo shows N idle hosts
#	scripts/slurm-cluster.sh stop DIR	stop every daemon of DIR
#	scripts/slurm-cluster.sh env DIR	print what a client needs
#						(eval it: SLURM_CONF=...)
#
# start prints the env line too. A start that fails stops what it began.
# Each host has 4 CPUs, or SLURM_CLUSTER_CPUS (a benchmark's hundreds).
set -eu

usage() {
	echo "usage: slurm-cluster.sh start DIR [N] | stop DIR | env DIR" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
n=${3:-3}
case $n in
''|*[!0-9]*|0) usage ;;
esac

# The pid files of the daemons DIR runs, one per line.
pidfiles() {
	ls "$dir"/munged.pid "$dir"/slurmctld.pid "$dir"/slurmd-*.pid \
	    2>/dev/null || true
}

# Stop every daemon of DIR, at once (each takes 1-2 s after SIGTERM),
# then SIGKILL what is left after 10 s.
stop() {
	pids=
	for f in $(pidfiles); do
		p=$(cat "$f" 2>/dev/null || true)
		case $p in
		''|*[!0-9]*) continue ;;
		esac
		kill -TERM "$p" 2>/dev/null && pids="$pids $p"
	done
	i=0
	for p in $pids; do
		while kill -0 "$p" 2>/dev/null; do
			i=$((i + 1))
			if [ "$i" -gt 100 ]; then
				kill -KILL "$p" 2>/dev/null || true
				break
			fi
			sleep 0.1
		done
	done
	rm -f "$dir"/*.pid
}

# What a client command needs.
env_line() {
	echo "SLURM_CONF=$dir/slurm.conf; export SLURM_CONF"
}

start() {
	for prog in munged mungekey slurmctld slurmd sinfo srun; do
		command -v "$prog" >/dev/null 2>&1 ||
		    [ -x "/usr/sbin/$prog" ] || {
			echo "slurm-cluster.sh: no $prog; install Debian's" \
			    "slurmctld slurmd slurm-client munge" >&2
			exit 1
		}
	done
	[ "$(id -u)" -eq 0 ] || {
		echo "slurm-cluster.sh: Slurm's daemons run as root here;" \
		    "run it as root" >&2
		exit 1
	}
	mkdir -p "$dir/state" "$dir/spool"
	dir=$(cd "$dir" && pwd)
	trap 'stop' EXIT

	PATH=$PATH:/usr/sbin
	mungekey --create --force --keyfile="$dir/munge.key" >/dev/null
	chmod 0400 "$dir/munge.key"
	munged --socket="$dir/munge.sock" --key-file="$dir/munge.key" \
	    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
	    --seed-file="$dir/munged.seed" --force

	{
		echo "ClusterName=lpdtest"
		echo "SlurmctldHost=localhost(127.0.0.1)"
		echo "SlurmctldPort=6817"
		echo "AuthType=auth/munge"
		echo "CredType=cred/munge"
		echo "AuthInfo=socket=$dir/munge.sock"
		echo "SlurmUser=root"
		echo "SlurmdUser=root"
		echo "StateSaveLocation=$dir/state"
		echo "SlurmdSpoolDir=$dir/spool/%n"
		echo "SlurmctldPidFile=$dir/slurmctld.pid"
		echo "SlurmdPidFile=$dir/slurmd-%n.pid"
		echo "SlurmctldLogFile=$dir/slurmctld.log"
		echo "SlurmdLogFile=$dir/slurmd-%n.log"
		echo "ProctrackType=proctrack/linuxproc"
		echo "TaskPlugin=task/none"
		echo "JobAcctGatherType=jobacct_gather/none"
		echo "AccountingStorageType=accounting_storage/none"
		echo "MpiDefault=none"
		echo "ReturnToService=2"
		echo "InactiveLimit=0"
		echo "KillWait=5"
		# Only backfill starts heterogeneous jobs; at once, not in 30 s.
		echo "SchedulerType=sched/backfill"
		echo "SchedulerParameters=bf_interval=1"
		# Each simulated host may claim more CPUs than the machine has.
		echo "SlurmdParameters=config_overrides"
		i=1
		nodes=
		while [ "$i" -le "$n" ]; do
			echo "NodeName=n$i NodeAddr=127.0.0.$((i + 1))" \
			    "Port=$((6818 + i)) CPUs=${SLURM_CLUSTER_CPUS:-4} RealMemory=1024"
			nodes="${nodes:+$nodes,}n$i"
			i=$((i + 1))
		done
		echo "PartitionName=all Nodes=$nodes Default=YES" \
		    "MaxTime=INFINITE State=UP"
	} >"$dir/slurm.conf"
	SLURM_CONF=$dir/slurm.conf
	export SLURM_CONF

	slurmctld -f "$SLURM_CONF"
	i=1
	while [ "$i" -le "$n" ]; do
		mkdir -p "$dir/spool/n$i"
		slurmd -f "$SLURM_CONF" -N "n$i"
		i=$((i + 1))
	done

	# Up when sinfo counts n idle hosts; give it 30 s.
	i=0
	until [ "$(sinfo -h -t idle -o '%D' 2>/dev/null | head -n 1)" = "$n" ]
	do
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			echo "slurm-cluster.sh: $n hosts not idle after 30 s;" \
			    "see $dir/*.log" >&2
			sinfo >&2 || true
			exit 1
		fi
		sleep 0.1
	done
	trap - EXIT
	env_line
}

case $cmd in
start)	start ;;
stop)	stop ;;
env)	env_line ;;
*)	usage ;;
esac
