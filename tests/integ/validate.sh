#!/bin/sh
# lpctl validate, graph and usage errors: a bad file starts nothing.
. "$(dirname "$0")/lib.sh"

cp_json="$EXAMPLES/consumer_producers/consumer_producers.json"
run_lpctl 0 v validate "$cp_json"
expect "$tmp/v.out" 'ok: program "consumer_producers", 2 groups, 5 nodes$'

run_lpctl 0 g graph "$cp_json"
expect "$tmp/g.out" '^digraph'
expect "$tmp/g.out" '"consumer/0" -> "producer/3";'

# Two mistakes, both reported, with their places; nothing runs.
program "$tmp/bad.json" '{"program": "bad", "nodes": [
  {"group": "w", "type": "process", "command": ["sh", "-c", "touch '"$tmp"'/ran"]},
  {"group": "c", "type": "courier", "command": ["sh"],
   "config": {"p": {"$handles": "producr"}}, "replicass": 2}]}'
run_lpctl 2 bad validate "$tmp/bad.json"
expect "$tmp/bad.err" 'nodes\[1\]\.config\.p: no group "producr"'
expect "$tmp/bad.err" 'nodes\[1\]'.*'replicass'
run_lpctl 2 badrun run "$tmp/bad.json"
expect "$tmp/badrun.err" 'nothing was started'
[ ! -e "$tmp/ran" ] || fail "a node of an invalid program ran"
ok "bad files"

run_lpctl 2 u1
run_lpctl 2 u2 frobnicate
expect "$tmp/u2.err" 'unknown command "frobnicate"'
run_lpctl 2 u3 run
run_lpctl 2 u4 run --grace -1 "$cp_json"
expect "$tmp/u4.err" 'grace'
run_lpctl 2 u5 run --name 'a b' "$cp_json"
run_lpctl 2 u6 run "$tmp/missing.json"
run_lpctl 0 h --help
expect "$tmp/h.out" 'run'
# A command's --help explains its options; a usage error points to it.
run_lpctl 0 h2 stop --help
expect "$tmp/h2.out" '^usage: lpctl stop '
expect "$tmp/h2.out" '^  --kill +SIGKILL at once$'
expect "$tmp/h2.out" '^  --socket PATH '
run_lpctl 0 h3 run --help
expect "$tmp/h3.out" '^  --log-max BYTES +rotate a log past this size'
expect_not "$tmp/h3.out" 'PATH +lpd'"'"'s socket'
run_lpctl 2 h4 status --bogus
expect "$tmp/h4.err" 'lpctl status --help says more'
ok usage
