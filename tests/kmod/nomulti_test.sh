#!/bin/bash
# tests/kmod/nomulti_test.sh - virtio-serial without MULTIPORT (max_ports=1):
# port 0 must come up as an hvc console with no control queue.  Two TCG
# boots: our vserial.ko, then the stock virtio_console as the reference.
# The host side is tests/vm/peer.py echoing on the console's socket.
. "$(dirname "$0")/../vm/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
vm_setup kmod-nomulti
probe=$vm_build/tests/vm/vmprobe
[ -x "$probe" ] || { vm_fail build "$probe not built (make check builds it)"; vm_report; }
. "$here/module.sh"
vm_initramfs -m "$ko" "$probe:/bin/vmprobe" "$here/guest/nomulti.sh:/tests/nomulti.sh"

# boot DRIVER OTHER: one guest with DRIVER bound and OTHER kept out.
boot() {
	vm_args=()
	vm_nchardev=0
	vm_chardev console
	vm_args+=(-device virtio-serial-pci,id=vs0,max_ports=1
		-device "virtconsole,bus=vs0.0,chardev=$VM_CHARDEV")
	rm -f "$VM_SOCK"
	vm_start nomulti "rig.noload=$2" "kmod.driver=$1"
	vm_spawn python3 "$vm_here/peer.py" "$VM_SOCK" "$VM_DIR/hvc-$1.log" "$vm_timeout"
	vm_wait
	if grep -q "hello-nomulti-$1" "$VM_DIR/hvc-$1.log" 2>/dev/null; then
		vm_ok "$1.host_got_hvc_bytes"
	else
		vm_fail "$1.host_got_hvc_bytes" "$(head -c 200 "$VM_DIR/hvc-$1.log" 2>&1)"
	fi
}

boot vserial virtio_console
boot virtio_console vserial
vm_report
