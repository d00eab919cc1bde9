#!/bin/sh
# replay.sh: a replay node ("type": "replay", lpd's own node) under lpd.
# lpctl validate refuses a bad table config with its place, and starts
# nothing; a replay node killed with SIGKILL and restarted by "restart":
# "on-failure" serves the items of its last checkpoint, and not the ones
# inserted after it; lpctl run runs the replay example to its end.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?BUILD_ROOT is not set; run the tests with meson test}"

# The build's replay node, for lpctl and for lpd (which inherits it).
LPD_REPLAY_NODE=${LPD_REPLAY_NODE:-$BUILD_ROOT/replay/lpd-replay-node}
export LPD_REPLAY_NODE
[ -x "$LPD_REPLAY_NODE" ] || fail "no replay node at $LPD_REPLAY_NODE"

program "$tmp/bad.json" '{"program": "bad", "nodes": [
  {"group": "replay", "type": "replay",
   "config": {"tables": [{"name": "q", "sampler": "unifrom"},
                         {"name": "p", "max_size": 0}]}}]}'
run_lpctl 2 v1 validate "$tmp/bad.json"
expect "$tmp/v1.err" 'nodes\[0\]\.config\.tables\[0\]\.sampler: unknown sampler "unifrom" \(did you mean "uniform"\?\)'
expect "$tmp/v1.err" 'nodes\[0\]\.config\.tables\[1\]\.max_size: 0'
run_lpctl 2 r1 run "$tmp/bad.json"
expect "$tmp/r1.err" 'nothing was started'
expect_not "$tmp/r1.err" 'started, pid'
ok "a bad table config: both errors with their place, nothing started"

program "$tmp/rp.json" '{"program": "rp", "stop": {"grace_s": 5},
  "nodes": [
  {"group": "replay", "type": "replay", "restart": "on-failure",
   "config": {"tables": [{"name": "q", "sampler": "fifo",
                          "remover": "fifo", "max_times_sampled": 1}],
              "checkpoint": {"dir": "ckpt"}}}]}'
run_lpctl 0 v2 validate "$tmp/rp.json"

start_lpd
lpctl_d 0 l1 launch --ready "$tmp/rp.json"
for i in 1 2 3; do
	lpctl_d 0 "i$i" call rp replay/0 insert "\"item $i\"" '{"q": 1}'
done
lpctl_d 0 ck call rp replay/0 checkpoint
# Relative to the node's folder, the program file's.
expect "$tmp/ck.out" '^"ckpt/replay-[0-9]+\.ckpt"$'
ckpt=$(json 'j' "$tmp/ck.out")
[ -s "$tmp/$ckpt" ] || fail "no checkpoint file $tmp/$ckpt"
# After the checkpoint: lost in the crash.
lpctl_d 0 i4 call rp replay/0 insert '"after"' '{"q": 1}'
lpctl_d 0 in1 call rp replay/0 info
[ "$(json 'j["q"]["size"]' "$tmp/in1.out")" = 4 ] ||
    fail "4 items inserted, info says otherwise"

"$LPCTL" --socket "$sock" status --json rp >"$tmp/st1.json"
pid1=$(json 'j["programs"][0]["nodes"][0]["pid"]' "$tmp/st1.json")
kill -KILL "$pid1"
wait_json 'j["programs"][0]["nodes"][0]["restarts"]' 1 "$tmp/st2.json" 15 rp
wait_json 'j["programs"][0]["nodes"][0]["state"]' running "$tmp/st3.json" 15 rp
pid2=$(json 'j["programs"][0]["nodes"][0]["pid"]' "$tmp/st3.json")
[ "$pid2" != "$pid1" ] || fail "replay/0 kept its pid: not restarted"
lpctl_d 0 in2 call rp replay/0 info
[ "$(json 'j["q"]["size"]' "$tmp/in2.out")" = 3 ] ||
    fail "after the crash, not the checkpoint's 3 items: $(cat "$tmp/in2.out")"
# A queue: each item once, in insertion order.
lpctl_d 0 sa call rp replay/0 sample '"q"' 3
[ "$(json '[d["item"] for d in j]' "$tmp/sa.out")" = \
    "['item 1', 'item 2', 'item 3']" ] ||
    fail "after the crash, not the checkpoint's items: $(cat "$tmp/sa.out")"
expect_not "$tmp/sa.out" 'after'
# New keys go on after the checkpoint's: none is given twice.
lpctl_d 0 i5 call rp replay/0 insert '"new"' '{"q": 1}'
[ "$(cat "$tmp/i5.out")" -gt "$(cat "$tmp/i3.out")" ] ||
    fail "a key after the restart ($(cat "$tmp/i5.out")) is not above" \
    "the checkpoint's last ($(cat "$tmp/i3.out"))"
lpctl_d 0 s1 stop rp
gone "$pid2" 10 || fail "replay/0 outlived the stop"
ok "killed with SIGKILL, restarted on failure: the last checkpoint's items"

# The stop wrote a checkpoint: a new run starts from it.
lpctl_d 0 l2 launch --ready "$tmp/rp.json"
lpctl_d 0 sb call rp replay/0 sample '"q"' 1
[ "$(json '[d["item"] for d in j]' "$tmp/sb.out")" = "['new']" ] ||
    fail "a new run did not start from the stop's checkpoint:" \
    "$(cat "$tmp/sb.out")"
lpctl_d 0 s2 stop rp
ok "a graceful stop writes a checkpoint that the next run reads"

# The example, as a user runs it from the build folder.
run_lpctl 0 ex run "$EXAMPLES/replay/replay.json"
expect "$tmp/ex.out" '^\[learner/0\] learner: 200 steps of 16: [0-9]+ inserts, 3200 samples$'
expect "$tmp/ex.err" 'learner/0 asked to stop the program'
no_pids_left "$tmp/ex.err"
ok "lpctl run runs the replay example to its end"
