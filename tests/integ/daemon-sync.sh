#!/bin/sh
# A program's record is durable: after the rename over the old one, lpd
# syncs the folder. When that sync fails (made by the faults library while
# a flag file exists), lpd says so once, keeps serving, and writes the
# record again once the sync works.
. "$(dirname "$0")/lib.sh"

: "${FAULTS:?FAULTS is not set; run the tests with meson test}"

nosync="$tmp/nosync"
: >"$nosync"
LPD_ENV="LD_PRELOAD=$FAULTS FAULTS_FSYNC_DIR_FAIL=$nosync" start_lpd

program "$tmp/p.json" '{"program": "p", "nodes": [
  {"group": "w", "type": "process", "command": ["sleep", "60"]}]}'
lpctl_d 0 l launch "$tmp/p.json"
wait_for "$tmp/lpd.err" \
    "p: record: cannot sync folder $statedir/p after writing record.json: Input/output error; trying again until it is written" 10
lpctl_d 0 st status p
expect "$tmp/st.out" '^program p: running'
expect "$tmp/st.out" 'warning: record: not written since .*: Input/output error'
ok "a folder sync that fails is said (log, status), and lpd serves on"

rm -f "$nosync"
wait_for "$tmp/lpd.err" 'p: record: written again' 10
json 'j["state"]' "$statedir/p/record.json" >"$tmp/state.out"
expect "$tmp/state.out" '^running$'
lpctl_d 0 st2 status p
expect_not "$tmp/st2.out" 'warning: record'
ok "once the sync works, the record is written again"

lpctl_d 0 stop stop p
stop_lpd
no_pids_left "$tmp/lpd.err"
ok "lpd stops cleanly"
