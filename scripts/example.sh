#!/bin/sh
# Install what is missing, build, and run the example: an echo server and
# its client, talking courier over a Unix socket.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
exec ./examples/run-echo.sh build/examples/echo-server build/examples/echo-client
