#!/bin/sh
# lpctl restart: a node restarted in place (new process, same address,
# whatever its group's policy), one that ignores SIGTERM killed after the
# grace period, nodes that ended for good started again, the errors, and
# a whole program launched again from its file.
. "$(dirname "$0")/lib.sh"

cp "$TESTNODE" "$tmp/testnode"
program "$tmp/svc.json" '{"program": "svc", "stop": {"grace_s": 0.5},
  "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "restart": "never", "config": {"wait": true}},
  {"group": "stubborn", "type": "process",
   "command": ["sh", "-c", "trap \"\" TERM; while :; do sleep 0.1; done"]},
  {"group": "once", "type": "process", "command": ["echo", "once"]},
  {"group": "flaky", "type": "courier", "command": ["testnode"],
   "restart": "never", "on_failure": "ignore", "config": {"wait": true}}]}'

start_lpd
lpctl_d 0 l1 launch --ready "$tmp/svc.json"
expect "$tmp/l1.err" '"svc" ready: 4 nodes'
"$LPCTL" --socket "$sock" status --json svc >"$tmp/st1.json"
pid1=$(json 'j["programs"][0]["nodes"][0]["pid"]' "$tmp/st1.json")
addr1=$(json 'j["programs"][0]["nodes"][0]["address"]' "$tmp/st1.json")
spid1=$(json 'j["programs"][0]["nodes"][1]["pid"]' "$tmp/st1.json")
wait_json 'j["programs"][0]["nodes"][2]["state"]' exited "$tmp/st1b.json" 10 svc

# A courier node whose group never restarts: restarted all the same.
lpctl_d 0 r1 restart svc srv/0
expect "$tmp/r1.err" 'restarting srv/0 of "svc"'
expect "$tmp/r1.err" '"svc" ready: 4 nodes'
"$LPCTL" --socket "$sock" status --json svc >"$tmp/st2.json"
[ "$(json 'j["programs"][0]["nodes"][0]["state"]' "$tmp/st2.json")" = running ] ||
    fail "srv/0 does not run after its restart"
[ "$(json 'j["programs"][0]["nodes"][0]["pid"]' "$tmp/st2.json")" != "$pid1" ] ||
    fail "srv/0 kept its pid: it was not restarted"
[ "$(json 'j["programs"][0]["nodes"][0]["address"]' "$tmp/st2.json")" = "$addr1" ] ||
    fail "srv/0 changed address in its restart"
[ "$(json 'j["programs"][0]["nodes"][0]["restarts"]' "$tmp/st2.json")" = 1 ] ||
    fail "srv/0's restart was not counted"
gone "$pid1" 5 || fail "srv/0's old process outlived its restart"
lpctl_d 0 c1 call svc srv/0 ping
expect "$tmp/c1.out" 'pong from srv/0'
[ "$(json 'j["programs"][0]["state"]' "$tmp/st2.json")" = running ] ||
    fail "the program did not keep running through a restart"
ok "restart NODE: a new process on the same address, whatever the policy"

# A node that ignores SIGTERM gets SIGKILL after the grace period.
lpctl_d 0 r2 restart svc stubborn/0
gone "$spid1" 10 || fail "stubborn/0 was not killed after the grace period"
"$LPCTL" --socket "$sock" status --json svc >"$tmp/st3.json"
[ "$(json 'j["programs"][0]["nodes"][1]["state"]' "$tmp/st3.json")" = running ] ||
    fail "stubborn/0 does not run after its restart"
expect "$tmp/lpd.err" 'stubborn/0: .*grace period of its restart is over'
ok "restart NODE: SIGKILL after the grace period for a node deaf to SIGTERM"

# Nodes that ended for good start again: one that exited 0, and a courier
# node that failed where its group ignores failures, on its address.
lpctl_d 0 rv1 restart svc once/0
wait_json 'j["programs"][0]["nodes"][2]["restarts"]' 1 "$tmp/stv1.json" 10 svc
wait_json 'j["programs"][0]["nodes"][2]["state"]' exited "$tmp/stv1.json" 10 svc
lpctl_d 0 lgv logs svc once/0
[ "$(grep -c '^once$' "$tmp/lgv.out")" -eq 2 ] ||
    fail "once/0 did not run again after its restart (its log goes on)"
