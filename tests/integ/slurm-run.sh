#!/bin/sh
# slurm-run.sh: lpctl run --backend slurm on a real Slurm cluster of three
# simulated hosts (scripts/slurm-cluster.sh). The consumer_producers
# example across the hosts, each node told its host; the same file on one
# machine; Ctrl+C, scancel and a killed lpctl each end the program and the
# job; a crash on a remote host restarts there; a failure there stops the
# whole program; and no srun, a refused job, a job too big and an
# allocation that never comes each exit 2 with nothing left queued.
# Skipped, and said so, without Slurm or root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"

slurm_start 3
cp_dir=$EXAMPLES/consumer_producers
marker=lpd-slurm-run-$$

# run_slurm STATUS OUT ARGS...: lpctl run --backend slurm, bounded.
run_slurm() {
	want=$1
	out=$2
	shift 2
	status=0
	timeout 120 "$LPCTL" run --backend slurm --log-dir "$tmp/logs-$out" \
	    "$@" >"$tmp/$out.out" 2>"$tmp/$out.err" || status=$?
	[ "$status" -eq "$want" ] ||
	    fail "lpctl run --backend slurm $* exited $status, not $want"
}

# no_nodes_left: no process of our test programs runs, within 10 s.
no_nodes_left() {
	i=0
	while pgrep -f "$marker" >/dev/null; do
		i=$((i + 1))
		[ "$i" -le 100 ] ||
		    fail "nodes left: $(pgrep -af "$marker" | tr '\n' ' ')"
		sleep 0.1
	done
}

# start_slurm NAME OUT: lpctl run --backend slurm of $tmp/NAME.json in the
# background, one CPU a host, to $tmp/OUT.out and .err; its pid in $pid.
# No timeout(1) around it: it would pass a signal on twice.
start_slurm() {
	"$LPCTL" run --backend slurm --slurm-arg=--ntasks-per-node=1 \
	    --log-dir "$tmp/logs-$2" "$tmp/$1.json" >"$tmp/$2.out" \
	    2>"$tmp/$2.err" &
	pid=$!
	bgpids="$bgpids $pid"
}

# A program of NAME: N process nodes that say where they run and wait for
# the stop notice.
waiting_program() {
	program "$tmp/$1.json" "{
	  \"program\": \"$1\", \"stop\": { \"grace_s\": 3 },
	  \"nodes\": [ { \"group\": \"w\", \"type\": \"process\",
	    \"replicas\": $2,
	    \"command\": [\"/bin/sh\", \"-c\", \"echo on \$SLURMD_NODENAME job \$SLURM_JOB_ID; trap 'echo got TERM; exit 0' TERM; while :; do sleep 0.1; done\", \"$marker\"] } ] }"
}

# --- consumer_producers across the hosts: 2 CPUs a host, 5 nodes.
run_slurm 0 cp --slurm-arg=--ntasks-per-node=2 \
    "$cp_dir/consumer_producers.json"
f=$tmp/cp.err
expect "$f" '^lpctl: job [0-9]+: 3 hosts: n1 \(2 CPUs\), n2 \(2 CPUs\), n3 \(1 CPU\)$'
expect "$f" '^lpctl: producer/0: started on n1$'
expect "$f" '^lpctl: producer/1: started on n1$'
expect "$f" '^lpctl: producer/2: started on n2$'
expect "$f" '^lpctl: producer/3: started on n2$'
expect "$f" '^lpctl: consumer/0: started on n3$'
# Each serves on its host's own address.
expect "$f" '^lpctl: producer/0: ready on tcp:127\.0\.0\.2:[0-9]+$'
expect "$f" '^lpctl: producer/3: ready on tcp:127\.0\.0\.3:[0-9]+$'
expect "$f" '^lpctl: consumer/0: ready on tcp:127\.0\.0\.4:[0-9]+$'
expect "$tmp/cp.out" '^\[consumer/0\] round 2: results \[8,9,10,11\], sum 38$'
expect "$f" 'program "consumer_producers" ended'
# Per-node logs on the submit host, stamped as on one machine.
expect "$tmp/logs-cp/consumer/0.log" "${T}round 0: results \[0,1,2,3\], sum 6$"
no_jobs
ok "consumer_producers: the consumer on n3 calls producers on n1 and n2"

# The same file, unchanged, on one machine.
PATH=$cp_dir:$PATH run_lpctl 0 cp-local run --log-dir "$tmp/logs-local" \
    "$cp_dir/consumer_producers.json"
