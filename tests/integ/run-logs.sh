#!/bin/sh
# lpctl run's per-node logs go through the one log writer: capped at
# --log-max and rotated, --log-keep files kept, and a new run's log starts
# with the last run's rotated away, never truncated.
. "$(dirname "$0")/lib.sh"

logs="$tmp/logs"
program "$tmp/chatty.json" '{"program": "chatty", "nodes": [
  {"group": "w", "type": "process", "command": ["sh", "-c",
   "echo run $RUN; i=0; while [ $i -lt 3000 ]; do echo \"line $i ..........................................................\"; i=$((i+1)); done"]}]}'

RUN=a run_lpctl 0 r1 run --quiet --log-dir "$logs" --log-max 64k \
    --log-keep 2 "$tmp/chatty.json"
[ -s "$logs/w/0.log" ] || fail "no log w/0.log"
size=$(wc -c <"$logs/w/0.log")
# A block of a read's lines may pass the cap once: at most 64 KiB more.
[ "$size" -le $((128 * 1024)) ] || fail "w/0.log is $size bytes, over the cap"
[ -s "$logs/w/0.log.1" ] || fail "no rotated w/0.log.1"
[ -s "$logs/w/0.log.2" ] || fail "no rotated w/0.log.2"
[ ! -e "$logs/w/0.log.3" ] || fail "w/0.log.3 kept, past --log-keep 2"
expect "$logs/w/0.log" "${T}line 2999 "
ok "a log over --log-max rotates, --log-keep files kept"

# A second run, of a node that says one line: the first run's log
# becomes .1, whole.
program "$tmp/brief.json" '{"program": "chatty", "nodes": [
  {"group": "w", "type": "process", "command": ["sh", "-c",
   "echo run $RUN"]}]}'
RUN=b run_lpctl 0 r2 run --quiet --log-dir "$logs" --log-max 64k \
    --log-keep 2 "$tmp/brief.json"
expect "$logs/w/0.log" "${T}run b\$"
expect "$logs/w/0.log.1" "${T}line 2999 "
expect_not "$logs/w/0.log.1" "${T}run b\$"
ok "a new run rotates the last run's log away"

run_lpctl 2 bad1 run --log-max 1 "$tmp/chatty.json"
expect "$tmp/bad1.err" 'give a size of at least 1k'
run_lpctl 2 bad2 run --log-keep 0 "$tmp/chatty.json"
expect "$tmp/bad2.err" 'give a number from 1 to 100'
ok "bad --log-max and --log-keep are usage errors"
