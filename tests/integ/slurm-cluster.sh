#!/bin/sh
# slurm-cluster.sh: the throwaway Slurm cluster that the Slurm backend's
# tests will run on (scripts/slurm-cluster.sh). Three simulated hosts come
# up; a job's tasks land one on each, where Slurm names the host; scancel
# ends a job's task; and the stop leaves no daemon. Skipped, and said so,
# where Slurm is not installed or the test is not root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"

slurm_start 3
ok "three simulated hosts up"

# A job of three tasks, one per host, each told its host's name.
srun -N3 sh -c 'echo "$SLURMD_NODENAME $SLURM_PROCID"' \
    >"$tmp/hosts.out" 2>"$tmp/hosts.err" || fail "srun -N3 failed"
[ "$(cut -d' ' -f1 "$tmp/hosts.out" | sort | tr '\n' ' ')" = "n1 n2 n3 " ] ||
    fail "the tasks did not land one on each host: $(cat "$tmp/hosts.out")"
ok "srun -N3: one task on each of n1, n2, n3"

# scancel ends a job's tasks, and srun returns.
srun -N1 -J lpd-scancel sh -c 'echo $$ >"$1/task.pid"; exec sleep 600' \
    sh "$tmp" >"$tmp/long.out" 2>&1 &
srun_pid=$!
bgpids="$bgpids $srun_pid"
wait_for_file() {
	i=0
	until [ -s "$1" ]; do
		i=$((i + 1))
		[ "$i" -le 200 ] || fail "no $1 after 20 s"
		sleep 0.1
	done
}
wait_for_file "$tmp/task.pid"
task=$(cat "$tmp/task.pid")
job=$(squeue -h -n lpd-scancel -o '%i')
[ -n "$job" ] || fail "squeue does not show the job"
scancel "$job"
gone "$srun_pid" 20 || fail "srun still runs 20 s after scancel $job"
gone "$task" 20 || fail "the task (pid $task) outlived scancel"
ok "scancel $job ended its task and srun"

pids=$(cat "$cluster"/*.pid)
slurm_stop
for p in $pids; do
	gone "$p" 15 || fail "daemon $p still runs after the stop"
done
ok "the stop leaves no daemon"
