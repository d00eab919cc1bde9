# lib.sh: what the integration tests share (sourced). In the manner of
# tmux's regress scripts: a private folder per test, deadlines instead of
# sleeps, cleanup by trap. meson sets LPCTL, EXAMPLES and TESTNODE.
set -eu

# The time at the head of every line of a node's log file (grep -E).
T='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z '

: "${LPCTL:?LPCTL is not set; run the tests with meson test}"
: "${EXAMPLES:?EXAMPLES is not set; run the tests with meson test}"
: "${TESTNODE:?TESTNODE is not set; run the tests with meson test}"

name=${0##*/}
name=${name%.sh}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lpd-$name.XXXXXX")
export XDG_STATE_HOME="$tmp/state"
export NO_COLOR=1
bgpids=

cleanup() {
	for p in $bgpids; do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "$name: FAIL: $*" >&2
	for f in "$tmp"/*.out "$tmp"/*.err; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/}" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}

ok() {
	echo "$name: ok: $*"
}

# run_lpctl STATUS OUT ARGS...: lpctl ARGS with stdout and stderr to
# $tmp/OUT.out and $tmp/OUT.err; fail unless it exits STATUS.
run_lpctl() {
	want=$1
	out=$2
	shift 2
	status=0
	"$LPCTL" "$@" >"$tmp/$out.out" 2>"$tmp/$out.err" || status=$?
	[ "$status" -eq "$want" ] ||
	    fail "lpctl $* exited $status, not $want"
}

# expect FILE PATTERN: FILE has a line matching the extended regex.
expect() {
	grep -Eq -- "$2" "$1" || fail "no line matching /$2/ in ${1##*/}"
}

# expect_not FILE PATTERN
expect_not() {
	! grep -Eq -- "$2" "$1" || fail "a line matches /$2/ in ${1##*/}"
}

# wait_for FILE PATTERN SECONDS: until FILE has a matching line.
wait_for() {
	deadline=$(($(date +%s) + $3))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] ||
		    fail "no line matching /$2/ in ${1##*/} after $3 s"
		sleep 0.05
	done
}

# gone PID SECONDS: true once no process PID exists (zombies count as
# gone: kill -0 works on them, so /proc's state is read too).
gone() {
	deadline=$(($(date +%s) + $2))
	while kill -0 "$1" 2>/dev/null; do
		state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
		[ "$state" = Z ] && return 0
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

# no_pids_left FILE: every "started, pid N" in FILE is gone.
no_pids_left() {
	pids=$(sed -n 's/.*: started, pid \([0-9][0-9]*\)$/\1/p' "$1")
	[ -n "$pids" ] || fail "no pid recorded in ${1##*/}"
	for p in $pids; do
		gone "$p" 5 || fail "pid $p is still running"
	done
}

# program FILE JSON: write a program file.
program() {
	printf '%s\n' "$2" >"$1"
}

# The daemon's tests: lpd on a private socket and state folder.
sock="$tmp/lpd.sock"
statedir="$tmp/lpd-state"
lpd_pid=

# lpctl_d STATUS OUT ARGS...: run_lpctl against our lpd.
lpctl_d() {
	want=$1
	out=$2
	shift 2
	run_lpctl "$want" "$out" --socket "$sock" "$@"
}

# start_lpd [ARGS...]: lpd in the foreground, its messages appended to
# $tmp/lpd.err; returns once it answers on its socket. LPD_ENV, if set,
# is VAR=VALUE words for lpd's environment (a fault injector's).
start_lpd() {
	: "${LPD:?LPD is not set; run the tests with meson test}"
	# shellcheck disable=SC2086
	env ${LPD_ENV:-} "$LPD" -f -S "$sock" -s "$statedir" "$@" \
	    >>"$tmp/lpd.err" 2>&1 &
	lpd_pid=$!
	bgpids="$bgpids $lpd_pid"
	deadline=$(($(date +%s) + 10))
	until "$LPCTL" --socket "$sock" status >/dev/null 2>&1; do
		kill -0 "$lpd_pid" 2>/dev/null ||
		    fail "lpd exited at start"
		[ "$(date +%s)" -lt "$deadline" ] ||
		    fail "lpd does not answer on $sock after 10 s"
		sleep 0.05
	done
}

# stop_lpd: SIGTERM to the lpd start_lpd started; it must exit 0.
stop_lpd() {
	kill -TERM "$lpd_pid"
	status=0
	wait "$lpd_pid" || status=$?
	[ "$status" -eq 0 ] || fail "lpd exited $status after SIGTERM"
}

# json EXPR FILE: print a Python expression of j, FILE's parsed JSON.
json() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[2]))
v = eval(sys.argv[1])
print(v if not isinstance(v, bool) else str(v).lower())' "$1" "$2" ||
	    fail "cannot evaluate $1 on ${2##*/}"
}

# wait_json EXPR WANT FILE SECONDS ARGS...: until lpctl status --json
# ARGS, saved to FILE, has EXPR equal to WANT.
wait_json() {
	deadline=$(($(date +%s) + $4))
	while :; do
		"$LPCTL" --socket "$sock" status --json ${5:-} >"$3" 2>/dev/null ||
		    true
		[ "$(json "$1" "$3" 2>/dev/null)" = "$2" ] && return 0
		[ "$(date +%s)" -lt "$deadline" ] ||
		    fail "$1 is not $2 after $4 s: $(cat "$3")"
		sleep 0.05
	done
}
