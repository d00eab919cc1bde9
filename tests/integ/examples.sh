#!/bin/sh
# The examples run to their end through lpctl run, with the exit status,
# output, logs and no process left behind.
. "$(dirname "$0")/lib.sh"

run_lpctl 0 hello run "$EXAMPLES/hello_world/hello_world.json"
expect "$tmp/hello.out" '^\[hello/0\] Hello World!$'
expect "$tmp/hello.err" 'hello/0: exited with status 0'
grep -Eqx "${T}Hello World!" "$tmp/state/lpctl/hello_world/hello/0.log" ||
    fail "no greeting in the log file"
no_pids_left "$tmp/hello.err"
ok hello_world

run_lpctl 0 cp run "$EXAMPLES/consumer_producers/consumer_producers.json"
for r in 0 1 2; do
	b=$((r * 4))
	expect "$tmp/cp.out" "^\[consumer/0\] round $r: results \[$b, ?$((b + 1)), ?$((b + 2)), ?$((b + 3))\], sum $((4 * b + 6))$"
done
for i in 0 1 2 3; do
	expect "$tmp/cp.err" "producer/$i: ready on unix:"
done
expect "$tmp/cp.err" 'stopping the program: consumer/0 asked'
no_pids_left "$tmp/cp.err"
ok consumer_producers

run_lpctl 0 wait run "$EXAMPLES/program_wait/program_wait.json"
for i in 0 1 2; do
	expect "$tmp/wait.out" "^\[worker/$i\] worker/$i: all done$"
	expect "$tmp/wait.out" "^\[worker/$i\] step 3 of 3 done$"
done
expect_not "$tmp/wait.err" 'stopping the program'
no_pids_left "$tmp/wait.err"
ok program_wait

run_lpctl 0 circ run --tcp "$EXAMPLES/circular/circular.json"
expect "$tmp/circ.out" '^\[ping/0\] hello ping/0, from pong/0$'
expect "$tmp/circ.out" '^\[pong/0\] hello pong/0, from ping/0$'
expect "$tmp/circ.err" 'ping/0: ready on tcp:127\.0\.0\.1:[0-9]+$'
no_pids_left "$tmp/circ.err"
ok circular
