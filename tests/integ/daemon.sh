#!/bin/sh
# lpd and lpctl's daemon commands: two programs at once, a name in use,
# launch/status/logs/call/methods/stop/wait round trips, --json, lpd
# unreachable, and a second lpd on a live socket.
. "$(dirname "$0")/lib.sh"

# Unreachable: exit 3, naming the socket and how to start lpd.
run_lpctl 3 unreach --socket "$tmp/nothing.sock" status
expect "$tmp/unreach.err" "cannot reach lpd at $tmp/nothing.sock"
expect "$tmp/unreach.err" 'start lpd first: `lpd`'
ok "lpd unreachable: exit 3 and how to start it"

# lpd starts with a soft open-file limit of 1000 and raises its own; its
# nodes must get 1000 back.
ulimit -Sn 1000
start_lpd

cp "$TESTNODE" "$tmp/testnode"
program "$tmp/serve.json" '{"program": "serve", "stop": {"grace_s": 5},
  "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}},
  {"group": "ticker", "type": "process",
   "command": ["sh", "-c", "echo hello from $MYVAR; echo oops >&2; i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done"]}]}'
program "$tmp/quick.json" '{"program": "quick", "nodes": [
  {"group": "w", "type": "process", "replicas": 2,
   "command": ["sh", "-c", "echo done $LP_NODE; echo nofile $(ulimit -n)"]}]}'
program "$tmp/bad.json" '{"program": "bad", "nodes": [
  {"group": "w", "type": "process", "command": ["no-such-command-xyz"]}]}'
program "$tmp/fails.json" '{"program": "fails", "nodes": [
  {"group": "w", "type": "process", "command": ["sh", "-c", "exit 3"]}]}'

# Launch: the user's environment and working folder go with it.
MYVAR=lpctl-env lpctl_d 0 l1 launch "$tmp/serve.json"
expect "$tmp/l1.out" '^serve$'
lpctl_d 0 l2 launch --wait "$tmp/quick.json"
expect "$tmp/l2.out" '^quick$'
ok "launch; launch --wait of a program that succeeds exits 0"

lpctl_d 1 dup launch "$tmp/serve.json"
expect "$tmp/dup.err" 'a program named "serve" is already running'
expect "$tmp/dup.err" '--name'
lpctl_d 0 l3 launch --name serve2 "$tmp/serve.json"
expect "$tmp/l3.out" '^serve2$'
ok "a name in use is refused; --name runs a second copy"

lpctl_d 2 bad launch "$tmp/bad.json"
expect "$tmp/bad.err" 'no-such-command-xyz'
expect "$tmp/bad.err" 'not a valid program file; nothing was started'
ok "an invalid program file: exit 2 with the loader's errors"

lpctl_d 1 fails launch --wait "$tmp/fails.json"
expect "$tmp/fails.err" 'program "fails" failed: w/0 exited with status 3'
lpctl_d 1 w1 wait fails
# Asked about a failed program, status and logs -f exit 1 too.
lpctl_d 1 sf status fails
expect "$tmp/sf.out" '^program fails: failed'
lpctl_d 1 lf logs -f fails
lpctl_d 0 lq logs quick
lpctl_d 0 lfq logs -f quick
ok "launch --wait and wait of a failing program exit 1"

# Status: the table, and --json parsed.
wait_json 'j["programs"][0]["nodes"][0]["state"]' running "$tmp/st.json" 10 serve
lpctl_d 0 st status
expect "$tmp/st.out" '^PROGRAM +STATE +NODES +UPTIME$'
expect "$tmp/st.out" '^serve +running +2 running +[0-9]+s$'
expect "$tmp/st.out" '^serve2 +running +2 running +[0-9]+s$'
expect "$tmp/st.out" '^quick +exited +2 exited +ran [0-9]+s$'
expect "$tmp/st.out" '^fails +failed +1 failed +ran [0-9]+s$'
# One program: a line per group; -v: a line per node.
lpctl_d 0 sg status serve
expect "$tmp/sg.out" '^program serve: running, 2 nodes, up [0-9]+s'
expect "$tmp/sg.out" '^  GROUP +TYPE +NODES$'
expect "$tmp/sg.out" '^  srv +courier +1 running$'
expect "$tmp/sg.out" '^  ticker +process +1 running$'
lpctl_d 0 st status -v
expect "$tmp/st.out" '^program serve: running, 2 nodes'
expect "$tmp/st.out" '^program serve2: running'
expect "$tmp/st.out" '^program quick: exited'
expect "$tmp/st.out" '^  NODE +STATE +PID +RESTARTS +UPTIME +EXIT +ADDRESS'
expect "$tmp/st.out" '^  srv/0 +running +[0-9]+ +0 +[0-9]+s +- +unix:/'
expect "$tmp/st.out" '^  w/1 +exited +- +0 +- +exited with status 0'
lpctl_d 0 sj status --json
[ "$(json 'len(j["programs"])' "$tmp/sj.out")" = 4 ] ||
    fail "status --json does not list 4 programs"
