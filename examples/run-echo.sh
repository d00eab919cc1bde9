#!/bin/sh
# run-echo.sh: start echo-server on a Unix socket, call it with echo-client,
# check the replies, then stop the server with SIGTERM and check that it
# exited 0.
#
# usage: run-echo.sh ECHO-SERVER ECHO-CLIENT
set -eu

if [ $# -ne 2 ]; then
	echo "usage: run-echo.sh ECHO-SERVER ECHO-CLIENT" >&2
	exit 2
fi
server=$1
client=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-echo.XXXXXX")
pid=

cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "run-echo.sh: $*" >&2
	for f in "$tmp"/server.out "$tmp"/server.err "$tmp"/client.out \
	    "$tmp"/client.err; do
		if [ -s "$f" ]; then
			echo "--- ${f##*/}" >&2
			cat "$f" >&2
		fi
	done
	exit 1
}

# Wait until file $1 has a line matching $2, while process $3 lives; give
# up after $4 seconds.
wait_for_line() {
	deadline=$(($(date +%s) + $4))
	until grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || fail "server exited before: $2"
		[ "$(date +%s)" -lt "$deadline" ] || fail "no \"$2\" in $4 s"
		sleep 0.05
	done
}

addr="unix:$tmp/echo.sock"
"$server" "$addr" >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
wait_for_line "$tmp/server.out" '^serving on unix:' "$pid" 10

# A usage error is exit 2.
status=0
"$client" >/dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "client without arguments exited $status, not 2"

msg='hello, courier'
status=0
"$client" "$addr" "$msg" >"$tmp/client.out" 2>"$tmp/client.err" ||
    status=$?
[ "$status" -eq 0 ] || fail "client exited $status"
grep -qxF "echo: \"$msg\"" "$tmp/client.out" || fail "no echo of \"$msg\""
grep -qxF 'add: 42' "$tmp/client.out" || fail "2 + 40 is not 42"
grep -q '^methods: .*"echo"' "$tmp/client.out" || fail "echo not listed"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "server exited $status on SIGTERM"
echo "run-echo.sh: ok"
