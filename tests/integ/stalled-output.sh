#!/bin/sh
# lpctl run with a live stream nobody reads: a stop still works, lpctl
# exits with the program's status, lines are dropped from the stream with
# a count, and the per-node logs keep every line. A reader that catches up
# is told how many lines it missed, in order with the rest.
. "$(dirname "$0")/lib.sh"

lines=100000
# lpctl's notice of the lines it dropped (an ERE).
notice='^lpctl: [0-9]+ lines? w[a-z]+ dropped from the live stream'
notice="$notice because its reader was slow; the per-node logs under "

# until_gone PID SECONDS WHAT: fail unless PID exits in time.
until_gone() {
	gone "$1" "$2" || fail "lpctl still runs $2 s after $3"
}

# logs_have PROGRAM PATTERN: wait until every fast node's log has a line
# matching PATTERN.
logs_have() {
	for i in 0 1 2 3; do
		wait_for "$XDG_STATE_HOME/lpctl/$1/fast/$i.log" "$2" 30
	done
}

# logs_maybe PROGRAM PATTERN SECONDS: the same, giving up quietly: a
# stream that blocks lpctl's loop also stops the logs, and then what
# fails is the stop below, which says so.
logs_maybe() {
	deadline=$(($(date +%s) + $3))
	for i in 0 1 2 3; do
		log="$XDG_STATE_HOME/lpctl/$1/fast/$i.log"
		until grep -Eq -- "$2" "$log"; do
			[ "$(date +%s)" -lt "$deadline" ] || return 0
			sleep 0.05
		done
	done
}

# dropped FILE: the sum of the counts in FILE's dropped-lines notices.
dropped() {
	grep -E -- "$notice" "$1" | awk '{ n += $2 } END { print n + 0 }'
}

# Four nodes print as fast as they can, then wait for the stop. The
# stream's reader opens the FIFO and never reads from it.
mkfifo "$tmp/fifo"
program "$tmp/stalled.json" '{"program": "stalled", "stop": {"grace_s": 5},
  "nodes": [{"group": "fast", "type": "process", "replicas": 4,
   "command": ["sh", "-c",
   "echo pid $$; yes line | head -n '"$lines"'; echo done; exec sleep 1000"]}]}'
sleep 1000 <"$tmp/fifo" &
bgpids="$bgpids $!"
"$LPCTL" run "$tmp/stalled.json" >"$tmp/fifo" 2>"$tmp/s.err" &
lp=$!
bgpids="$bgpids $lp"
logs_have stalled "${T}pid [0-9]+\$"
logs_maybe stalled "${T}done\$" 10
kill -INT "$lp"
until_gone "$lp" 15 "Ctrl+C with its stdout stalled"
status=0
wait "$lp" || status=$?
[ "$status" -eq 130 ] || fail "lpctl exited $status after Ctrl+C"
# lpctl's own messages wait behind the stream, so they come out only
# once it gives up on the stream at exit.
expect "$tmp/s.err" 'stopping gracefully'
expect "$tmp/s.err" "$notice$XDG_STATE_HOME/lpctl/stalled have them all\$"
no_pids_left "$tmp/s.err"
size=0
for i in 0 1 2 3; do
	log="$XDG_STATE_HOME/lpctl/stalled/fast/$i.log"
	pid=$(sed -E -n "s/${T}pid //p" "$log")
	gone "$pid" 5 || fail "fast/$i (pid $pid) is still running"
	n=$(grep -Ec "${T}line\$" "$log")
	[ "$n" -eq "$lines" ] || fail "fast/$i.log has $n lines, not $lines"
	size=$((size + $(wc -c <"$log")))
done
# On the stream each line takes "[fast/N] " more and not its time (28
# bytes in the log). lpctl holds 1.25 MiB of it and the FIFO 64 KiB: the
# logs got far more than that.
need=$((size + (9 - 28) * 4 * (lines + 2)))
[ "$need" -gt $((4 * 1024 * 1024)) ] ||
    fail "the logs' $need bytes of stream would have fit in its buffers"
ok "Ctrl+C with a reader that never reads"

# A reader that stalls until every node is done, then catches up; lpctl's
# messages share its pipe. Every line is shown or counted as dropped, the
# notice comes before the lines after the gap, and the program ends well.
mkfifo "$tmp/fifo2"
cat >"$tmp/slow-node.sh" <<EOF
yes line | head -n $lines
echo done
until [ -e "$tmp/end" ]; do sleep 0.05; done
echo bye
EOF
program "$tmp/slow.json" '{"program": "slow", "nodes": [
  {"group": "fast", "type": "process", "replicas": 4,
   "command": ["sh", "'"$tmp"'/slow-node.sh"]}]}'
sh -c 'while [ ! -e "$1/go" ]; do sleep 0.05; done; exec cat' sh "$tmp" \
    <"$tmp/fifo2" >"$tmp/c.out" &
bgpids="$bgpids $!"
"$LPCTL" run "$tmp/slow.json" >"$tmp/fifo2" 2>&1 &
lp=$!
bgpids="$bgpids $lp"
logs_have slow "${T}done\$"
touch "$tmp/go"
wait_for "$tmp/c.out" "$notice" 15
touch "$tmp/end"
until_gone "$lp" 15 "its nodes ended"
status=0
wait "$lp" || status=$?
[ "$status" -eq 0 ] || fail "lpctl exited $status, not 0"
expect "$tmp/c.out" 'program "slow" ended'
for i in 0 1 2 3; do
	expect "$tmp/c.out" "^\[fast/$i\] bye$"
done
first_bye=$(grep -n '^\[fast/[0-3]\] bye$' "$tmp/c.out" | head -n 1)
last_notice=$(grep -En -- "$notice" "$tmp/c.out" | tail -n 1)
[ "${last_notice%%:*}" -lt "${first_bye%%:*}" ] ||
    fail "the notice comes after the lines that followed the gap"
shown=$(grep -c '^\[fast/[0-3]\] ' "$tmp/c.out")
lost=$(dropped "$tmp/c.out")
[ "$lost" -gt 0 ] || fail "no line was dropped"
[ $((shown + lost)) -eq $((4 * (lines + 2))) ] ||
    fail "$shown lines shown and $lost dropped, not $((4 * (lines + 2)))"
no_pids_left "$tmp/c.out"
ok "a reader that catches up"
