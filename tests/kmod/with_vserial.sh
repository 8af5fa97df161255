#!/bin/bash
# tests/kmod/with_vserial.sh - run a tests/vm test with our vserial.ko driving
# the guest's virtio-serial device instead of the stock virtio_console:
#
#   tests/kmod/with_vserial.sh tests/vm/channel_test.sh
#
# The test itself is unchanged.  A stand-in qemu-system-x86_64 first on PATH
# appends one small cpio to each -initrd (the kernel unpacks concatenated
# archives in order, later files win): /lib/modules/vserial.ko and an
# /etc/rig-modules in which vserial takes virtio_console's place.  The rig's
# /init then loads ours and never the stock driver (an insmod failure is a
# VMTEST fail), so every check of the test runs on our driver.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
test=$1
shift

skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 77; }
real_qemu=$(command -v qemu-system-x86_64) || skip "no qemu-system-x86_64"
VM_KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -1)
[ -n "$VM_KVER" ] || skip "no /boot/vmlinuz-* (linux-image-amd64)"
VM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vsf-with-vserial.XXXXXX") || exit 1
trap 'rm -rf "$VM_DIR"' EXIT
vm_fail() { echo "FAIL $1: $2"; }
vm_report() { echo "0 passed, 1 failed"; exit 1; }
vm_skip() { skip "$*"; }
. "$here/module.sh"	# sets $ko

mkdir -p "$VM_DIR/bin"
cat >"$VM_DIR/bin/qemu-system-x86_64" <<'WRAP'
#!/bin/bash
# Stand-in for qemu-system-x86_64 (tests/kmod/with_vserial.sh).
overlay() { # overlay INITRD: print the path of INITRD + our cpio
	out=$VSF_WV_DIR/initrd-$(basename "$1")
	if [ ! -s "$out" ]; then
		stage=$(mktemp -d "$VSF_WV_DIR/stage.XXXXXX")
		mkdir -p "$stage/etc" "$stage/lib/modules"
		cp "$VSF_WV_KO" "$stage/lib/modules/vserial.ko"
		gzip -dc "$1" | cpio -i --quiet --to-stdout etc/rig-modules |
			sed 's/^virtio_console$/vserial/' | awk '!seen[$0]++' \
			>"$stage/etc/rig-modules"
		grep -qx vserial "$stage/etc/rig-modules" ||
			echo vserial >>"$stage/etc/rig-modules"
		(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
			gzip -n >"$stage.cpio.gz"
		cat "$1" "$stage.cpio.gz" >"$out.tmp" && mv "$out.tmp" "$out"
		rm -rf "$stage" "$stage.cpio.gz"
	fi
	echo "$out"
}
args=()
while [ $# -gt 0 ]; do
	case $1 in
	-initrd) args+=(-initrd "$(overlay "$2")"); shift 2 ;;
	-append) # VSF_WV_VERBOSE=1: kernel notices (e.g. module loads) on the console
		a=$2
		[ "${VSF_WV_VERBOSE:-0}" = 1 ] && a=${a/loglevel=3/loglevel=5}
		args+=(-append "$a"); shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
exec "$VSF_WV_QEMU" "${args[@]}"
WRAP
chmod +x "$VM_DIR/bin/qemu-system-x86_64"
echo "with_vserial: $test on vserial.ko"
export VSF_WV_VERBOSE=${VSF_WV_VERBOSE:-0}
VSF_WV_DIR=$VM_DIR VSF_WV_KO=$ko VSF_WV_QEMU=$real_qemu \
	PATH=$VM_DIR/bin:$PATH bash "$test" "$@"
