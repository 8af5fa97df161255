#!/bin/bash
# tests/vm/realvirt_stock_test.sh - the real path: a private libvirtd
# (libvirt_ns.sh) runs two TCG domains; guest A has the named channel
# org.clusterlabs.fence.0 and fences guest B with fence_vserial through the
# STOCK fence_virtd (VM_DAEMON=ours: our vserial-fenced; serial listener,
# mode vmchannel, libvirt backend on qemu:///system).  Checked from the host too: libvirt's lifecycle events and
# `virsh domstate`.  A request for domain C, outside A's group, is denied.
. "$(dirname "$0")/lib.sh"
. "$vm_here/../interop/lib.sh"	# fence_virt.conf, fence_virtd start
vm_setup realvirt_$VM_DAEMON
for p in libvirtd virtlogd virsh unshare nsenter stdbuf "$FENCE_VIRTD"; do
	command -v "$p" >/dev/null ||
		vm_skip "$p not found; run tools/install-deps (libvirt-daemon-system, fence-virtd)"
done
VSF_TMP=$VM_DIR
agent=$vm_build/fence-agent/fence_vserial
[ -x "$agent" ] || { vm_fail build "$agent not built"; vm_report; }
vsf_key "$VM_DIR/key"
vm_initramfs "$agent:/usr/sbin/fence_vserial" $(vm_nss_extras) \
	"$vm_here/guest/realvirt.sh:/tests/realvirt.sh" \
	"$vm_here/guest/idle.sh:/tests/idle.sh"
vm_initramfs_overlay "$VM_DIR/key:/etc/cluster/fence_xvm.key:600"

vm_libvirt_start || vm_report
UA=7a3e0f52-8c1d-4b6e-9f20-3d5c7b1a0e01
UB=7a3e0f52-8c1d-4b6e-9f20-3d5c7b1a0e02
UC=7a3e0f52-8c1d-4b6e-9f20-3d5c7b1a0e03
vm_domain_xml vsfA "$UA" realvirt "rig.ports=org.clusterlabs.fence.0 rig.b=vsfB rig.c=vsfC" \
	org.clusterlabs.fence.0 >"$VM_DIR/A.xml"
vm_domain_xml vsfB "$UB" idle "" >"$VM_DIR/B.xml"
vm_domain_xml vsfC "$UC" idle "" >"$VM_DIR/C.xml"
vsf_conf_serial "$VM_DIR/fvd.conf" qemu:///system "$VM_DIR" vmchannel "$VM_DIR/key" \
"groups {
	group {
		name = \"cluster\";
		uuid = \"$UA\";
		uuid = \"vsfA\";
		uuid = \"$UB\";
		uuid = \"vsfB\";
	}
}"

vm_spawn nsenter -t "$VM_NS_PID" -m -n virsh -q event --all --loop --timestamp \
	>"$VM_DIR/events.log" 2>&1
vm_virsh define "$VM_DIR/C.xml" >/dev/null || vm_fail define_c "virsh define failed"
# B is persistent, as a cluster node's domain is: "off" must not make it vanish.
{ vm_virsh define "$VM_DIR/B.xml" && vm_virsh start vsfB; } >/dev/null ||
	vm_fail start_b "virsh define/start failed"
vm_virsh create --paused "$VM_DIR/A.xml" >/dev/null || vm_fail create_a "virsh create failed"
if vm_fenced_start "$VM_DIR/fvd.conf" "$UA" nsenter -t "$VM_NS_PID" -m -n; then
	vm_ok daemon_connected_a
else
	vm_fail daemon_connected_a "$(tail -5 "$VM_DIR/fenced.log")"
fi
VM_LOG=$VM_DIR/vsfA.console.log
VM_T0=$(vm_now)
vm_virsh resume vsfA >/dev/null || vm_fail resume_a "virsh resume failed"
vsf_wait_line "$VM_DIR/events.log" "domain '?vsfA'?: Stopped" "$vm_timeout" ||
	vm_fail guest_a_timeout "vsfA still running after ${vm_timeout}s"
echo "vm: guest A ran $(vm_elapsed "$VM_T0")s (resume to power-off)"
vm_count_results

st=$(vm_virsh domstate vsfB 2>&1)
[ "$st" = running ] && vm_ok host_b_running_at_end || vm_fail host_b_running_at_end "domstate vsfB: $st"
st=$(vm_virsh domstate vsfC 2>&1)
[ "$st" = "shut off" ] && vm_ok host_c_still_off || vm_fail host_c_still_off "domstate vsfC: $st"
# Creating B was "Started Booted"; then off, on, reboot (destroy + create).
vm_check_events vsfB "Started Booted" "Stopped Destroyed" "Started Booted" \
	"Stopped Destroyed" "Started Booted"
n=$(vm_fenced_count "$UA" vsfA vsfB)
[ "$n" -eq 7 ] && vm_ok daemon_served_7_requests_for_b ||
	vm_fail daemon_served_7_requests_for_b "$n requests from vsfA for vsfB logged, want 7"
[ "$vm_failed" -eq 0 ] || {
	echo "---- fenced.log"; tail -30 "$VM_DIR/fenced.log"
	# a target that stopped by itself says why on its console
	echo "---- vsfB.console.log"; tail -20 "$VM_DIR/vsfB.console.log" 2>/dev/null | tr -d '\r'
}
vm_report
