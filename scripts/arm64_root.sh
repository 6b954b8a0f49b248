#!/usr/bin/env bash
# An arm64 Debian root holding real arm64 Pd (puredata-core) and libzmq5, the one library lmdm~.l_arm64 links
# dynamically: what a Raspberry Pi with Raspberry Pi OS / Debian has after `apt install puredata-core libzmq5`.
# tests/pd/arm64_loopback.py runs its Pd under qemu-user (`make test-arm64`). Cached: a finished root is kept.
#
# debootstrap's first stage (--foreign) runs no arm64 code; its second stage would (through binfmt_misc, which this
# script does not touch), so the packages the first stage downloaded are unpacked with dpkg-deb instead. No maintainer
# script runs: Pd and the libraries need none, and qemu-user's -L prefix stands in for the chroot.
set -euo pipefail
root=${1:-build/arm64-root}
suite=${SUITE:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
[ -f "$root/.lmdm-ready" ] && exit 0
rm -rf "$root"
echo "making an arm64 $suite root in $root (debootstrap, about a minute)"
debootstrap --foreign --arch=arm64 --variant=minbase --include=puredata-core,libzmq5 "$suite" "$root"
for deb in "$root"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$root"; done
test -x "$root/usr/lib/puredata/bin/pd"
touch "$root/.lmdm-ready"
