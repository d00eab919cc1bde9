# slurm-lib.sh: what the Slurm tests share (sourced after lib.sh): skip
# without Slurm or root, and a throwaway cluster of three simulated hosts
# (scripts/slurm-cluster.sh) that goes with the test.
: "${SOURCE_ROOT:?SOURCE_ROOT is not set; run the tests with meson test}"

PATH=$PATH:/usr/sbin
for prog in slurmctld slurmd srun scancel squeue munged; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		echo "$name: SKIP: Slurm is not installed (no $prog); Debian's" \
		    "slurmctld slurmd slurm-client munge bring it"
		exit 77
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "$name: SKIP: Slurm's daemons run as root here; run as root"
	exit 77
fi

cluster=$tmp/cluster
slurm_stop() {
	"$SOURCE_ROOT/scripts/slurm-cluster.sh" stop "$cluster" || true
}
trap 'slurm_stop; cleanup' EXIT

# slurm_start N: N simulated hosts, n1 ... nN; SLURM_CONF exported.
slurm_start() {
	"$SOURCE_ROOT/scripts/slurm-cluster.sh" start "$cluster" "$1" \
	    >"$tmp/start.out" 2>&1 || fail "the cluster did not come up"
	expect "$tmp/start.out" "^SLURM_CONF=$cluster/slurm.conf"
	SLURM_CONF=$cluster/slurm.conf
	export SLURM_CONF
}

# no_jobs: the cluster runs no job and has none queued, within 10 s.
no_jobs() {
	i=0
	while [ -n "$(squeue -h -o '%i %j %T' 2>/dev/null)" ]; do
		i=$((i + 1))
		[ "$i" -le 100 ] ||
		    fail "jobs left: $(squeue -h -o '%i %j %T' | tr '\n' ' ')"
		sleep 0.1
	done
}
