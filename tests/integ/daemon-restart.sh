#!/bin/sh
# lpd's own end: killed with SIGKILL and restarted (no node left, the
# record still there, a stale socket handled, leftovers of a record found
# and killed, a reused pid spared); SIGTERM stopping every program.
. "$(dirname "$0")/lib.sh"

cp "$TESTNODE" "$tmp/testnode"
program "$tmp/crash.json" '{"program": "crash", "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}},
  {"group": "ticker", "type": "process", "replicas": 2,
   "command": ["sh", "-c", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done"]}]}'

start_lpd
lpctl_d 0 l1 launch "$tmp/crash.json"
wait_json '[n["state"] for n in j["programs"][0]["nodes"]]' \
    "['running', 'running', 'running']" "$tmp/st1.json" 10 crash
pids=$(json '" ".join(str(n["pid"]) for n in j["programs"][0]["nodes"])' "$tmp/st1.json")
wait_for "$statedir/crash/ticker/1.log" "${T}tick 2\$" 10

kill -KILL "$lpd_pid"
gone "$lpd_pid" 5 || fail "lpd survived SIGKILL"
for p in $pids; do
	gone "$p" 5 || fail "node pid $p outlived lpd's SIGKILL"
done
[ -S "$sock" ] || fail "no stale socket left to test with"
ok "lpd killed: no node left running"

# A record of a program whose lpd died with a process still running
# (pgid = pid, started when the record says), and one whose recorded pid
# now belongs to another process (started long before): only the first
# is killed.
python3 -c 'import os, time; os.setsid(); time.sleep(1000)' &
ghost=$!
bgpids="$bgpids $ghost"
python3 -c 'import os, time; os.setsid(); time.sleep(1000)' &
decoy=$!
bgpids="$bgpids $decoy"
deadline=$(($(date +%s) + 10))
until [ "$(awk '{ print $5 }' /proc/$ghost/stat)" = "$ghost" ] &&
    [ "$(awk '{ print $5 }' /proc/$decoy/stat)" = "$decoy" ]; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "setsid did not happen"
	sleep 0.05
done
mkrecord() {
	mkdir -p "$statedir/$1"
	python3 - "$statedir/$1/record.json" "$1" "$2" "$3" <<'PY'
import json, os, sys, time
path, name, pid, age = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
# When the process started, as lpd would have recorded it, minus age.
btime = [int(l.split()[1]) for l in open("/proc/stat") if l.startswith("btime")][0]
ticks = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[19])
started = btime + ticks / os.sysconf("SC_CLK_TCK") - age
node = {"name": "w/0", "group": "w", "index": 0, "type": "process",
        "state": "running", "pid": pid, "address": None, "restarts": 0,
        "started": started, "exit": None, "exit_status": None,
        "signal": None, "wait_status": -1, "log": ""}
json.dump({"version": 1, "lpd_pid": 1, "name": name, "file": "/x.json",
           "uid": 0, "gid": 0, "state": "running", "status": None,
           "cause": None, "started": started, "ended": None,
           "nodes": [node]}, open(path, "w"))
PY
}
mkrecord ghost "$ghost" 0
mkrecord decoy "$decoy" 1000

start_lpd
ok "a stale socket from a dead lpd is replaced"
gone "$ghost" 5 || fail "the recorded process $ghost was not killed"
kill -0 "$decoy" || fail "a process with a reused pid was killed"
expect "$tmp/lpd.err" 'ghost: w/0: killed pid [0-9]+ left from before'

lpctl_d 0 st2 status --json
for p in crash ghost decoy; do
	[ "$(json "[q['state'] for q in j['programs'] if q['name'] == '$p'][0]" "$tmp/st2.out")" = lost ] ||
	    fail "$p is not marked lost after the restart"
done
[ "$(json "[q for q in j['programs'] if q['name'] == 'crash'][0]['cause'].startswith('lost: lpd restarted')" "$tmp/st2.out")" = true ] ||
    fail "crash's cause does not say that lpd restarted"
[ "$(json "[n['state'] for n in [q for q in j['programs'] if q['name'] == 'crash'][0]['nodes']]" "$tmp/st2.out")" = "['lost', 'lost', 'lost']" ] ||
    fail "crash's nodes are not lost"
lpctl_d 1 st3 status crash
expect "$tmp/st3.out" '^program crash: lost, 3 nodes'
lpctl_d 0 lg logs crash ticker/1
expect "$tmp/lg.out" '^tick 2$'
lpctl_d 0 lgt logs --timestamps crash ticker/1
expect "$tmp/lgt.out" "${T}tick 2\$"
[ "$(grep -Ec "$T" "$tmp/lgt.out")" -eq "$(wc -l <"$tmp/lgt.out")" ] ||
    fail "logs --timestamps printed a line without its time"
lpctl_d 1 w1 wait crash
expect "$tmp/w1.err" 'lost: lpd restarted'
ok "after the restart: the record is there, leftovers killed, reused pid spared"

# The name of a lost program can be launched again.
lpctl_d 0 l2 launch "$tmp/crash.json"
program "$tmp/stubborn.json" '{"program": "stubborn", "stop": {"grace_s": 1},
  "nodes": [{"group": "w", "type": "process",
   "command": ["sh", "-c", "trap \"\" TERM; while :; do sleep 0.1; done"]}]}'
lpctl_d 0 l3 launch "$tmp/stubborn.json"
wait_json '[n["state"] for q in j["programs"] if q["name"] in ("crash", "stubborn") for n in q["nodes"]]' \
    "['running', 'running', 'running', 'running']" "$tmp/st4.json" 10
pids=$(json '" ".join(str(n["pid"]) for q in j["programs"] if q["name"] in ("crash", "stubborn") for n in q["nodes"])' "$tmp/st4.json")
"$LPCTL" --socket "$sock" wait crash >"$tmp/w2.out" 2>"$tmp/w2.err" &
w2=$!
stop_lpd
for p in $pids; do
	gone "$p" 5 || fail "node pid $p outlived lpd's SIGTERM"
done
status=0
wait "$w2" || status=$?
[ "$status" -eq 0 ] || fail "lpctl wait exited $status when lpd stopped the program"
expect "$tmp/lpd.err" 'stubborn: w/0: .*SIGKILL|stubborn: .*killed'
for p in crash stubborn; do
	[ "$(json 'j["state"]' "$statedir/$p/record.json")" = exited ] ||
	    fail "$p's record is not exited: $(cat "$statedir/$p/record.json")"
done
ok "SIGTERM: every program stopped (grace, then kill), lpd exits 0"

start_lpd
lpctl_d 0 st5 status --json crash
[ "$(json 'j["programs"][0]["state"]' "$tmp/st5.out")" = exited ] ||
    fail "crash is not exited after a clean restart"
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "a clean stop leaves records that are not lost"
