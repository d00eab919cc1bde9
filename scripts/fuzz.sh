#!/bin/sh
# Build the libFuzzer targets (fuzz/) into ./build-fuzz with clang, ASan and
# UBSan, and run each for SECONDS (default 30) on a copy of its seed corpus
# in a temporary folder, so that nothing is written into the tree:
#
#   scripts/fuzz.sh [SECONDS [TARGET...]]     targets: frame value-json
#                                             program ctl (default: all)
#
# Prints the executions of each target; exits 1 if any target found
# something (a crash, a leak, a timeout or a broken invariant), keeping
# its folder with the input that did it, and 0 without doing anything if
# clang or libFuzzer's runtime is not installed.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

secs=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-frame value-json program ctl}
case $secs in
''|*[!0-9]*)
	echo "usage: scripts/fuzz.sh [SECONDS [TARGET...]]" >&2
	exit 2
	;;
esac

# The longest input each target is given.
max_len() {
	case $1 in
	program)	echo 8192 ;;
	*)		echo 4096 ;;
	esac
}

# libFuzzer comes with clang, in Debian's libclang-rt-14-dev.
if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz.sh: clang is not installed; not fuzzing" \
	    "(Debian: apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
    '{ return (0); }' >"$probe/probe.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/probe" \
    "$probe/probe.c" >/dev/null 2>&1; then
	echo "fuzz.sh: clang cannot link libFuzzer with ASan and UBSan;" \
	    "not fuzzing (Debian: apt-get install libclang-rt-14-dev)"
	exit 0
fi

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false \
	    -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
elif ! grep -q 'fuzz/fuzz-frame' build-fuzz/build.ninja; then
	meson configure build-fuzz -Dfuzz=true
fi
exes=""
for t in $targets; do
	if [ ! -f "fuzz/fuzz-$t.c" ]; then
		echo "fuzz.sh: no target $t (fuzz/fuzz-$t.c)" >&2
		exit 2
	fi
	exes="$exes fuzz/fuzz-$t"
done
# shellcheck disable=SC2086
ninja -C build-fuzz $exes

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
failed=""
for t in $targets; do
	dir=$(mktemp -d "${TMPDIR:-/tmp}/lpd-fuzz-$t.XXXXXX")
	mkdir "$dir/corpus" "$dir/tmp"
	cp "fuzz/corpus/$t/"* "$dir/corpus/"
	echo "== fuzz-$t: $secs s, inputs of at most $(max_len "$t") bytes"
	# The targets make their own folders under TMPDIR; libFuzzer writes
	# what it finds into the current folder.
	if (cd "$dir" && TMPDIR="$dir/tmp" \
	    "$top/build-fuzz/fuzz/fuzz-$t" -max_total_time="$secs" \
	    -max_len="$(max_len "$t")" -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$dir/" corpus \
	    >"$dir/log" 2>&1); then
		status=0
	else
		status=$?
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
	cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -n 1)
	echo "fuzz-$t: ${runs:-?} executions (${rate:-?}/s), ${cov:-cov: ?}"
	if [ "$status" -ne 0 ]; then
		tail -n 60 "$dir/log"
		echo "fuzz-$t: FOUND something (exit $status); the input and" \
		    "the log are in $dir"
		failed="$failed $t"
	else
		rm -rf "$dir"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz.sh: findings in:$failed"
	exit 1
fi
echo "fuzz.sh: no findings"
