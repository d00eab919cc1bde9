#!/bin/sh
# A full disk under lpd's state folder: lpd keeps serving (launch, status,
# call, stop), says so in status and once in its own log, never replaces
# a record with part of one, writes the records it could not once there
# is room again, and resumes each node's log with a line that says how
# many were lost.
#
# The state folder is a small tmpfs, so that the disk is really full
# (short writes, and ENOSPC from write, open and mkdir, as the kernel
# gives them), in a mount namespace of the test's own, so that no mount
# outlives it. Skipped (77) where mounting is not allowed.
if [ -z "${LPD_TEST_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] ||
	    ! unshare -m --propagation private true 2>/dev/null; then
		echo "daemon-full: skipped: needs root and unshare -m"
		exit 77
	fi
	LPD_TEST_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

mkdir -p "$statedir"
if ! mount -t tmpfs -o size=512k,nr_inodes=256,mode=0700 tmpfs \
    "$statedir" 2>"$tmp/mount.err"; then
	echo "daemon-full: skipped: no tmpfs: $(cat "$tmp/mount.err")"
	exit 77
fi
unmount() {
	for p in $bgpids; do
		kill -KILL "$p" 2>/dev/null || true
		gone "$p" 5 || true
	done
	umount "$statedir" 2>/dev/null || umount -l "$statedir" || true
	rm -rf "$tmp"
}
trap unmount EXIT

# fill: no block left, then no inode either (ENOSPC for mkdir and open).
fill() {
	dd if=/dev/zero of="$statedir/fill" bs=64k 2>/dev/null || true
	[ "$1" = inodes ] || return 0
	mkdir -p "$statedir/fillers" 2>/dev/null || true
	i=0
	while { true >"$statedir/fillers/$i"; } 2>/dev/null; do
		i=$((i + 1))
	done
	mkdir "$statedir/probe" 2>/dev/null &&
	    fail "the tmpfs still has inodes after $i files"
	return 0
}

unfill() {
	rm -rf "$statedir/fill" "$statedir/fillers"
}

# count FILE PATTERN: how many lines of FILE match.
count() {
	grep -Ec -- "$2" "$1" || true
}

start_lpd
cp "$TESTNODE" "$tmp/testnode"
program "$tmp/chatty.json" '{"program": "chatty", "stop": {"grace_s": 5},
  "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}},
  {"group": "talk", "type": "process",
   "command": ["sh", "-c", "p=$(printf %0200d 0); i=0; while :; do echo line $i $p; i=$((i+1)); sleep 0.02; done"]}]}'
program "$tmp/second.json" '{"program": "second", "nodes": [
  {"group": "w", "type": "process",
   "command": ["sh", "-c", "echo hello; exec sleep 1000"]}]}'
talklog="$statedir/chatty/talk/0.log"

lpctl_d 0 l1 launch "$tmp/chatty.json"
wait_json '[n["state"] for n in j["programs"][0]["nodes"]]' \
    "['running', 'running']" "$tmp/st1.json" 10 chatty
wait_for "$talklog" "${T}line 5 0+\$" 10
[ "$(json 'j["programs"][0]["warnings"]' "$tmp/st1.json")" = "[]" ] ||
    fail "chatty has warnings before the disk is full"

# Full: the logs stop, lpd says so once and serves on.
fill blocks
wait_for "$tmp/lpd.err" 'chatty: logs: ' 10
wait_json '[w.split(" since ")[0] for w in j["programs"][0]["warnings"]]' \
    "['logs: not written']" "$tmp/st2.json" 10 chatty
expect "$tmp/st2.json" \
    '"logs: not written since [0-9]{2}:[0-9]{2}:[0-9]{2}: No space left on'
lpctl_d 0 st3 status chatty
expect "$tmp/st3.out" \
    '^  warning: logs: not written since [0-9:]{8}: No space left on device'
