#!/bin/sh
# The node contract: LP_* variables, lp_stop_program from a handler's
# thread, --name, run: false.
. "$(dirname "$0")/lib.sh"

cp "$TESTNODE" "$tmp/testnode"
program "$tmp/stop.json" '{"program": "stopper", "nodes": [
  {"group": "target", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}},
  {"group": "caller", "type": "courier", "command": ["testnode"],
   "config": {"call": {"$handle": "target"}, "method": "stop_program",
              "wait": true}}]}'
run_lpctl 0 s run "$tmp/stop.json"
expect "$tmp/s.out" '^\[target/0\] stop_program called$'
# The caller's call may end either way: the stop cancels pending calls.
expect "$tmp/s.out" '^\[caller/0\] (reply: "stopping"|caller/0: CANCELLED: .*)$'
expect "$tmp/s.err" 'stopping the program: target/0 asked'
no_pids_left "$tmp/s.err"
ok "lp_stop_program from a handler thread"

program "$tmp/env.json" '{"program": "envy", "nodes": [
  {"group": "srv", "type": "courier", "run": false, "command": ["testnode"],
   "config": {"print_env": true}},
  {"group": "show", "type": "process", "replicas": 2,
   "env": {"EXTRA": "yes"},
   "config": {"peer": {"$handle": "srv"}, "n": [1, 2.5, "x"]},
   "command": ["sh", "-c",
     "env | grep -E \"^(LP_|EXTRA=)\" | sort; echo nofile $(ulimit -n)"]}]}'
# srv serves until stopped: stop it with SIGTERM once all is printed.
# lpctl starts with a soft open-file limit of 1000, and its nodes get that,
# not whatever it raised its own to.
sh -c 'ulimit -Sn 1000 && exec "$@"' sh \
    "$LPCTL" run --name renamed "$tmp/env.json" >"$tmp/e.out" 2>"$tmp/e.err" &
lp=$!
bgpids=$lp
wait_for "$tmp/e.err" 'show/0: exited with status 0' 10
wait_for "$tmp/e.err" 'show/1: exited with status 0' 10
wait_for "$tmp/e.out" '^\[srv/0\] LP_RUN=0$' 10
kill -TERM "$lp"
status=0
wait "$lp" || status=$?
[ "$status" -eq 143 ] || fail "lpctl exited $status after SIGTERM"
for i in 0 1; do
	expect "$tmp/e.out" "^\[show/$i\] LP_NODE=show/$i$"
	expect "$tmp/e.out" "^\[show/$i\] LP_PROGRAM=renamed$"
	expect "$tmp/e.out" "^\[show/$i\] LP_RUN=1$"
	expect "$tmp/e.out" "^\[show/$i\] EXTRA=yes$"
	expect "$tmp/e.out" "^\[show/$i\] nofile 1000$"
	expect "$tmp/e.out" "^\[show/$i\] LP_CONTROL=unix:/"
	expect "$tmp/e.out" "^\[show/$i\] LP_CONFIG=\{\"peer\": ?\"unix:/[^\"]+\", ?\"n\": ?\[1, ?2\.5, ?\"x\"\]\}$"
	expect "$tmp/e.out" "^\[show/$i\] LP_HANDLES=\[\"peer\"\]$"
done
expect "$tmp/e.out" '^\[srv/0\] LP_HANDLES=\[\]$'
expect_not "$tmp/e.out" '^\[show/0\] LP_ADDRESS='
expect_not "$tmp/e.out" '^\[show/0\] LP_LISTEN_FD='
expect "$tmp/e.out" '^\[srv/0\] LP_ADDRESS=unix:/'
expect "$tmp/e.out" '^\[srv/0\] LP_LISTEN_FD=3$'
no_pids_left "$tmp/e.err"
ok "the LP_* environment"

# A group of 5 or more has its lifecycle summed up; -v shows every node.
program "$tmp/big.json" '{"program": "big", "nodes": [
  {"group": "w", "type": "process", "replicas": 6,
   "command": ["sh", "-c", "echo hi"]},
  {"group": "one", "type": "process", "command": ["true"]}]}'
run_lpctl 0 big run "$tmp/big.json"
expect "$tmp/big.err" '^lpctl: w: 6 nodes started$'
expect "$tmp/big.err" '^lpctl: w: 6 nodes ended$'
expect "$tmp/big.err" '^lpctl: one/0: started, pid [0-9]+$'
expect_not "$tmp/big.err" 'w/3: started'
[ "$(grep -c '^\[w/[0-5]\] hi$' "$tmp/big.out")" -eq 6 ] ||
    fail "not every node's output was shown"
run_lpctl 0 bigv run -v "$tmp/big.json"
expect "$tmp/bigv.err" '^lpctl: w/3: started, pid [0-9]+$'
expect_not "$tmp/bigv.err" 'nodes started'
ok "a big group's lifecycle summed up, -v for every node"
