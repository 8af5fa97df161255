#!/bin/bash
# tests/vsdev/on-our-qemu.sh SCRIPT [ARGS...] - run another rig test (one
# that boots `qemu-system-x86_64` from PATH, e.g. tests/kmod/conform_test.sh)
# against the QEMU carrying OUR virtio-serial device instead of Debian's.
# SCRIPT's output and exit status are passed through unchanged.
. "$(dirname "$0")/../vm/lib.sh"
. "$(dirname "$0")/our-qemu.sh"
[ $# -ge 1 ] || { echo "usage: $0 SCRIPT [ARGS...]" >&2; exit 2; }
vm_setup vsdev-on
vsdev_our_qemu
# Keep our wrapper dir alive for the child: only clean up after it exits.
"$@"
rc=$?
exit $rc
