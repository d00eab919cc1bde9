#!/bin/sh
# Install what is missing, build, and run every test.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
meson test -C build --print-errorlogs "$@"