expect "$tmp/cp-local.out" '^\[consumer/0\] round 2: results \[8,9,10,11\], sum 38$'
ok "the same program file runs on one machine"

# --- every node told its host and job by Slurm; Ctrl+C stops them all.
waiting_program where 3
start_slurm where where
wait_for "$tmp/where.out" '^\[w/2\] on n3 job [0-9]+$' 30
wait_for "$tmp/where.out" '^\[w/1\] on n2 job [0-9]+$' 10
wait_for "$tmp/where.out" '^\[w/0\] on n1 job [0-9]+$' 10
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 130 ] || fail "Ctrl+C: lpctl exited $status, not 130"
for i in 0 1 2; do
	expect "$tmp/where.out" "^\[w/$i\] got TERM$"
	expect "$tmp/where.err" "^lpctl: w/$i: exited with status 0$"
done
expect "$tmp/where.err" '^lpctl: stopping the program: Ctrl\+C$'
no_jobs
no_nodes_left
ok "each node runs where Slurm says; Ctrl+C stops every host's nodes"

# --- scancel: the program stops the same way, and fails.
waiting_program cancelled 3
start_slurm cancelled cancel
wait_for "$tmp/cancel.out" '^\[w/2\] on n3' 30
job=$(squeue -h -n cancelled -o '%i')
[ -n "$job" ] || fail "squeue does not show the job"
scancel "$job"
status=0
wait "$pid" || status=$?
[ "$status" -eq 1 ] || fail "scancel: lpctl exited $status, not 1"
expect "$tmp/cancel.err" 'program "cancelled" failed: Slurm stopped the job \(scancel or a limit\)'
no_jobs
no_nodes_left
ok "scancel $job stops the program; lpctl says so and exits 1"

# --- lpctl killed: the agents stop the nodes, and the job ends.
waiting_program orphaned 3
start_slurm orphaned kill
wait_for "$tmp/kill.out" '^\[w/2\] on n3' 30
wait_for "$tmp/kill.out" '^\[w/0\] on n1' 10
kill -KILL "$pid"
no_jobs
no_nodes_left
ok "SIGKILL to lpctl: the job and every node end within seconds"

