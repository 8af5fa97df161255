#!/bin/bash
# tests/vsdev/qemu_vm_test.sh - the stock Linux virtio_console driver on OUR
# virtio-serial device: a QEMU 7.2 built from Debian's source with
# hw-virtio-serial/ grafted in place of QEMU's own virtio-serial
# (hw-virtio-serial/build-qemu.sh; cached by content hash, so after the
# first build this costs nothing).  One TCG boot runs the rig's channel
# suite (tests/vm/guest/channel.sh): the named port appears in sysfs and
# /dev/virtio-ports, data goes both ways, one opener at a time, a port
# without a host peer shows POLLHUP/EOF, the host hanging up is seen by
# the guest, and the virtconsole is /dev/hvc0.
. "$(dirname "$0")/../vm/lib.sh"
. "$(dirname "$0")/our-qemu.sh"
vm_setup vsdev

# Our QEMU (built on first use; minutes cold, ~30 s with a warm ccache).
vsdev_our_qemu

# It really is our device behind the stock names.
help=$(qemu-system-x86_64 -M none -device help 2>&1)
if echo "$help" | grep -q '"vsdev-serial-device"' &&
	echo "$help" | grep -q '"virtio-serial-pci"' &&
	echo "$help" | grep -q '"virtserialport", bus vsdev-serial-bus' &&
	echo "$help" | grep -q '"virtconsole", bus vsdev-serial-bus'; then
	vm_ok qemu_carries_our_device
else
	vm_fail qemu_carries_our_device "device help: $(echo "$help" | grep -i serial | tr '\n' ' ')"
fi
props=$(qemu-system-x86_64 -M none -device virtio-serial-pci,help 2>&1)
for p in max_ports emergency-write; do
	if echo "$props" | grep -q "^  $p="; then
		vm_ok "bus_property_$p"
	else
		vm_fail "bus_property_$p" "$(echo "$props" | tr '\n' ' ')"
	fi
done
props=$(qemu-system-x86_64 -M none -device virtserialport,help 2>&1)
for p in chardev name nr; do
	if echo "$props" | grep -q "^  $p="; then
		vm_ok "port_property_$p"
	else
		vm_fail "port_property_$p" "$(echo "$props" | tr '\n' ' ')"
	fi
done
# Bad options are refused as stock refuses them.
# (timeout: a QEMU that accepted the option would sit paused forever)
err=$(timeout 10 qemu-system-x86_64 -M pc -nodefaults -display none -S \
	-device virtio-serial-pci,max_ports=512 </dev/null 2>&1 >/dev/null)
case $err in
*"maximum ports supported: 511"*) vm_ok max_ports_512_refused ;;
*) vm_fail max_ports_512_refused "got: '$err'" ;;
esac
err=$(timeout 10 qemu-system-x86_64 -M pc -nodefaults -display none -S \
	-device virtio-serial-pci,id=v -device virtserialport,bus=v.0,nr=0 \
	</dev/null 2>&1 >/dev/null)
case $err in
*"reserved for virtconsole"*) vm_ok nr0_serialport_refused ;;
*) vm_fail nr0_serialport_refused "got: $err" ;;
esac

err=$(timeout 10 qemu-system-x86_64 -M pc -nodefaults -display none -S \
	-device virtio-serial-pci,id=v -device virtio-serial-pci,id=w \
	-device virtserialport,bus=v.0,name=org.dup -device virtserialport,bus=w.0,name=org.dup \
	</dev/null 2>&1 >/dev/null)
case $err in
*"already exists by name org.dup"*) vm_ok duplicate_name_across_devices_refused ;;
*) vm_fail duplicate_name_across_devices_refused "got: $err" ;;
esac
err=$(timeout 10 qemu-system-x86_64 -M pc -nodefaults -display none -S \
	-device virtio-serial-pci,id=v,max_ports=4 -device virtserialport,bus=v.0,nr=2 \
	-device virtserialport,bus=v.0,nr=2 </dev/null 2>&1 >/dev/null)
case $err in
*"already exists at id 2"*) vm_ok duplicate_nr_refused ;;
*) vm_fail duplicate_nr_refused "got: $err" ;;
esac
err=$(timeout 10 qemu-system-x86_64 -M pc -nodefaults -display none -S \
	-device virtio-serial-pci,id=v,max_ports=4 -device virtserialport,bus=v.0,nr=4 \
	</dev/null 2>&1 >/dev/null)
case $err in
*"Out-of-range port id"*) vm_ok nr_beyond_max_ports_refused ;;
*) vm_fail nr_beyond_max_ports_refused "got: $err" ;;
esac

probe=$vm_build/tests/vm/vmprobe
[ -x "$probe" ] || { vm_fail build "$probe not built (make check builds it)"; vm_report; }
vm_initramfs "$probe:/bin/vmprobe" "$vm_here/guest/channel.sh:/tests/channel.sh"

vm_add_console org.example.console
con_sock=$VM_SOCK
vm_add_port org.example.test
test_sock=$VM_SOCK
vm_add_port org.example.idle

export VSDEV_QEMU_ERR=$VM_DIR/qemu.err
vm_start channel
vm_spawn python3 "$vm_here/peer.py" "$test_sock" "$VM_DIR/test.log" "$vm_timeout"
test_peer=$VM_LAST_PID
vm_spawn python3 "$vm_here/peer.py" "$con_sock" "$VM_DIR/hvc.log" "$vm_timeout"
vm_wait

vm_channel_peer_checks "$test_peer"
# Our device must not have declared the guest broken along the way.
if grep -qa 'virtio-serial' "$VSDEV_QEMU_ERR" 2>/dev/null; then
	vm_fail device_never_broken "$(grep -a 'virtio-serial' "$VSDEV_QEMU_ERR" | head -2)"
else
	vm_ok device_never_broken
fi
vm_report
