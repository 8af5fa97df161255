# tests/vsdev/our-qemu.sh - sourced by tests/vsdev/*.sh after tests/vm/lib.sh's
# vm_setup: `vsdev_our_qemu` builds (or finds in its cache) the QEMU carrying
# our virtio-serial device and puts a qemu-system-x86_64 wrapper for it first
# in PATH, so the rig's helpers boot it.  The wrapper adds -L (the DFSG
# build installs no firmware) and, when VSDEV_QEMU_ERR is set, appends
# QEMU's stderr there (where our device's error reports land).
vsdev_our_qemu() {
	local top t0
	top=$(cd "$vm_here/../.." && pwd)
	t0=$(vm_now)
	if ! VSDEV_QDIR=$("$top/hw-virtio-serial/build-qemu.sh" 2>"$VM_DIR/build.log" | tail -n 1) ||
		[ ! -x "$VSDEV_QDIR/qemu-system-x86_64" ]; then
		vm_fail build_qemu "build-qemu.sh failed: $(tail -5 "$VM_DIR/build.log" | tr '\n' ' ')"
		vm_report
	fi
	echo "vm: our qemu in $VSDEV_QDIR ($(vm_elapsed "$t0")s)"
	mkdir -p "$VM_DIR/bin"
	cat >"$VM_DIR/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
[ -n "\${VSDEV_QEMU_ERR:-}" ] && exec 2>>"\$VSDEV_QEMU_ERR"
exec "$VSDEV_QDIR/qemu-system-x86_64" -L "$VSDEV_QDIR" "\$@"
WRAP
	chmod +x "$VM_DIR/bin/qemu-system-x86_64"
	export PATH=$VM_DIR/bin:$PATH
}
