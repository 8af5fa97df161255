#!/bin/bash
# tests/vm/udev_test.sh - the project's udev rule for the fence port, applied
# by a real systemd-udevd in the guest (with Debian's 50-udev-default.rules,
# which makes /dev/virtio-ports/NAME): the port belongs to group haclient,
# mode 0660; a member fences unprivileged, a non-member gets a clear
# permission error.  Host: the daemon (VM_DAEMON) on a test-driver node.
. "$(dirname "$0")/lib.sh"
. "$vm_here/../interop/lib.sh"	# node XML, fence_virt.conf
vm_setup udev
vsf_require_prog "$FENCE_VIRTD" stdbuf
VSF_TMP=$VM_DIR
top=$(cd "$vm_here/../.." && pwd)
agent=$vm_build/fence-agent/fence_vserial
[ -x "$agent" ] || { vm_fail build "$agent not built"; vm_report; }
rule=${VSF_UDEV_RULE:-$(ls "$top"/fence-agent/*.rules 2>/dev/null | head -1)}
[ -f "$rule" ] || { vm_fail udev_rule_shipped "no fence-agent/*.rules in the tree"; vm_report; }
[ -x /bin/udevadm ] || vm_skip "no /bin/udevadm; apt-get install udev"

cat >"$VM_DIR/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
hauser:x:1000:1000:cluster user:/tmp:/bin/sh
other:x:1001:1001:not in haclient:/tmp:/bin/sh
PW
cat >"$VM_DIR/group" <<'GR'
root:x:0:
haclient:x:990:hauser
hauser:x:1000:
other:x:1001:
GR
vm_initramfs "$agent:/usr/sbin/fence_vserial" $(vm_nss_extras) \
	/bin/udevadm /bin/udevadm:/lib/systemd/systemd-udevd \
	/lib/udev/rules.d/50-udev-default.rules \
	"$rule:/lib/udev/rules.d/$(basename "$rule")" \
	"$VM_DIR/passwd:/etc/passwd" "$VM_DIR/group:/etc/group" \
	"$vm_here/guest/udev.sh:/tests/udev.sh"

U1=1b9c3e7d-40a2-4f6b-9c8e-5d2f1a0b7c01
U2=1b9c3e7d-40a2-4f6b-9c8e-5d2f1a0b7c02
vm_add_port org.clusterlabs.fence.0
sock=$VM_SOCK
vm_add_port org.example.other
NODE=$VM_DIR/node.xml
vsf_node_xml "$NODE" "guest1:$U1:channel=$sock" "target:$U2"
vsf_key "$VM_DIR/key"
vsf_conf_serial "$VM_DIR/fvd.conf" "test://$NODE" "$VM_DIR" vmchannel "$VM_DIR/key"

VM_PAUSED=1 vm_start udev rig.udev=1
vm_wait_for 10 test -S "$sock" ||
	{ vm_fail qemu_socket "QEMU did not create $sock"; vm_report; }
vm_fenced_start "$VM_DIR/fvd.conf" "$U1" ||
	vm_fail daemon_connected "$(tail -5 "$VM_DIR/fenced.log")"
vm_cont || vm_fail qmp_cont "could not start the guest CPU"
vm_wait
[ "$vm_failed" -eq 0 ] || { echo "---- fenced.log"; tail -20 "$VM_DIR/fenced.log"; }
vm_report
