#!/bin/sh
# Fail-fast, on_failure ignore, restarts with their limit.
. "$(dirname "$0")/lib.sh"

program "$tmp/ignore.json" '{"program": "ignore", "nodes": [
  {"group": "flaky", "type": "process", "on_failure": "ignore",
   "command": ["sh", "-c", "exit 4"]},
  {"group": "steady", "type": "process", "command": ["sh", "-c",
   "sleep 0.5; echo done"]}]}'
run_lpctl 0 i run "$tmp/ignore.json"
expect "$tmp/i.err" 'flaky/0: failed: exited with status 4'
expect "$tmp/i.out" '^\[steady/0\] done$'
expect_not "$tmp/i.err" 'stopping the program'
ok "on_failure ignore"

program "$tmp/restart.json" '{"program": "restart", "nodes": [
  {"group": "crashy", "type": "process", "restart": "on-failure",
   "max_restarts": 2, "command": ["sh", "-c",
   "echo run >> '"$tmp"'/runs; exit 5"]}]}'
run_lpctl 1 r run "$tmp/restart.json"
[ "$(wc -l <"$tmp/runs")" -eq 3 ] ||
    fail "$(wc -l <"$tmp/runs") runs, not 1 + 2 restarts"
expect "$tmp/r.err" 'crashy/0: restarting in .*restart 1 of 2'
expect "$tmp/r.err" 'crashy/0: restarting in .*restart 2 of 2'
expect "$tmp/r.err" 'program "restart" failed: crashy/0 exited with status 5'
no_pids_left "$tmp/r.err"
ok "restart on-failure, max_restarts"

program "$tmp/always.json" '{"program": "always", "nodes": [
  {"group": "again", "type": "process", "restart": "always",
   "max_restarts": 1, "command": ["sh", "-c",
   "echo run >> '"$tmp"'/aruns; exit 0"]}]}'
run_lpctl 0 a run "$tmp/always.json"
[ "$(wc -l <"$tmp/aruns")" -eq 2 ] ||
    fail "$(wc -l <"$tmp/aruns") runs, not 1 + 1 restart"
ok "restart always"

# A node killed by a signal fails the program, its signal named.
program "$tmp/sig.json" '{"program": "sig", "nodes": [
  {"group": "victim", "type": "process", "command": ["sh", "-c",
   "kill -SEGV $$"]}]}'
run_lpctl 1 g run "$tmp/sig.json"
expect "$tmp/g.err" 'victim/0: failed: killed by signal 11'
ok "killed by a signal"
