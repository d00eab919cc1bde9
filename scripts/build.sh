#!/bin/sh
# Configure (once) and build into ./build, after installing what is missing.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