lpctl_d 0 c1 call chatty srv/0 ping
expect "$tmp/c1.out" 'pong from srv/0'
ok "full: lpd serves calls and status, which says the logs are not written"

# Full to the last inode: a launch still works, and its record waits.
fill inodes
lpctl_d 0 l2 launch "$tmp/second.json"
wait_json 'j["programs"][0]["nodes"][0]["state"]' running "$tmp/st4.json" \
    10 second
wait_json '[w.split(" since ")[0] for w in j["programs"][0]["warnings"]]' \
    "['logs: not written', 'record: not written']" "$tmp/st4.json" 10 second
lpctl_d 0 s2 stop second
lpctl_d 0 st5 status --json second
[ "$(json 'j["programs"][0]["state"]' "$tmp/st5.out")" = exited ] ||
    fail "second did not exit: $(cat "$tmp/st5.out")"
[ ! -e "$statedir/second/record.json" ] ||
    fail "second has a record on a full disk"
expect "$tmp/st5.out" \
    '"record: not written since [0-9:]{8}: No space left on device"'
[ "$(json 'j["state"]' "$statedir/chatty/record.json")" = running ] ||
    fail "chatty's record is not whole: $(cat "$statedir/chatty/record.json")"
[ -z "$(find "$statedir" -name '*.tmp')" ] ||
    fail "temporary records are left: $(find "$statedir" -name '*.tmp')"
ok "full: launch and stop work, the record waits, the old one stays whole"

# Room again: the record is written, and the logs go on.
unfill
wait_json 'j["programs"][0]["warnings"]' "[]" "$tmp/st6.json" 30 second
[ "$(json 'j["state"]' "$statedir/second/record.json")" = exited ] ||
    fail "second's record is not written: $(cat "$statedir/second/record.json")"
wait_json 'j["programs"][0]["warnings"]' "[]" "$tmp/st7.json" 30 chatty
wait_for "$talklog" \
    "${T}lpd: [0-9]+ lines? lost: No space left on device\$" 10
n=$(sed -E -n "s/${T}line ([0-9]*) 0*\$/\1/p" "$talklog" | tail -n 1)
wait_for "$talklog" "${T}line $((n + 5)) 0+\$" 10
lpctl_d 0 lg logs -n 100000 chatty
expect "$tmp/lg.out" '^\[talk/0\] lpd: [0-9]+ lines? lost'
[ "$(count "$tmp/lpd.err" 'chatty: logs: ')" -eq 2 ] ||
    fail "lpd did not say once that chatty's logs stopped, once they resumed"
expect "$tmp/lpd.err" 'chatty: logs: .*No space left on device'
expect "$tmp/lpd.err" 'chatty: logs: written again'
[ "$(count "$tmp/lpd.err" 'second: record: ')" -eq 2 ] ||
    fail "lpd did not say once that second's record waits, once it is written"
ok "room again: the record is written, the logs resume, each said once"

# A stop on a full disk: the record that says so is written once it can.
fill blocks
lpctl_d 0 s3 stop chatty
[ "$(json 'j["state"]' "$statedir/chatty/record.json")" = running ] ||
    fail "chatty's record changed on a full disk"
unfill
deadline=$(($(date +%s) + 30))
until [ "$(json 'j["state"]' "$statedir/chatty/record.json")" = exited ]; do
	[ "$(date +%s)" -lt "$deadline" ] ||
	    fail "chatty's record is still not written after 30 s"
	sleep 0.1
done

kill -KILL "$lpd_pid"
gone "$lpd_pid" 5 || fail "lpd survived SIGKILL"
start_lpd
lpctl_d 0 st8 status --json
[ "$(json 'sorted((q["name"], q["state"]) for q in j["programs"])' \
    "$tmp/st8.out")" = \
    "[('chatty', 'exited'), ('second', 'exited')]" ] ||
    fail "a record was lost: $(cat "$tmp/st8.out")"
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "no record is lost: after a restart both programs are exited"