[ "$(json 'j["version"]' "$tmp/sj.out")" = 1 ] || fail "no version 1"
lpctl_d 0 sj1 status --json serve
[ "$(json 'j["programs"][0]["name"]' "$tmp/sj1.out")" = serve ] ||
    fail "status serve --json is not serve's"
[ "$(json 'j["programs"][0]["state"]' "$tmp/sj1.out")" = running ] ||
    fail "serve is not running"
[ "$(json '[n["name"] for n in j["programs"][0]["nodes"]]' "$tmp/sj1.out")" = "['srv/0', 'ticker/0']" ] ||
    fail "serve's nodes are wrong"
[ "$(json 'j["programs"][0]["nodes"][0]["type"]' "$tmp/sj1.out")" = courier ] ||
    fail "srv/0 is not a courier node"
[ "$(json 'j["programs"][0]["nodes"][0]["address"].startswith("unix:/")' "$tmp/sj1.out")" = true ] ||
    fail "srv/0 has no address"
[ "$(json 'j["programs"][0]["nodes"][1]["pid"] > 1' "$tmp/sj1.out")" = true ] ||
    fail "ticker/0 has no pid"
[ "$(json 'j["programs"][0]["nodes"][1]["uptime"] >= 0' "$tmp/sj1.out")" = true ] ||
    fail "ticker/0 has no uptime"
[ "$(json 'j["programs"][0]["status"]' "$tmp/sj1.out")" = None ] ||
    fail "a running program has a status"
lpctl_d 0 sjq status --json quick
[ "$(json 'j["programs"][0]["status"]' "$tmp/sjq.out")" = 0 ] ||
    fail "quick's status is not 0"
[ "$(json '[n["exit_status"] for n in j["programs"][0]["nodes"]]' "$tmp/sjq.out")" = "[0, 0]" ] ||
    fail "quick's nodes did not exit 0"
lpctl_d 1 sjf status --json fails
[ "$(json 'j["programs"][0]["state"]' "$tmp/sjf.out")" = failed ] ||
    fail "fails is not failed"
[ "$(json 'j["programs"][0]["nodes"][0]["exit_status"]' "$tmp/sjf.out")" = 3 ] ||
    fail "fails' node did not exit 3"
lpctl_d 1 nope status nope
expect "$tmp/nope.err" 'no program "nope"'
ok "status: the table and --json"

# Logs: all nodes prefixed, one node as it is, -n, -f.
wait_for_logs() {
	deadline=$(($(date +%s) + 10))
	until "$LPCTL" --socket "$sock" logs "$@" >"$tmp/lg.out" 2>&1 &&
	    grep -q 'tick 3' "$tmp/lg.out"; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "no tick 3 in logs"
		sleep 0.05
	done
}
wait_for_logs serve ticker/0
expect "$tmp/lg.out" '^hello from lpctl-env$'
expect "$tmp/lg.out" '^oops$'
lpctl_d 0 la logs serve
expect "$tmp/la.out" '^\[ticker/0\] tick 0$'
lpctl_d 0 ln logs -n 2 serve ticker/0
[ "$(wc -l <"$tmp/ln.out")" -eq 2 ] || fail "logs -n 2 printed $(wc -l <"$tmp/ln.out") lines"
expect "$tmp/ln.out" '^tick [0-9]+$'
[ -f "$statedir/serve/ticker/0.log" ] || fail "no log file STATE/serve/ticker/0.log"
lpctl_d 0 lq logs quick w/1
expect "$tmp/lq.out" '^done w/1$'
expect "$tmp/lq.out" '^nofile 1000$'
lpctl_d 1 lbad logs serve nosuch/0
expect "$tmp/lbad.err" 'program "serve" has no node "nosuch/0"'
"$LPCTL" --socket "$sock" logs -f serve ticker/0 >"$tmp/lf.out" 2>&1 &
lf=$!
bgpids="$bgpids $lf"
last=$(sed -n 's/^tick //p' "$tmp/ln.out" | tail -n 1)
wait_for "$tmp/lf.out" "^tick $((last + 5))$" 10
ok "logs: every node, one node, -n, -f"

