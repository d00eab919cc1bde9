#!/bin/sh
# Install what is missing, build, and run the example: Launchpad's
# consumer_producers, four producer nodes and a consumer that calls them
# through futures, run by lpctl in the foreground.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
cd build
exec lpctl/lpctl run examples/consumer_producers/consumer_producers.json
