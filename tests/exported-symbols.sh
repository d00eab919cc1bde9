#!/bin/sh
# A library exports exactly what its public headers declare: any other
# defined dynamic symbol (an internal helper such as xmalloc, or the
# generated protobuf-c code) is a name pushed into every embedder's
# namespace, and fails this test (a sanitizer's own instrumentation names
# are not ours, and are let be). So does a declared function that is not
# exported (a header that promises what the library lacks).
#
#	exported-symbols.sh LIBRARY.so HEADER...
set -eu
lib=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/exported-symbols.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{ print $3 }' |
    grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' |
    grep -v -E '^__(odr_)?asan|^__ubsan|^__sanitizer' | sort -u >"$tmp/exported"
# The headers without their comments, which may name functions of another
# library (lptest.h's text speaks of lp_node_fail()).
awk '{
	out = ""
	while ($0 != "") {
		if (incomment) {
			if ((i = index($0, "*/")) == 0)
				$0 = ""
			else {
				$0 = substr($0, i + 2)
				incomment = 0
			}
		} else if ((i = index($0, "/*")) == 0) {
			out = out $0
			$0 = ""
		} else {
			out = out substr($0, 1, i - 1) " "
			$0 = substr($0, i + 2)
			incomment = 1
		}
	}
	print out
}' "$@" >"$tmp/headers"
set -- "$tmp/headers"
# Every function a header declares: a name followed by "(" at a prototype.
cat "$@" | grep -o -E '\<(courier|lp)_[a-z0-9_]+[[:space:]]*\(' |
    sed 's/[[:space:]]*($//' >"$tmp/declared.all"
# And every object a header declares extern.
cat "$@" | grep -E '^extern[[:space:]]' |
    grep -o -E '\<(courier|lp)_[a-z0-9_]+[[:space:]]*(\[|;)' |
    sed 's/[[:space:]]*[[;]$//' >>"$tmp/declared.all"
sort -u -o "$tmp/declared.all" "$tmp/declared.all"
# Keep the ones that are functions, not macros or function-pointer types.
grep -h -o -E '^#define[[:space:]]+(courier|lp)_[a-z0-9_]+' "$@" |
    awk '{ print $2 }' | sort -u >"$tmp/macros"
comm -23 "$tmp/declared.all" "$tmp/macros" >"$tmp/declared"

status=0
extra=$(comm -23 "$tmp/exported" "$tmp/declared")
if [ -n "$extra" ]; then
	echo "exported-symbols: ${lib##*/} exports names no public header" \
	    "declares (mark them static, or declare them):" >&2
	echo "$extra" | sed 's/^/  /' >&2
	status=1
fi
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
if [ -n "$missing" ]; then
	echo "exported-symbols: the headers declare functions" \
	    "${lib##*/} does not export:" >&2
	echo "$missing" | sed 's/^/  /' >&2
	status=1
fi
[ "$status" -ne 0 ] || echo "exported-symbols: ok: $(wc -l <"$tmp/exported") names, each declared"
exit $status
