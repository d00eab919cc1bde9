#!/bin/sh
# lpd's control socket against hostile peers: a peer that floods calls
# without reading the replies, then closes, leaves no descriptor behind;
# one user may hold at most 128 connections, is told so past that, and
# lpd serves again once they close.
. "$(dirname "$0")/lib.sh"
: "${PEER:?PEER is not set; run the tests with meson test}"

start_lpd

nfds() {
	ls "/proc/$lpd_pid/fd" | wc -l
}

# fds_back_to N SECONDS: until lpd has at most N descriptors open.
fds_back_to() {
	deadline=$(($(date +%s) + $2))
	until [ "$(nfds)" -le "$1" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

base=$(nfds)
for i in 1 2 3; do
	"$PEER" flood "$sock" status >"$tmp/flood$i.out" 2>"$tmp/flood$i.err" ||
	    fail "flood $i: the server never paused reading"
	fds_back_to "$base" 10 ||
	    fail "flood $i: lpd holds $(nfds) descriptors, $base before"
done
lpctl_d 0 after-flood status
ok "three peers flood the control socket and close: no descriptor kept"

# 130 connections from one user: 128 are served, 2 refused, saying why.
fifo="$tmp/hold.in"
mkfifo "$fifo"
"$PEER" hold "$sock" 130 <"$fifo" >"$tmp/hold.out" 2>"$tmp/hold.err" &
holder=$!
bgpids="$bgpids $holder"
exec 3>"$fifo"
wait_for "$tmp/hold.out" '^accepted' 20
expect "$tmp/hold.out" '^accepted 128 refused 2$'
expect "$tmp/hold.out" 'per-user limit'
lpctl_d 1 refused status
expect "$tmp/refused.err" "per-user limit"
expect_not "$tmp/refused.err" "start lpd first"
exec 3>&-
gone "$holder" 10 || fail "the holder did not exit"
deadline=$(($(date +%s) + 10))
until "$LPCTL" --socket "$sock" status >/dev/null 2>&1; do
	[ "$(date +%s)" -lt "$deadline" ] ||
	    fail "lpd does not serve again after the connections closed"
	sleep 0.05
done
ok "one user's connections past 128 are refused, and served once closed"

# The limits are lpd's options.
kill -TERM "$lpd_pid"
gone "$lpd_pid" 20 || fail "lpd did not exit on SIGTERM"
start_lpd --max-connections-per-user 5
"$PEER" hold "$sock" 7 </dev/null >"$tmp/hold2.out" 2>"$tmp/hold2.err"
expect "$tmp/hold2.out" '^accepted 5 refused 2$'
status=0
"$LPD" -f -S "$tmp/x.sock" -s "$tmp/x" --max-connections 0 \
    >"$tmp/bad.out" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "lpd --max-connections 0 exited $status"
expect "$tmp/bad.out" 'give a number from 1 to 1000000'
ok "--max-connections-per-user sets the limit; a bad value is refused"
