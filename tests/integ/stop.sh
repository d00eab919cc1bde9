#!/bin/sh
# The stop sequence: SIGTERM, grace, SIGKILL; grandchildren die; Ctrl+C
# twice; lpctl killed with SIGKILL leaves nothing behind.
. "$(dirname "$0")/lib.sh"

# A node that ignores SIGTERM and has a grandchild; a node that fails.
program "$tmp/stubborn.json" '{"program": "stubborn",
  "stop": {"grace_s": 0.5},
  "nodes": [
  {"group": "stubborn", "type": "process", "command": ["sh", "-c",
   "trap \"\" TERM; sleep 1000 & echo grandchild $!; while :; do sleep 0.1; done"]},
  {"group": "failing", "type": "process", "command": ["sh", "-c",
   "echo about to fail; sleep 0.5; exit 3"]}]}'
run_lpctl 1 s run "$tmp/stubborn.json"
expect "$tmp/s.err" 'failing/0: failed: exited with status 3'
expect "$tmp/s.err" '\| about to fail'
expect "$tmp/s.err" 'waiting 0\.5 s for 1 node'
expect "$tmp/s.err" 'stubborn/0: killed \(SIGKILL\): the grace period is over'
expect "$tmp/s.err" 'program "stubborn" failed: failing/0 exited with status 3'
gc=$(sed -n 's/^\[stubborn\/0\] grandchild //p' "$tmp/s.out")
[ -n "$gc" ] || fail "no grandchild pid"
gone "$gc" 5 || fail "grandchild $gc survived"
no_pids_left "$tmp/s.err"
ok "grace then SIGKILL, grandchild too"

# Ctrl+C twice: graceful, then kill now; the shell's status 130.
program "$tmp/ctrlc.json" '{"program": "ctrlc", "stop": {"grace_s": 60},
  "nodes": [{"group": "deaf", "type": "process", "replicas": 2,
   "command": ["sh", "-c", "trap \"\" TERM; echo up; while :; do sleep 0.1; done"]}]}'
"$LPCTL" run "$tmp/ctrlc.json" >"$tmp/c.out" 2>"$tmp/c.err" &
lp=$!
bgpids="$lp"
wait_for "$tmp/c.out" '^\[deaf/1\] up$' 10
wait_for "$tmp/c.out" '^\[deaf/0\] up$' 10
kill -INT "$lp"
wait_for "$tmp/c.err" 'stopping gracefully' 10
wait_for "$tmp/c.err" 'waiting 60 s for 2 nodes' 10
kill -INT "$lp"
status=0
wait "$lp" || status=$?
[ "$status" -eq 130 ] || fail "lpctl exited $status after Ctrl+C twice"
expect "$tmp/c.err" 'again: killing every node now'
# The user cut the grace short: not "did not stop in time".
expect "$tmp/c.err" 'deaf/0: killed \(SIGKILL\): a kill was asked for'
expect_not "$tmp/c.err" 'grace period is over'
no_pids_left "$tmp/c.err"
ok "Ctrl+C twice"

# SIGTERM once: a graceful stop of nodes that honour it; status 143.
program "$tmp/term.json" '{"program": "term", "nodes": [
  {"group": "polite", "type": "process", "command": ["sh", "-c",
   "trap \"echo bye; exit 0\" TERM; echo up; while :; do sleep 0.1; done"]}]}'
"$LPCTL" run "$tmp/term.json" >"$tmp/t.out" 2>"$tmp/t.err" &
lp=$!
bgpids="$lp"
wait_for "$tmp/t.out" '^\[polite/0\] up$' 10
kill -TERM "$lp"
status=0
wait "$lp" || status=$?
[ "$status" -eq 143 ] || fail "lpctl exited $status after SIGTERM"
expect "$tmp/t.out" '^\[polite/0\] bye$'
no_pids_left "$tmp/t.err"
ok "SIGTERM"

# lpctl killed outright: nodes (PDEATHSIG) and their groups (the keeper)
# die with it, also a node that ignores SIGTERM and its grandchild.
"$LPCTL" run "$tmp/ctrlc.json" >"$tmp/k.out" 2>"$tmp/k.err" &
lp=$!
bgpids="$lp"
wait_for "$tmp/k.out" '^\[deaf/1\] up$' 10
wait_for "$tmp/k.out" '^\[deaf/0\] up$' 10
program "$tmp/gc.json" '{"program": "gc", "nodes": [
  {"group": "parent", "type": "process", "command": ["sh", "-c",
   "sleep 1000 & echo grandchild $!; while :; do sleep 0.1; done"]}]}'
"$LPCTL" run "$tmp/gc.json" >"$tmp/k2.out" 2>"$tmp/k2.err" &
lp2=$!
bgpids="$lp $lp2"
wait_for "$tmp/k2.out" 'grandchild [0-9]+' 10
kill -KILL "$lp" "$lp2"
wait "$lp" 2>/dev/null || true
wait "$lp2" 2>/dev/null || true
no_pids_left "$tmp/k.err"
no_pids_left "$tmp/k2.err"
gc=$(sed -n 's/^\[parent\/0\] grandchild //p' "$tmp/k2.out")
gone "$gc" 5 || fail "grandchild $gc survived lpctl's SIGKILL"
ok "lpctl killed with SIGKILL"
