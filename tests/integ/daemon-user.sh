#!/bin/sh
# A second user: lpd checks every request against the caller's
# credentials. Runs as root (lpd's user) and drives lpctl as nobody with
# setpriv: nobody sees, stops and calls into none of root's programs, and
# its own program runs as nobody.
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
expect "$tmp/n0.err" "its socket is its owner's alone \\(uid 0, mode 0600\\)"
expect_not "$tmp/n0.err" 'start lpd first'
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "the socket is 0600: another user cannot connect, and is told why"

# A group nobody is not in: it is told which group to join.
start_lpd --group daemon
as_nobody 3 n0g status
expect "$tmp/n0g.err" 'its socket is for group daemon \(mode 0660\): ask to be added to group daemon'
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "a socket for a group the user is not in says which group"

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

# A root lpd runs another user's program as that user: its nodes, its
# runtime folder and sockets are nobody's, and nobody drives it.
program "$tmp/theirs.json" '{"program": "theirs", "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}},
  {"group": "who", "type": "process", "command": ["sh", "-c",
   "echo uid $(id -u) gid $(id -g); exec sleep 1000"]}]}'
chmod 0644 "$tmp/theirs.json"
nobody_uid=$(id -u nobody)
as_nobody 0 n9 launch "$tmp/theirs.json"
deadline=$(($(date +%s) + 10))
until as_nobody 0 n10 call theirs srv/0 ping 2>/dev/null; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "nobody's srv/0 never answered"
	sleep 0.1
done
expect "$tmp/n10.out" 'pong from srv/0'
deadline=$(($(date +%s) + 10))
until as_nobody 0 n11 logs theirs who/0 && grep -q '^uid ' "$tmp/n11.out"; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "no uid line from who/0"
	sleep 0.1
done
expect "$tmp/n11.out" "^uid $nobody_uid gid [0-9]+$"
lpctl_d 0 st3 status --json theirs
[ "$(json 'j["programs"][0]["uid"]' "$tmp/st3.out")" = "$nobody_uid" ] ||
    fail "theirs is not recorded as nobody's"
for n in 0 1; do
	pid=$(json "j['programs'][0]['nodes'][$n]['pid']" "$tmp/st3.out")
	[ "$(stat -c %u "/proc/$pid")" = "$nobody_uid" ] ||
	    fail "node $n (pid $pid) does not run as nobody"
done
as_nobody 0 n12 stop theirs
as_nobody 0 n13 status --json theirs
[ "$(json 'j["programs"][0]["state"]' "$tmp/n13.out")" = exited ] ||
    fail "nobody could not stop its own program"
ok "a root lpd runs another user's program as that user"

# Root sees and stops everything.
lpctl_d 0 s1 stop mine
lpctl_d 0 st4 status --json mine
[ "$(json 'j["programs"][0]["state"]' "$tmp/st4.out")" = exited ] ||
    fail "root could not stop its program"
kill -TERM "$lpd_pid"
gone "$lpd_pid" 10 || fail "lpd did not exit on SIGTERM"
ok "root stops its own"
