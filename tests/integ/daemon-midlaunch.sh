#!/bin/sh
# lpd killed in the middle of a launch: a program of 50 nodes, lpd stopped
# by the faults library (tests/faults) at its 20th fork, after 18 nodes,
# then killed with SIGKILL. No node may be left, the next lpd must show
# the program as lost (not forget it, nor show the run it replaced), and
# the name must launch again.
. "$(dirname "$0")/lib.sh"

: "${FAULTS:?FAULTS is not set; run the tests with meson test}"

# start_lpd, with lpd stopping itself at fork number $1 (0: never).
start_lpd_stopping() {
	LPD_ENV="LD_PRELOAD=$FAULTS FAULTS_FORK_STOP=$1" start_lpd
}

# stopped PID SECONDS: until PID is stopped (state T).
stopped() {
	deadline=$(($(date +%s) + $2))
	until [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# lines FILE N SECONDS: until FILE has N lines.
lines() {
	deadline=$(($(date +%s) + $3))
	until [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; do
		[ "$(date +%s)" -lt "$deadline" ] ||
		    fail "${1##*/} has $(wc -l <"$1" 2>/dev/null) lines, not $2"
		sleep 0.05
	done
}

# crash_launch: launch bulk, lpd stops at its 20th fork (the keeper is
# the first, so 18 nodes run), SIGKILL it; no node is left.
crash_launch() {
	: >"$tmp/pids"
	start_lpd_stopping 20
	"$LPCTL" --socket "$sock" launch "$tmp/bulk.json" \
	    >"$tmp/crash.out" 2>&1 &
	launcher=$!
	stopped "$lpd_pid" 20 || fail "lpd did not stop in the launch"
	lines "$tmp/pids" 18 20
	kill -KILL "$lpd_pid"
	gone "$lpd_pid" 5 || fail "lpd survived SIGKILL"
	wait "$launcher" || true
	[ "$(wc -l <"$tmp/pids")" -eq 18 ] ||
	    fail "$(wc -l <"$tmp/pids") nodes started, not 18"
	for p in $(cat "$tmp/pids"); do
		gone "$p" 10 || fail "node pid $p outlived lpd's SIGKILL"
	done
}

program "$tmp/bulk.json" '{"program": "bulk", "nodes": [
  {"group": "w", "type": "process", "replicas": 50,
   "command": ["sh", "-c", "echo $$ >>'"$tmp"'/pids; exec sleep 1000"]}]}'

crash_launch
ok "lpd killed after 18 of 50 forks: no node is left"

start_lpd
lpctl_d 1 st1 status --json bulk
[ "$(json 'j["programs"][0]["state"]' "$tmp/st1.out")" = lost ] ||
    fail "bulk is not lost: $(cat "$tmp/st1.out")"
[ "$(json 'j["programs"][0]["cause"].startswith("lost: lpd restarted")' \
    "$tmp/st1.out")" = true ] ||
    fail "bulk's cause does not say that lpd restarted"
[ "$(json 'len(j["programs"][0]["nodes"])' "$tmp/st1.out")" = 50 ] ||
    fail "bulk's record does not have its 50 nodes"
[ "$(json 'set(n["state"] for n in j["programs"][0]["nodes"]) == {"lost"}' \
    "$tmp/st1.out")" = true ] ||
    fail "bulk's nodes are not all lost"
ok "the next lpd shows the half-launched program as lost"

# The name launches again, whole, and stops cleanly.
: >"$tmp/pids"
lpctl_d 0 l2 launch "$tmp/bulk.json"
wait_json 'sum(n["state"] == "running" for n in j["programs"][0]["nodes"])' \
    50 "$tmp/st2.json" 60 bulk
lines "$tmp/pids" 50 20
lpctl_d 0 s2 stop bulk
for p in $(cat "$tmp/pids"); do
	gone "$p" 10 || fail "node pid $p outlived the stop"
done
lpctl_d 0 st3 status --json bulk
[ "$(json 'j["programs"][0]["state"]' "$tmp/st3.out")" = exited ] ||
    fail "bulk did not exit: $(cat "$tmp/st3.out")"
started=$(json 'j["programs"][0]["started"]' "$tmp/st3.out")
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "the same name launches again, all 50 nodes run, and stops"

# Again over the record of that ended run: the crash must not leave the
# old, ended run on show in place of the new one.
crash_launch
start_lpd
lpctl_d 1 st4 status --json bulk
[ "$(json 'j["programs"][0]["state"]' "$tmp/st4.out")" = lost ] ||
    fail "bulk is not lost after a crash over its ended run: $(cat "$tmp/st4.out")"
[ "$(json "j['programs'][0]['started'] > $started" "$tmp/st4.out")" = true ] ||
    fail "bulk's record is not the new run's"
lpctl_d 0 l5 launch "$tmp/bulk.json"
wait_json 'sum(n["state"] == "running" for n in j["programs"][0]["nodes"])' \
    50 "$tmp/st5.json" 60 bulk
lpctl_d 0 s5 stop --kill bulk
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "a crash in a launch that replaces an ended run shows the new run, lost"