addr3=$(json 'j["programs"][0]["nodes"][3]["address"]' "$tmp/stv1.json")
kill -KILL "$(json 'j["programs"][0]["nodes"][3]["pid"]' "$tmp/stv1.json")"
wait_json 'j["programs"][0]["nodes"][3]["state"]' failed "$tmp/stv2.json" 10 svc
lpctl_d 0 rv2 restart svc flaky/0
expect "$tmp/rv2.err" '"svc" ready: 4 nodes'
lpctl_d 0 cv call svc flaky/0 ping
expect "$tmp/cv.out" 'pong from flaky/0'
"$LPCTL" --socket "$sock" status --json svc >"$tmp/stv3.json"
[ "$(json 'j["programs"][0]["nodes"][3]["address"]' "$tmp/stv3.json")" = "$addr3" ] ||
    fail "flaky/0 changed address when it started again"
ok "restart NODE: nodes that ended for good start again, on their address"

# Errors: a node unknown, no such program; nothing is touched.
lpctl_d 1 e1 restart svc nosuch/0
expect "$tmp/e1.err" 'program "svc" has no node "nosuch/0"'
lpctl_d 1 e3 restart nosuch
expect "$tmp/e3.err" 'no program "nosuch"'
lpctl_d 2 e4 restart --ready-timeout x svc
expect "$tmp/e4.err" '--ready-timeout x: not a number of seconds'
ok "restart: an unknown node, no such program"

# The program's stop overtakes a restart in its grace period.
"$LPCTL" --socket "$sock" status --json svc >"$tmp/st3b.json"
spid2=$(json 'j["programs"][0]["nodes"][1]["pid"]' "$tmp/st3b.json")
lpctl_d 0 r2b restart --no-wait svc stubborn/0
lpctl_d 0 s0 stop svc
gone "$spid2" 5 || fail "stubborn/0 outlived the stop that overtook its restart"
kill -0 "$lpd_pid" 2>/dev/null || fail "lpd died when a stop overtook a restart"
lpctl_d 0 l2 launch --ready "$tmp/svc.json"
ok "a stop during a restart's grace period stops the node for good"

# The whole program: stopped, then launched again from its file.
"$LPCTL" --socket "$sock" status --json svc >"$tmp/st4.json"
pid2=$(json 'j["programs"][0]["nodes"][0]["pid"]' "$tmp/st4.json")
lpctl_d 0 r3 restart svc
expect "$tmp/r3.err" 'stopping "svc"'
expect "$tmp/r3.err" "launched \"svc\" again from $tmp/svc.json"
expect "$tmp/r3.err" '"svc" ready: 4 nodes'
gone "$pid2" 5 || fail "the old run's srv/0 outlived the program's restart"
"$LPCTL" --socket "$sock" status --json svc >"$tmp/st5.json"
[ "$(json 'j["programs"][0]["state"]' "$tmp/st5.json")" = running ] ||
    fail "svc does not run after its restart"
[ "$(json 'j["programs"][0]["nodes"][0]["restarts"]' "$tmp/st5.json")" = 0 ] ||
    fail "a new run did not start its nodes' counts over"
ok "restart PROGRAM: stopped and launched again from its file"

# An ended program starts again; a file that is gone leaves it be.
lpctl_d 0 s1 stop svc
lpctl_d 0 r4 restart --no-wait svc
expect "$tmp/r4.err" "launched \"svc\" again"
expect_not "$tmp/r4.err" 'stopping'
lpctl_d 0 s2 stop svc
lpctl_d 1 e5 restart svc srv/0
expect "$tmp/e5.err" 'program "svc" has ended; lpctl restart svc launches it again'
mv "$tmp/svc.json" "$tmp/moved.json"
lpctl_d 2 r5 restart svc
expect "$tmp/r5.err" "\"svc\" was not stopped: its file $tmp/svc.json cannot be read"
ok "restart of an ended program launches it; a missing file, a clear error"
