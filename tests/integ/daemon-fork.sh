#!/bin/sh
# fork failing in lpd (EAGAIN: a full process table, RLIMIT_NPROC), made
# by the faults library (tests/faults) while a flag file exists: a node
# that cannot be started again backs off and retries under its group's
# restart policy, fails its program once it has no restart left, and
# lpd keeps serving its other programs throughout.
. "$(dirname "$0")/lib.sh"

: "${FAULTS:?FAULTS is not set; run the tests with meson test}"

nofork="$tmp/nofork"
LPD_ENV="LD_PRELOAD=$FAULTS FAULTS_FORK_FAIL=$nofork" start_lpd

cp "$TESTNODE" "$tmp/testnode"
program "$tmp/steady.json" '{"program": "steady", "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}}]}'
# Each runs until its flag file exists, then fails.
program "$tmp/flappy.json" '{"program": "flappy", "nodes": [
  {"group": "w", "type": "process", "restart": "on-failure",
   "command": ["sh", "-c", "echo up; while [ ! -e '"$tmp"'/flap ]; do sleep 0.05; done; exit 1"]}]}'
program "$tmp/doomed.json" '{"program": "doomed", "nodes": [
  {"group": "w", "type": "process", "restart": "on-failure",
   "max_restarts": 2,
   "command": ["sh", "-c", "echo up; while [ ! -e '"$tmp"'/doom ]; do sleep 0.05; done; exit 1"]}]}'
program "$tmp/later.json" '{"program": "later", "nodes": [
  {"group": "w", "type": "process", "command": ["sh", "-c", "exit 0"]}]}'

for p in steady flappy doomed; do
	lpctl_d 0 "l-$p" launch "$tmp/$p.json"
done
wait_json '[q["nodes"][0]["state"] for q in j["programs"]]' \
    "['running', 'running', 'running']" "$tmp/st1.json" 10
wait_for "$statedir/flappy/w/0.log" "${T}up\$" 10

# From here fork fails; flappy and doomed end.
: >"$nofork"
: >"$tmp/flap"
: >"$tmp/doom"
lpctl_d 1 w1 wait doomed
expect "$tmp/w1.err" 'w/0: cannot start: fork: Resource temporarily unavailable'
lpctl_d 1 st2 status --json doomed
[ "$(json 'j["programs"][0]["nodes"][0]["restarts"]' "$tmp/st2.out")" = 2 ] ||
    fail "doomed's node did not use its 2 restarts: $(cat "$tmp/st2.out")"
[ "$(json 'j["programs"][0]["nodes"][0]["state"]' "$tmp/st2.out")" = failed ] ||
    fail "doomed's node is not failed"
expect "$tmp/lpd.err" 'doomed: w/0: restarting in 0.2 s \(restart 2 of 2\)'
ok "a node that cannot be forked and has no restart left fails its program"

wait_json 'j["programs"][0]["nodes"][0]["restarts"] >= 3' true \
    "$tmp/st3.json" 20 flappy
[ "$(json 'j["programs"][0]["state"]' "$tmp/st3.json")" = running ] ||
    fail "flappy is not running while its node backs off"
expect "$tmp/lpd.err" \
    'flappy: w/0: cannot start: fork: Resource temporarily unavailable'
lpctl_d 0 c1 call steady srv/0 ping
expect "$tmp/c1.out" 'pong from srv/0'
lpctl_d 1 l-later launch "$tmp/later.json"
expect "$tmp/l-later.err" 'fork: Resource temporarily unavailable'
lpctl_d 0 st4 status
expect "$tmp/st4.out" '^steady +running'
ok "while fork fails: the node backs off; calls, status, launch answer"

# fork works again: flappy's node comes back at its next try.
rm -f "$tmp/flap" "$nofork"
wait_json 'j["programs"][0]["nodes"][0]["state"]' running "$tmp/st5.json" \
    30 flappy
wait_for "$statedir/flappy/w/0.log" "${T}up\$" 10
[ "$(grep -Ec "${T}up\$" "$statedir/flappy/w/0.log")" -eq 2 ] ||
    fail "flappy's node did not run again"
lpctl_d 0 l-later2 launch --wait "$tmp/later.json"
ok "once fork works, the node runs again and launches work"

stop_lpd
no_pids_left "$tmp/lpd.err"
ok "lpd stops cleanly, no node left"