# --- a crash on a remote host, restarted there.
program "$tmp/crash.json" "{
  \"program\": \"crash\", \"stop\": { \"grace_s\": 3 },
  \"nodes\": [
    { \"group\": \"steady\", \"type\": \"process\",
      \"command\": [\"/bin/sh\", \"-c\", \"sleep 1\", \"$marker\"] },
    { \"group\": \"flaky\", \"type\": \"process\",
      \"restart\": \"on-failure\",
      \"command\": [\"/bin/sh\", \"-c\", \"if [ -e $tmp/crashed ]; then echo again on \$SLURMD_NODENAME; exit 0; fi; touch $tmp/crashed; echo crash on \$SLURMD_NODENAME; exit 3\", \"$marker\"] } ] }"
run_slurm 0 crash --slurm-arg=--ntasks-per-node=1 "$tmp/crash.json"
expect "$tmp/crash.out" '^\[flaky/0\] crash on n2$'
expect "$tmp/crash.out" '^\[flaky/0\] again on n2$'
expect "$tmp/crash.err" '^lpctl: flaky/0: exited with status 3$'
expect "$tmp/crash.err" '^lpctl: flaky/0: restarting in 0\.1 s \(restart 1 of 10\)$'
expect "$tmp/crash.err" 'program "crash" ended'
no_jobs
ok "a node that crashed on n2 restarts there"

# --- a failure on a remote host stops the program everywhere.
program "$tmp/fail.json" "{
  \"program\": \"fail\", \"stop\": { \"grace_s\": 3 },
  \"nodes\": [
    { \"group\": \"a\", \"type\": \"process\", \"replicas\": 2,
      \"command\": [\"/bin/sh\", \"-c\", \"exec sleep 100\", \"$marker\"] },
    { \"group\": \"b\", \"type\": \"process\",
      \"command\": [\"/bin/sh\", \"-c\", \"sleep 0.5; echo bye; exit 4\", \"$marker\"] } ] }"
run_slurm 1 fail --slurm-arg=--ntasks-per-node=1 "$tmp/fail.json"
expect "$tmp/fail.err" '^lpctl: b/0: failed: exited with status 4$'
expect "$tmp/fail.err" '^  \| bye$'
expect "$tmp/fail.err" '^lpctl: a/0: killed by signal 15 \(SIGTERM\)$'
expect "$tmp/fail.err" 'program "fail" failed: b/0 exited with status 4'
no_jobs
no_nodes_left
ok "b/0 failing on n3 stops a/0 and a/1 on n1 and n2; exit 1"

# --- no srun: exit 2, said so.
waiting_program nosrun 1
status=0
PATH=/nonexistent "$LPCTL" run --backend slurm "$tmp/nosrun.json" \
    >"$tmp/nosrun.out" 2>"$tmp/nosrun.err" || status=$?
[ "$status" -eq 2 ] || fail "no srun: lpctl exited $status, not 2"
expect "$tmp/nosrun.err" 'no srun: the Slurm backend needs Slurm.s commands on PATH'
# LPD_BACKEND chooses it too, and a wrong one is a usage error.
status=0
LPD_BACKEND=slurm PATH=/nonexistent "$LPCTL" run "$tmp/nosrun.json" \
    >"$tmp/nosrun2.out" 2>"$tmp/nosrun2.err" || status=$?
[ "$status" -eq 2 ] || fail "LPD_BACKEND=slurm: exited $status, not 2"
expect "$tmp/nosrun2.err" 'no srun'
run_lpctl 2 badbackend run --backend kubernetes "$tmp/nosrun.json"
expect "$tmp/badbackend.err" 'backend "kubernetes": it is "local"'
# A submit host that does not resolve: said so, exit 2, no job.
status=0
LPD_SLURM_SUBMIT_HOST=no-such-host.invalid "$LPCTL" run --backend slurm \
    "$tmp/nosrun.json" >"$tmp/badhost.out" 2>"$tmp/badhost.err" || status=$?
[ "$status" -eq 2 ] || fail "a bad submit host: exited $status, not 2"
expect "$tmp/badhost.err" 'cannot find the address of no-such-host.invalid: .*LPD_SLURM_SUBMIT_HOST'
ok "no srun, a submit host that is not one, or a backend that is not one: exit 2"

# --- Slurm refuses: GPUs on a cluster that has none.
program "$tmp/gpu.json" '{ "program": "gpu", "nodes": [
  { "group": "g", "type": "process", "command": ["/bin/true"],
    "resources": { "gpus": 1 } } ] }'
run_slurm 2 gpu "$tmp/gpu.json"
expect "$tmp/gpu.err" 'program "gpu" did not start: Slurm refused the job: srun exited with status 1: srun: error: '
no_jobs
ok "a job Slurm refuses: exit 2 with Slurm's reason"

# --- more CPUs on one node than any host has.
program "$tmp/big.json" '{ "program": "big", "nodes": [
  { "group": "g", "type": "process", "command": ["/bin/true"],
    "resources": { "cpus": 64 } } ] }'
run_slurm 2 big "$tmp/big.json"
expect "$tmp/big.err" 'program "big" did not start: Slurm cannot run the job as asked'
no_jobs
ok "a node bigger than any host: exit 2, nothing queued"

# --- an allocation that does not come: every host is taken.
srun -N3 --exclusive -J hog /bin/sh -c 'exec sleep 100' "$marker" \
    >"$tmp/hog.out" 2>&1 &
hog=$!
bgpids="$bgpids $hog"
i=0
until [ "$(squeue -h -n hog -t running -o '%i')" != "" ]; do
	i=$((i + 1))
	[ "$i" -le 100 ] || fail "the hog job does not run"
	sleep 0.1
done
waiting_program late 1
run_slurm 2 late --slurm-timeout 2 "$tmp/late.json"
expect "$tmp/late.err" 'program "late" did not start: Slurm gave no allocation within 2 s \(job [0-9]+ cancelled\)'
[ -z "$(squeue -h -n late -o '%i')" ] || fail "job late is still queued"
scancel -n hog
gone "$hog" 20 || fail "the hog's srun outlived scancel"
no_jobs
no_nodes_left
ok "no allocation within --slurm-timeout: cancelled, exit 2"

# --- through lpd: launch, status with hosts, call, logs, stop.
start_lpd
sed 's/"rounds": 3/"rounds": 100000000/' "$cp_dir/consumer_producers.json" \
    >"$tmp/long-cp.json"