# Call and methods.
lpctl_d 0 c1 call serve srv/0 ping
expect "$tmp/c1.out" '^"pong from srv/0"$'
lpctl_d 0 m1 methods serve srv/0
expect "$tmp/m1.out" '^ping$'
expect "$tmp/m1.out" '^stop_program$'
lpctl_d 1 c2 call serve srv/0 nosuchmethod
expect "$tmp/c2.err" 'NOT_FOUND'
lpctl_d 1 c3 call serve ticker/0 ping
expect "$tmp/c3.err" 'process node: it serves no methods'
lpctl_d 2 c4 call serve srv/0 ping not-json
expect "$tmp/c4.err" 'not JSON'
# Keyword arguments: NAME=JSON.
lpctl_d 0 c6 call serve srv/0 echo 1 '"two"' n=3 s='"x=y"' l='[1,2]'
expect "$tmp/c6.out" '^\[\[1,"two"\],\{"n":3,"s":"x=y","l":\[1,2\]\}\]$'
lpctl_d 2 c7 call serve srv/0 echo n=1 n=2
expect "$tmp/c7.err" 'keyword n given twice'
lpctl_d 2 c8 call serve srv/0 echo n=text
expect "$tmp/c8.err" "as in name='\"text\"'"
ok "call and methods"

# Many calls at once go through the node's one client on lpd's loop.
cpids=
for i in $(seq 1 20); do
	"$LPCTL" --socket "$sock" call serve srv/0 ping >"$tmp/cc$i.out" \
	    2>"$tmp/cc$i.err" &
	cpids="$cpids $!"
done
for p in $cpids; do
	wait "$p" || fail "one of 20 concurrent calls failed"
done
for i in $(seq 1 20); do
	expect "$tmp/cc$i.out" '^"pong from srv/0"$'
done
ok "20 calls at once"

# Stop: waits for the end, then logs -f ends too.
lpctl_d 0 s1 stop serve
expect "$tmp/s1.err" '^lpctl: "serve" stopped$'
lpctl_d 0 s1j status --json serve
[ "$(json 'j["programs"][0]["state"]' "$tmp/s1j.out")" = exited ] ||
    fail "serve is not exited after stop: $(cat "$tmp/s1j.out")"
for p in $(json '" ".join(str(n["pid"]) for n in j["programs"][0]["nodes"])' "$tmp/sj1.out"); do
	gone "$p" 5 || fail "pid $p of serve is still running after stop"
done
status=0
wait "$lf" || status=$?
[ "$status" -eq 0 ] || fail "logs -f exited $status when the program ended"
lpctl_d 0 w2 wait serve
ok "stop, wait; logs -f ends with the program"

# A node that asks for the stop: wait returns 0.
program "$tmp/stopper.json" '{"program": "stopper", "nodes": [
  {"group": "target", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}}]}'
lpctl_d 0 l4 launch "$tmp/stopper.json"
"$LPCTL" --socket "$sock" wait stopper >"$tmp/w3.out" 2>"$tmp/w3.err" &
w3=$!
bgpids="$bgpids $w3"
lpctl_d 0 c5 call stopper target/0 stop_program
expect "$tmp/c5.out" '^"stopping"$'
status=0
wait "$w3" || status=$?
[ "$status" -eq 0 ] || fail "wait exited $status after lp_stop_program"
ok "wait returns the program's status when a node stops it"

# stop --kill on a node that ignores SIGTERM.
program "$tmp/stubborn.json" '{"program": "stubborn", "stop": {"grace_s": 60},
  "nodes": [{"group": "w", "type": "process",
   "command": ["sh", "-c", "trap \"\" TERM; echo up; while :; do sleep 0.1; done"]}]}'
lpctl_d 0 l5 launch "$tmp/stubborn.json"
wait_json 'j["programs"][0]["nodes"][0]["state"]' running "$tmp/sb.json" 10 stubborn
lpctl_d 0 s2 stop --grace 0.5 stubborn
expect "$tmp/lpd.err" 'stubborn: waiting 0\.5 s for 1 node to stop'
expect "$tmp/lpd.err" 'stubborn: w/0: .*grace period is over'
# stop says what it waits for, and that it had to kill.
expect "$tmp/s2.err" 'stopping "stubborn": its nodes got SIGTERM; waiting for them \(SIGKILL after 0\.5 s\)'
expect "$tmp/s2.err" '"stubborn" stopped; 1 node had to be killed with SIGKILL: w/0'
lpctl_d 0 l6 launch --name stubborn2 "$tmp/stubborn.json"
lpctl_d 0 s3 stop --kill stubborn2
lpctl_d 0 s3j status --json stubborn2
[ "$(json 'j["programs"][0]["nodes"][0]["signal"]' "$tmp/s3j.out")" = 9 ] ||
    fail "stubborn2's node was not killed by SIGKILL"
