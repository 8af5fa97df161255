#!/bin/bash
# tests/vm/channel_test.sh - one TCG guest boot on stock QEMU virtio-serial +
# the stock virtio_console driver: see guest/channel.sh for the guest side.
# Host side: an echo peer on the named port and one on the virtconsole; a
# second named port has no peer at all.
. "$(dirname "$0")/lib.sh"
vm_setup channel
probe=$vm_build/tests/vm/vmprobe
[ -x "$probe" ] || { vm_fail build "$probe not built (make check builds it)"; vm_report; }
vm_initramfs "$probe:/bin/vmprobe" "$vm_here/guest/channel.sh:/tests/channel.sh"

vm_add_console org.example.console
con_sock=$VM_SOCK
vm_add_port org.example.test
test_sock=$VM_SOCK
vm_add_port org.example.idle

vm_start channel
vm_spawn python3 "$vm_here/peer.py" "$test_sock" "$VM_DIR/test.log" "$vm_timeout"
test_peer=$VM_LAST_PID
vm_spawn python3 "$vm_here/peer.py" "$con_sock" "$VM_DIR/hvc.log" "$vm_timeout"
vm_wait

# Host view of the same traffic.
vm_channel_peer_checks "$test_peer"
vm_report
