#!/bin/sh
# Install the Debian packages lpd builds and tests with, if any is missing.
# Run as root (or with sudo available). Does nothing when all are there.
# Extra package names given as arguments are installed too (CI's clang).
set -eu

# python3: the daemon's integration tests parse lpctl status --json with it
# and play systemd's notify and socket-activation protocols.
# python3-protobuf, protobuf-compiler (protoc) and python3-pytest: the lpd
# Python package's generated message code and its tests.
packages="gcc pkg-config meson ninja-build libevent-dev libprotobuf-c-dev
protobuf-c-compiler libjansson-dev check valgrind procps python3
python3-protobuf protobuf-compiler python3-pytest $*"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps.sh: missing packages:$missing; run as root to install" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $sudo apt-get install -y --no-install-recommends $missing; then
	$sudo apt-get update
	# shellcheck disable=SC2086
	$sudo apt-get install -y --no-install-recommends $missing
fi