# The nodes' commands are found on the PATH that lpctl hands to lpd.
launch_cp() {
	(PATH=$cp_dir:$PATH; lpctl_d 0 "$1" launch --backend slurm \
	    --slurm-arg=--ntasks-per-node=2 --name "$2" --ready-timeout 60 \
	    "$tmp/long-cp.json")
}
launch_cp launch viad
lpctl_d 0 status status -v viad
expect "$tmp/status.out" '^  Slurm job [0-9]+$'
expect "$tmp/status.out" '^  NODE +STATE +PID +RESTARTS +UPTIME +EXIT +ADDRESS +HOST$'
expect "$tmp/status.out" '^  producer/0 +running .* tcp:127\.0\.0\.2:[0-9]+ +n1$'
expect "$tmp/status.out" '^  consumer/0 +running .* tcp:127\.0\.0\.4:[0-9]+ +n3$'
lpctl_d 0 json status --json viad
[ "$(json 'j["programs"][0]["backend"]' "$tmp/json.out")" = slurm ] ||
    fail "status --json: backend is not slurm"
[ "$(json 'j["programs"][0]["nodes"][2]["host"]' "$tmp/json.out")" = n2 ] ||
    fail "status --json: producer/2 is not on n2"
# Each node runs where status says: Slurm told it so (SLURMD_NODENAME in
# its environment; on this one machine its pid is a local one).
for i in 0 1 2 3 4; do
	pid=$(json "j['programs'][0]['nodes'][$i]['pid']" "$tmp/json.out")
	host=$(json "j['programs'][0]['nodes'][$i]['host']" "$tmp/json.out")
	told=$(tr '\0' '\n' <"/proc/$pid/environ" |
	    sed -n 's/^SLURMD_NODENAME=//p')
	[ "$told" = "$host" ] ||
	    fail "node $i (pid $pid) is on $host, but Slurm told it ${told:-nothing}"
done
job=$(json 'j["programs"][0]["job"]' "$tmp/json.out")
[ "$(squeue -h -j "$job" -o '%j')" = viad ] ||
    fail "squeue does not show job $job as viad"
lpctl_d 0 call call viad producer/3 work 21
expect "$tmp/call.out" '^21$'
wait_for_log() {
	i=0
	until "$LPCTL" --socket "$sock" logs viad consumer/0 \
	    >"$tmp/logs.out" 2>&1 && grep -q 'round 1:' "$tmp/logs.out"; do
		i=$((i + 1))
		[ "$i" -le 200 ] || fail "no round 1 in consumer/0's log"
		sleep 0.05
	done
}
wait_for_log
ok "through lpd: status shows job $job and each node's host; call, logs"

# restart PROGRAM launches it again as a Slurm job, with its options;
# lpd takes the submit host from the environment lpctl passes.
(PATH=$cp_dir:$PATH; LPD_SLURM_SUBMIT_HOST=127.0.0.1;
    export LPD_SLURM_SUBMIT_HOST; lpctl_d 0 restartp restart viad)
lpctl_d 0 json3 status --json viad
[ "$(json 'j["programs"][0]["backend"]' "$tmp/json3.out")" = slurm ] ||
    fail "restart: backend is not slurm"
[ "$(json 'j["programs"][0]["job"]' "$tmp/json3.out")" != "$job" ] ||
    fail "restart: still job $job"
[ "$(json 'j["programs"][0]["slurm_args"]' "$tmp/json3.out")" = \
    "['--ntasks-per-node=2']" ] || fail "restart: the srun options are lost"
[ "$(json 'j["programs"][0]["nodes"][4]["host"]' "$tmp/json3.out")" = n3 ] ||
    fail "restart: consumer/0 is not on n3"
ok "restart PROGRAM: a new job, placed as before"

lpctl_d 0 stop stop viad
lpctl_d 0 wait wait viad
no_jobs
ok "lpctl stop ends the program and the job"

# scancel, seen through lpd.
launch_cp launch2 cancelled2
lpctl_d 0 json2 status --json cancelled2
scancel "$(json 'j["programs"][0]["job"]' "$tmp/json2.out")"
lpctl_d 1 wait2 wait cancelled2
lpctl_d 1 status2 status cancelled2
expect "$tmp/status2.out" 'Slurm stopped the job \(scancel or a limit\)'
no_jobs
ok "scancel: lpd shows the program failed, and why"

# lpd killed: the agents stop the nodes and the job ends.
launch_cp launch3 orphan2
kill -KILL "$lpd_pid"
no_jobs
i=0
while pgrep -x producer >/dev/null || pgrep -x consumer >/dev/null; do
	i=$((i + 1))
	[ "$i" -le 100 ] || fail "nodes outlived lpd by 10 s"
	sleep 0.1
done
ok "SIGKILL to lpd: the job and every node end"
