#!/bin/sh
# instructions.sh: instructions per synchronous 64-byte call over a Unix
# socket, on the client's side and on the server's, for courier (both
# handler modes) beside the raw ping-pong floor, as valgrind's callgrind
# counts them. A count is the same on every run, where a time is not, so
# this is how a change to the call path shows on a busy machine.
#
#	bench/instructions.sh [COURIER-BENCH]   (default build/bench/...)
#
# courier-bench runs twice per side, with few and with many calls; the
# difference over the difference in calls leaves out start-up and the
# tests that do not change (pipelined, 1 MiB). The bench process is the
# client; the processes it forks are the servers.
set -eu
cd "$(dirname "$0")/.."
bench=${1:-build/bench/courier-bench}
few=2000
many=12000

command -v valgrind >/dev/null 2>&1 || {
	echo "instructions.sh: valgrind is not installed" >&2
	exit 2
}
[ -x "$bench" ] || {
	echo "instructions.sh: no $bench; build first (ninja -C build)" >&2
	exit 2
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/instructions.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# count WHAT CALLS: "CLIENT SERVER" instructions in all, for one run.
count() {
	dir="$tmp/$1-$2"
	mkdir "$dir"
	valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" \
	    "$bench" --only "$1" --unix-only --calls "$2" --pipelined 64 \
	    --big 1 >"$dir/out" 2>"$dir/err" || {
		echo "instructions.sh: $bench failed under callgrind:" >&2
		tail -n 20 "$dir/err" >&2
		exit 1
	}
	client=$(ls "$dir" | grep '^cg\.' | sort -t. -k2 -n | head -n 1)
	for f in "$dir"/cg.*; do
		sed -n 's/^totals: *//p; s/^summary: *//p' "$f" | head -n 1 |
		    awk -v f="${f##*/}" -v c="$client" \
		    '{ print (f == c ? "c" : "s"), $1 }'
	done | awk '{ t[$1] += $2 } END { printf "%d %d\n", t["c"], t["s"] }'
}

# per WHAT MODES: instructions per call, client and server.
per() {
	set -- "$1" "$2" $(count "$1" "$few") $(count "$1" "$many")
	awk -v m="$2" -v n="$((many - few))" -v c1="$3" -v s1="$4" \
	    -v c2="$5" -v s2="$6" 'BEGIN {
		printf "%8.0f %8.0f\n", (c2 - c1) / n / m, (s2 - s1) / n / m
	}'
}

echo "instructions per sync call, 64 B, Unix socket (callgrind; $many - $few calls)"
printf "%-28s %8s %8s\n" "" client server
printf "%-28s %s\n" "raw ping-pong (the floor)" "$(per raw 1)"
# courier runs each sync test twice: a pool handler and an inline one.
printf "%-28s %s\n" "courier (pool + inline)/2" "$(per courier 2)"
