#!/bin/sh
# A second user: lpd checks every request against the caller's
# credentials. Runs as root (lpd's user) and drives lpctl as nobody with
# setpriv: nobody sees, stops and calls into none of root's programs, and
# its own launch is refused, since lpd would run its nodes as root.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "this test must run as root (it switches to nobody)"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"

as_nobody() {
	want=$1
	out=$2
	shift 2
	status=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$LPCTL" --socket "$sock" "$@" >"$tmp/$out.out" 2>"$tmp/$out.err" ||
	    status=$?
	[ "$status" -eq "$want" ] ||
	    fail "lpctl $* as nobody exited $status, not $want"
}

# nobody reaches the socket only through its group, and through the test's
# folder; the state folder stays root's.
chmod 0711 "$tmp"
cp "$TESTNODE" "$tmp/testnode"
program "$tmp/mine.json" '{"program": "mine", "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}}]}'
chmod 0644 "$tmp/mine.json"

# Without a group the socket is 0600: nobody cannot even connect.
start_lpd
[ "$(stat -c %a "$sock")" = 600 ] || fail "the socket is not 0600"
as_nobody 3 n0 status
expect "$tmp/n0.err" 'cannot reach lpd at'
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "the socket is 0600: another user cannot connect"

start_lpd --group nogroup
[ "$(stat -c %a:%G "$sock")" = 660:nogroup ] ||
    fail "the socket is $(stat -c %a:%G "$sock"), not 660:nogroup"
lpctl_d 0 l1 launch "$tmp/mine.json"
wait_json 'j["programs"][0]["nodes"][0]["state"]' running "$tmp/st.json" 10 mine

as_nobody 0 n1 status
expect "$tmp/n1.out" '^no programs'
as_nobody 0 n2 status --json
[ "$(json 'len(j["programs"])' "$tmp/n2.out")" = 0 ] ||
    fail "nobody sees root's programs in status --json"
as_nobody 1 n3 status mine
expect "$tmp/n3.err" 'program "mine" was launched by another user \(uid 0\)'
as_nobody 1 n4 stop mine
expect "$tmp/n4.err" 'launched by another user'
as_nobody 1 n5 call mine srv/0 ping
expect "$tmp/n5.err" 'launched by another user'
as_nobody 1 n6 logs mine
as_nobody 1 n7 wait mine
as_nobody 1 n8 forget mine
lpctl_d 0 st2 status --json mine
[ "$(json 'j["programs"][0]["state"]' "$tmp/st2.out")" = running ] ||
    fail "root's program did not survive nobody's stop"
ok "another user sees, stops and calls into none of root's programs"

as_nobody 1 n9 launch --name theirs "$tmp/mine.json"
expect "$tmp/n9.err" 'runs as uid 0 and you are uid [0-9]+: it would run your nodes as uid 0, so it refuses'
lpctl_d 1 st3 status theirs
ok "a launch by another user than lpd's is refused, not run as root"

# Root sees and stops everything.
lpctl_d 0 s1 stop mine
lpctl_d 0 st4 status --json mine
[ "$(json 'j["programs"][0]["state"]' "$tmp/st4.out")" = exited ] ||
    fail "root could not stop its program"
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "root stops its own"