ok "stop --grace and stop --kill"

# Relaunch of an ended program's name, and forget.
lpctl_d 0 l7 launch --wait "$tmp/quick.json"
lpctl_d 0 f1 forget quick
[ ! -e "$statedir/quick" ] || fail "forget left $statedir/quick"
lpctl_d 1 f2 status quick
lpctl_d 1 f3 forget serve2
expect "$tmp/f3.err" 'still running'
ok "an ended program's name is reused; forget"

# A second lpd: refused on a live socket, with or without the state lock.
status=0
"$LPD" -f -S "$sock" -s "$tmp/other-state" >"$tmp/second.out" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "a second lpd on a live socket exited $status"
expect "$tmp/second.out" 'another lpd already listens on'
status=0
"$LPD" -f -S "$tmp/other.sock" -s "$statedir" >"$tmp/third.out" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "a second lpd on a used state folder exited $status"
expect "$tmp/third.out" 'another lpd \(pid [0-9]+\) uses the state folder'
ok "a second lpd is refused"

# launch --ready: back once every node serves; the program failing
# first, or time running out, exits 1 and says why.
program "$tmp/many.json" '{"program": "many", "nodes": [
  {"group": "srv", "type": "courier", "replicas": 4, "command": ["testnode"],
   "config": {"wait": true}}]}'
program "$tmp/dies.json" '{"program": "dies", "nodes": [
  {"group": "d", "type": "courier", "command": ["sh", "-c", "sleep 0.3; exit 3"]}]}'
program "$tmp/slow.json" '{"program": "slow", "stop": {"grace_s": 1},
  "nodes": [{"group": "m", "type": "courier", "command": ["sleep", "1000"]}]}'
lpctl_d 0 r1 launch --ready "$tmp/many.json"
expect "$tmp/r1.out" '^many$'
expect "$tmp/r1.err" '"many" ready: 4 nodes in [0-9.]+ s'
lpctl_d 0 r1s status many
expect "$tmp/r1s.out" 'srv +courier +4 running'
lpctl_d 0 r1t stop many
lpctl_d 1 r2 launch --ready "$tmp/dies.json"
expect "$tmp/r2.err" 'program "dies" failed: d/0 exited with status 3'
expect_not "$tmp/r2.err" 'ready:'
lpctl_d 0 r2s stop dies
expect "$tmp/r2s.err" '"dies" had already ended \(failed\); nothing to stop'
lpctl_d 2 r3u launch --ready-timeout soon "$tmp/slow.json"
expect "$tmp/r3u.err" '--ready-timeout soon: not a number of seconds'
lpctl_d 1 r3 launch --ready-timeout 0.5 "$tmp/slow.json"
expect "$tmp/r3.err" '"slow" not ready after 0.5 s: 0 of 1 nodes ready; not ready: m/0 \(starting\)'
expect "$tmp/r3.err" 'lpctl stop slow stops it'
lpctl_d 0 r3s status slow
expect "$tmp/r3s.out" '^program slow: running'
lpctl_d 0 r3t stop slow
ok "launch --ready: all nodes serve; a failure or a timeout exits 1"
ok "stop of a program that had ended says so"

lpctl_d 0 s4 stop serve2

# A node that never answers (its socket listens; nobody accepts): a call
# to it is in flight when lpd exits, and is answered, not left hanging.
program "$tmp/mute.json" '{"program": "mute", "stop": {"grace_s": 1},
  "nodes": [{"group": "m", "type": "courier", "command": ["sleep", "1000"]}]}'
lpctl_d 0 l8 launch "$tmp/mute.json"
"$LPCTL" --socket "$sock" call mute m/0 ping >"$tmp/cm.out" 2>"$tmp/cm.err" &
cm=$!
bgpids="$bgpids $cm"
sleep 0.3
kill -TERM "$lpd_pid"
gone "$lpd_pid" 20 || fail "lpd did not exit on SIGTERM"
[ ! -e "$sock" ] || fail "lpd left its socket behind"
gone "$cm" 10 || fail "a call in flight hangs after lpd exited"
status=0
wait "$cm" || status=$?
[ "$status" -ne 0 ] || fail "a call cut short by lpd's exit exited 0"
expect "$tmp/cm.err" 'CANCELLED: program "mute" is gone from lpd'
ok "lpd exits on SIGTERM, answers the call in flight, removes its socket"
