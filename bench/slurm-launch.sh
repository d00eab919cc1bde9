#!/bin/sh
# slurm-launch.sh: a program of N courier nodes (bench-node) launched as a
# Slurm job over three simulated hosts (scripts/slurm-cluster.sh), beside
# the floor of srun starting N plain tasks the same way, in the same run:
#
#   start	submit to every node serving (lpctl run --backend slurm
#		says "N nodes ready") / every task started (each task
#		appends a line to a file)
#   stop	Ctrl+C to the job gone from squeue and lpctl exited /
#		scancel to the job gone and srun exited
#
# Prints each run, then the medians and their ratios, against the target
# of 2x the floor. Needs root and Slurm, as the tests' cluster does.
#
#	bench/slurm-launch.sh BUILD_DIR [N] [RUNS]	(default 300 and 5)
set -eu

build=${1:?usage: slurm-launch.sh BUILD_DIR [N] [RUNS]}
n=${2:-300}
runs=${3:-5}
build=$(cd "$build" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
lpctl=$build/lpctl/lpctl
node=$build/bench/bench-node
[ -x "$lpctl" ] && [ -x "$node" ] ||
    { echo "slurm-launch.sh: build $build first (ninja -C $build)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lpd-slurm-bench.XXXXXX")
cluster=$tmp/cluster
cleanup() {
	"$src/scripts/slurm-cluster.sh" stop "$cluster" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Enough CPUs on each host for a third of the nodes.
SLURM_CLUSTER_CPUS=$(( (n + 2) / 3 ))
export SLURM_CLUSTER_CPUS
"$src/scripts/slurm-cluster.sh" start "$cluster" 3 >/dev/null
SLURM_CONF=$cluster/slurm.conf
export SLURM_CONF
export NO_COLOR=1
PATH=$PATH:/usr/sbin

now() {
	date +%s.%N
}

# until COMMAND succeeds, every 10 ms; 120 s at most.
until_true() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ "$i" -le 12000 ] || { echo "slurm-launch.sh: timed out" >&2;
		    exit 1; }
		sleep 0.01
	done
}

lines_are() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

no_job() {
	[ -z "$(squeue -h -o %i 2>/dev/null)" ]
}

has_line() {
	grep -q -- "$2" "$1" 2>/dev/null
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

printf '{ "program": "bench", "stop": { "grace_s": 10 }, "nodes": [
  { "group": "n", "type": "courier", "replicas": %d,
    "command": ["%s"] } ] }\n' "$n" "$node" >"$tmp/bench.json"

echo "slurm-launch: $n courier nodes over 3 simulated hosts" \
    "($SLURM_CLUSTER_CPUS CPUs each), $runs runs"
printf '%-4s %12s %12s %12s %12s\n' run floor-start lpd-start floor-stop \
    lpd-stop
: >"$tmp/results"
r=1
while [ "$r" -le "$runs" ]; do
	# The floor: srun starts N tasks; each says so; scancel ends them.
	rm -f "$tmp/started"
	t0=$(now)
	srun -J floor -n "$n" --cpus-per-task=1 /bin/sh -c \
	    'echo x >>"$1"; exec sleep 1000' sh "$tmp/started" \
	    >/dev/null 2>&1 &
	srun_pid=$!
	until_true lines_are "$tmp/started" "$n"
	t1=$(now)
	scancel -n floor
	until_true gone "$srun_pid"
	until_true no_job
	t2=$(now)
	wait "$srun_pid" 2>/dev/null || true

	# lpd's: the same job, as a program of courier nodes.
	t3=$(now)
	"$lpctl" run --backend slurm --log-dir "$tmp/logs" "$tmp/bench.json" \
	    >"$tmp/run.out" 2>"$tmp/run.err" &
	lp=$!
	until_true has_line "$tmp/run.err" "n: $n nodes ready"
	t4=$(now)
	kill -INT "$lp"
	until_true gone "$lp"
	until_true no_job
	t5=$(now)
	wait "$lp" 2>/dev/null || true

	echo "$t0 $t1 $t2 $t3 $t4 $t5" | awk -v r="$r" '{
	    fs = $2 - $1; ls = $5 - $4; fx = $3 - $2; lx = $6 - $5;
	    printf "%-4d %10.3f s %10.3f s %10.3f s %10.3f s\n", r, fs, ls,
	        fx, lx;
	    print fs, ls, fx, lx >> "'"$tmp/results"'" }'
	r=$((r + 1))
done

# Medians, and the ratios to the floor against the target.
sort -n -k1,1 "$tmp/results" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' >"$tmp/m1"
sort -n -k2,2 "$tmp/results" | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }' >"$tmp/m2"
sort -n -k3,3 "$tmp/results" | awk '{ a[NR] = $3 } END { print a[int((NR + 1) / 2)] }' >"$tmp/m3"
sort -n -k4,4 "$tmp/results" | awk '{ a[NR] = $4 } END { print a[int((NR + 1) / 2)] }' >"$tmp/m4"
paste "$tmp/m1" "$tmp/m2" "$tmp/m3" "$tmp/m4" | awk '{
    printf "median start: floor %.3f s, lpd %.3f s: %.2fx (target <= 2: %s)\n",
        $1, $2, $2 / $1, $2 / $1 <= 2 ? "met" : "MISSED";
    printf "median stop:  floor %.3f s, lpd %.3f s: %.2fx (target <= 2: %s)\n",
        $3, $4, $4 / $3, $4 / $3 <= 2 ? "met" : "MISSED" }'
