#!/bin/bash
# tests/vm/stock_agent_test.sh - stock fence_virt inside a TCG guest against
# the stock fence_virtd, or our vserial-fenced with VM_DAEMON=ours (serial
# listener, mode "serial", libvirt backend on a test-driver node) over a virtio console (/dev/hvc0) and over an emulated
# UART (/dev/ttyS1).  One boot.  The guest starts paused so the daemon can
# connect to QEMU's sockets first, as it would to a running libvirt domain.
. "$(dirname "$0")/lib.sh"
. "$vm_here/../interop/lib.sh"	# node XML, fence_virt.conf, fence_virtd start
vm_setup stock_agent
vsf_require_prog "$FENCE_VIRT" "$FENCE_VIRTD" stdbuf
VSF_TMP=$VM_DIR
vm_initramfs "$FENCE_VIRT:/usr/sbin/fence_virt" \
	"$vm_here/guest/stock_agent.sh:/tests/stock_agent.sh"

U1=3d1c6a0e-5b7f-4f0e-9a51-7a1f0c2b9e01
U2=3d1c6a0e-5b7f-4f0e-9a51-7a1f0c2b9e02
U3=3d1c6a0e-5b7f-4f0e-9a51-7a1f0c2b9e03
vm_add_console org.example.console
hvc_sock=$VM_SOCK
vm_add_uart fence-uart
uart_sock=$VM_SOCK
NODE=$VM_DIR/node.xml
vsf_node_xml "$NODE" "guest1:$U1:serial=$hvc_sock" \
	"guest1-uart:$U2:serial=$uart_sock" "target:$U3"
vsf_key "$VM_DIR/key"
vsf_conf_serial "$VM_DIR/fvd.conf" "test://$NODE" "$VM_DIR" serial "$VM_DIR/key"

VM_PAUSED=1 vm_start stock_agent
vm_wait_for 10 test -S "$hvc_sock" && vm_wait_for 10 test -S "$uart_sock" ||
	{ vm_fail qemu_sockets "QEMU did not create its sockets"; vm_report; }
if vm_fenced_start "$VM_DIR/fvd.conf" "$U1" &&
	vm_wait_for 10 grep -q "$U2" "$VM_DIR/fenced.log"; then
	vm_ok daemon_connected_both_sockets
else
	vm_fail daemon_connected_both_sockets "$(tail -5 "$VM_DIR/fenced.log")"
fi
vm_cont || vm_fail qmp_cont "could not start the guest CPU"
vm_wait

# The daemon saw each request on the right socket (src = that domain's
# UUID): 7 per device name "target" (status x4, off, on, reboot).
for u in "$U1:guest1" "$U2:guest1-uart"; do
	n=$(vm_fenced_count "${u%%:*}" "${u#*:}" target)
	if [ "$n" -eq 7 ]; then
		vm_ok "daemon_requests_from_${u#*:}"
	else
		vm_fail "daemon_requests_from_${u#*:}" "$n requests for 'target' logged, want 7"
	fi
done
[ "$vm_failed" -eq 0 ] || { echo "---- fenced.log"; tail -40 "$VM_DIR/fenced.log"; }
vm_report
