#!/bin/sh
# install.sh: a user's path after `meson install`. Install the build into
# a private folder, then, outside the tree and with only pkg-config to
# find lpd, build examples/hello_world's node and its lptest test, run the
# test in both of its homes, and run the program with the installed lpctl.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?BUILD_ROOT is not set; run the tests with meson test}"
: "${SOURCE_ROOT:?SOURCE_ROOT is not set; run the tests with meson test}"
CC=${CC:-cc}

dest=$tmp/dest
meson install -C "$BUILD_ROOT" --no-rebuild --quiet --destdir "$dest" \
    >"$tmp/install.out" 2>&1 || fail "meson install into $dest failed"
pc=$(find "$dest" -name lptest.pc)
[ -n "$pc" ] || fail "meson install put no lptest.pc under $dest"
[ -n "$(find "$dest" -name lptest.h)" ] || fail "no lptest.h installed"
[ -n "$(find "$dest" -name 'liblptest.so.0')" ] ||
    fail "no liblptest.so.0 installed"
ok "installed lptest.h, liblptest.so and lptest.pc"

# The .pc files say where they will be (the prefix); the files are under
# $dest until then, so move the prefix there, for our packages only.
export PKG_CONFIG_PATH="${pc%/*}"
prefix=$(pkg-config --variable=prefix lptest)
ours() {
	pkg-config --define-variable=prefix="$dest$prefix" "$@"
}
libdir=$(ours --variable=libdir lptest)
[ -d "$libdir" ] || fail "lptest.pc's libdir $libdir is not a folder"
san=
[ "${SANITIZE:-none}" = none ] || san="-fsanitize=$SANITIZE"

mkdir "$tmp/mine"
cp "$SOURCE_ROOT/examples/hello_world/hello.c" \
    "$SOURCE_ROOT/examples/hello_world/test-hello-world.c" \
    "$SOURCE_ROOT/examples/hello_world/hello_world.json" "$tmp/mine/"
cd "$tmp/mine"
# shellcheck disable=SC2046,SC2086
$CC $san -o hello hello.c $(ours --cflags --libs libcourier) \
    -Wl,-rpath,"$libdir" >"$tmp/cc-node.out" 2>&1 ||
    fail "building hello.c against the installed libcourier failed"
# shellcheck disable=SC2046,SC2086
$CC $san -DLP_NODE_NO_MAIN -o test-hello test-hello-world.c hello.c \
    $(ours --cflags --libs lptest) $(pkg-config --cflags --libs check) \
    -Wl,-rpath,"$libdir" >"$tmp/cc-test.out" 2>&1 ||
    fail "building the test against the installed lptest failed"
ok "built a node and its test outside the tree with pkg-config"

ldd ./test-hello >"$tmp/ldd.out"
grep -q "liblptest.so.0 => $libdir" "$tmp/ldd.out" ||
    fail "the test does not load the installed liblptest"
CK_DEFAULT_TIMEOUT=120 PROGRAM="$tmp/mine/hello_world.json" ./test-hello \
    >"$tmp/test.out" 2>&1 || fail "the test built outside the tree failed"
expect "$tmp/test.out" '100%: Checks: [1-9]'
ok "the test passes in both homes"

lpctl=$(find "$dest" -path '*/bin/lpctl')
[ -x "$lpctl" ] || fail "no lpctl installed"
"$lpctl" run hello_world.json >"$tmp/run.out" 2>&1 ||
    fail "the installed lpctl run hello_world.json failed"
expect "$tmp/run.out" 'Hello'
ok "the installed lpctl runs the program"
