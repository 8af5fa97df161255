#!/bin/bash
# tests/vm/agent_stock_test.sh - our fence_vserial inside a TCG guest on the
# named virtio-serial port org.clusterlabs.fence.0, against the STOCK
# fence_virtd (VM_DAEMON=ours: our vserial-fenced, see agent_ours_test.sh):
# serial listener in mode "vmchannel" (it walks the domain's <channel
# type='unix'> devices and connects, as a client, to the socket QEMU listens
# on), libvirt backend on a test-driver node.  The guest has the shared key,
# so the agent's default (auto) protocol is v2 with ours and falls back to v1
# with stock.  One boot; the guest starts paused so the daemon can connect
# first, as it does to a running libvirt domain.
. "$(dirname "$0")/lib.sh"
. "$vm_here/../interop/lib.sh"	# node XML, fence_virt.conf
vm_setup agent_$VM_DAEMON
vsf_require_prog "$FENCE_VIRTD" stdbuf
VSF_TMP=$VM_DIR
agent=$vm_build/fence-agent/fence_vserial
[ -x "$agent" ] || { vm_fail build "$agent not built"; vm_report; }
vsf_key "$VM_DIR/key"
vm_initramfs "$agent:/usr/sbin/fence_vserial" $(vm_nss_extras) \
	"$vm_here/guest/agent_stock.sh:/tests/agent_stock.sh"
vm_initramfs_overlay "$VM_DIR/key:/etc/cluster/fence_xvm.key:600"

U1=5e0b7d1a-2c3f-4a8e-b6d1-0f9e8d7c6b01
U2=5e0b7d1a-2c3f-4a8e-b6d1-0f9e8d7c6b02
vm_add_port org.clusterlabs.fence.0
sock=$VM_SOCK
NODE=$VM_DIR/node.xml
vsf_node_xml "$NODE" "guest1:$U1:channel=$sock" "target:$U2"
vsf_conf_serial "$VM_DIR/fvd.conf" "test://$NODE" "$VM_DIR" vmchannel "$VM_DIR/key"

VM_PAUSED=1 vm_start agent_stock "rig.daemon=$VM_DAEMON"
vm_wait_for 10 test -S "$sock" ||
	{ vm_fail qemu_socket "QEMU did not create $sock"; vm_report; }
if vm_fenced_start "$VM_DIR/fvd.conf" "$U1"; then
	vm_ok daemon_connected_channel
else
	vm_fail daemon_connected_channel "$(tail -5 "$VM_DIR/fenced.log")"
fi
vm_cont || vm_fail qmp_cont "could not start the guest CPU"
vm_wait

# Every request reached the daemon from guest1's channel: 7 with -R 1, 4 in
# auto mode, 1 from stdin; ours also says which ones came in protocol v2.
n=$(vm_fenced_count "$U1" guest1 target)
if [ "$n" -eq 12 ]; then
	vm_ok daemon_saw_requests_from_guest1
else
	vm_fail daemon_saw_requests_from_guest1 "$n requests for 'target' logged, want 12"
fi
if [ "$VM_DAEMON" = ours ]; then
	n=$(grep -cE "request #[0-9]+ from channel guest1 \(.*\) v2: [a-z-]+ target -> " "$VM_DIR/fenced.log")
	[ "$n" -eq 5 ] && vm_ok daemon_saw_5_v2_requests ||
		vm_fail daemon_saw_5_v2_requests "$n v2 requests for 'target', want 5 (auto and stdin)"
fi
[ "$vm_failed" -eq 0 ] || { echo "---- fenced.log"; tail -40 "$VM_DIR/fenced.log"; }
vm_report
