#!/bin/sh
# Install what is missing, build, and run every test.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
status=0
meson test -C build --print-errorlogs "$@" || status=$?
# The Slurm backend's tests need a real cluster: say so when they could
# not run, rather than let a SKIP in the list pass unnoticed.
why=
for prog in slurmctld slurmd srun munged; do
	command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] ||
	    why="Slurm is not installed (no $prog; Debian's slurmctld slurmd slurm-client munge bring it)"
done
[ -n "$why" ] || [ "$(id -u)" -eq 0 ] ||
    why="they start Slurm's daemons, which need root"
if [ -n "$why" ]; then
	echo "test.sh: the Slurm tests (suite slurm) were SKIPPED: $why"
fi
exit "$status"
