#!/bin/bash
# tests/vm/agent_stock_test.sh - our fence_vserial inside a TCG guest on a
# named virtio-serial port, against the STOCK fence_virtd: serial listener in
# mode "vmchannel" (it walks the domain's <channel type='unix'> devices and
# connects, as a client, to the socket QEMU listens on), libvirt backend on a
# test-driver node.  One boot; the guest starts paused so the daemon can
# connect first, as it does to a running libvirt domain.
. "$(dirname "$0")/lib.sh"
. "$vm_here/../interop/lib.sh"	# node XML, fence_virt.conf, fence_virtd start
vm_setup agent_stock
vsf_require_prog "$FENCE_VIRTD" stdbuf
VSF_TMP=$VM_DIR
agent=$vm_build/fence-agent/fence_vserial
[ -x "$agent" ] || { vm_fail build "$agent not built"; vm_report; }
vm_initramfs "$agent:/usr/sbin/fence_vserial" $(vm_nss_extras) \
	"$vm_here/guest/agent_stock.sh:/tests/agent_stock.sh"

U1=5e0b7d1a-2c3f-4a8e-b6d1-0f9e8d7c6b01
U2=5e0b7d1a-2c3f-4a8e-b6d1-0f9e8d7c6b02
vm_add_port org.clusterlabs.fence.0
sock=$VM_SOCK
NODE=$VM_DIR/node.xml
vsf_node_xml "$NODE" "guest1:$U1:channel=$sock" "target:$U2"
vsf_key "$VM_DIR/key"
vsf_conf_serial "$VM_DIR/fvd.conf" "test://$NODE" "$VM_DIR" vmchannel "$VM_DIR/key"

VM_PAUSED=1 vm_start agent_stock
vm_wait_for 10 test -S "$sock" ||
	{ vm_fail qemu_socket "QEMU did not create $sock"; vm_report; }
if vsf_start_fence_virtd fvd "$VM_DIR/fvd.conf" "Registered $U1 on" 15; then
	vm_pids+=("$VSF_PID")
	vm_ok stock_daemon_registered_channel
else
	vm_fail stock_daemon_registered_channel "$(tail -5 "$VM_DIR/fvd.log")"
fi
vm_cont || vm_fail qmp_cont "could not start the guest CPU"
vm_wait

# Every request reached the stock daemon from guest1's channel.
n=$(grep -cE "Request [0-9]+ seqno -?[0-9]+ src $U1 target target" "$VM_DIR/fvd.log")
if [ "$n" -eq 12 ]; then
	vm_ok daemon_saw_requests_from_guest1
else
	vm_fail daemon_saw_requests_from_guest1 "$n requests for 'target' logged, want 12 (7 v1, 4 auto, 1 stdin)"
fi
[ "$vm_failed" -eq 0 ] || { echo "---- fvd.log"; tail -40 "$VM_DIR/fvd.log"; }
vm_report
