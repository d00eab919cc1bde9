#!/bin/sh
# lpctl's bash completion: commands, options, and from a running lpd the
# names of programs, their nodes and a node's methods.
. "$(dirname "$0")/lib.sh"
: "${COMPLETION:?COMPLETION is not set; run the tests with meson test}"
command -v bash >/dev/null || fail "bash is missing"

# The completion calls lpctl by name.
mkdir "$tmp/bin"
ln -s "$LPCTL" "$tmp/bin/lpctl"

# complete OUT WORD...: complete the last WORD of "lpctl WORD...", the
# candidates into $tmp/OUT, one a line.
complete_words() {
	out=$1
	shift
	PATH="$tmp/bin:$PATH" bash -c '
		. "$1"
		shift
		COMP_WORDS=(lpctl "$@")
		COMP_CWORD=$#
		_lpctl
		printf "%s\n" "${COMPREPLY[@]}"' sh "$COMPLETION" "$@" \
	    >"$tmp/$out" 2>"$tmp/$out.err" ||
	    fail "completing lpctl $* failed: $(cat "$tmp/$out.err")"
}

complete_words c1 st
expect "$tmp/c1" '^status$'
expect "$tmp/c1" '^stop$'
expect_not "$tmp/c1" '^run$'
complete_words c2 stop --
expect "$tmp/c2" '^--kill$'
expect "$tmp/c2" '^--no-wait$'
ok "commands and options"

start_lpd
cp "$TESTNODE" "$tmp/testnode"
program "$tmp/serve.json" '{"program": "serve", "nodes": [
  {"group": "srv", "type": "courier", "command": ["testnode"],
   "config": {"wait": true}}]}'
lpctl_d 0 l1 launch "$tmp/serve.json"
wait_json 'j["programs"][0]["nodes"][0]["state"]' running "$tmp/st.json" 10 serve

complete_words c3 --socket "$sock" status s
expect "$tmp/c3" '^serve$'
complete_words c4 --socket "$sock" call serve ""
expect "$tmp/c4" '^srv/0$'
complete_words c5 --socket "$sock" call serve srv/0 p
expect "$tmp/c5" '^ping$'
expect_not "$tmp/c5" '^echo$'
ok "programs, nodes and methods from lpd"
lpctl_d 0 s1 stop serve
