#!/bin/bash
# tests/vm/demo.sh [--test-driver] - the main job, on a real guest.
#
# Boots a TCG guest whose fence_vserial talks over the named virtio-serial
# port org.clusterlabs.fence.0 to our vserial-fenced on the host, fences a
# second domain (off, on, reboot, with status after each) and prints a
# transcript: the guest's commands and answers, the daemon's audit lines and
# (with libvirtd) libvirt's own lifecycle events for the victim.
#
# Scenario 2 (default when libvirtd is installed): a private libvirtd runs
# both guests as real TCG domains.  Scenario 1 (--test-driver, or no
# libvirtd): QEMU started directly, the victim lives in libvirt's test:///
# driver.  Run from the top build directory (make builds fence_vserial and
# vserial-fenced).  Every process and file it makes is gone at exit.
# Exit 0 when every request behaved as expected.
. "$(dirname "$0")/lib.sh"
. "$vm_here/../interop/lib.sh"	# node XML, fence_virt.conf
VM_DAEMON=ours
scenario=2
[ "${1:-}" = --test-driver ] && scenario=1
command -v libvirtd >/dev/null || scenario=1
vm_setup demo
VSF_TMP=$VM_DIR
agent=$vm_build/fence-agent/fence_vserial
[ -x "$agent" ] && [ -x "$VSERIAL_FENCED" ] ||
	{ echo "demo: build first (make): need $agent and $VSERIAL_FENCED"; exit 1; }
say() { printf '\n== %s\n' "$*"; }

say "building the guest image (busybox, Debian kernel $VM_KVER, fence_vserial)"
vsf_key "$VM_DIR/key"
vm_initramfs "$agent:/usr/sbin/fence_vserial" $(vm_nss_extras) \
	"$vm_here/guest/demo.sh:/tests/demo.sh" "$vm_here/guest/idle.sh:/tests/idle.sh"
vm_initramfs_overlay "$VM_DIR/key:/etc/cluster/fence_xvm.key:600"
UA=9f1e2d3c-4b5a-4697-8877-665544332201
UB=9f1e2d3c-4b5a-4697-8877-665544332202
conf() { # conf URI: the daemon's configuration (fence_virt.conf format)
	vsf_conf_serial "$VM_DIR/fenced.conf" "$1" "$VM_DIR" vmchannel "$VM_DIR/key" \
"groups { group { name = \"demo\"; uuid = \"$UA\"; uuid = \"nodeA\"; uuid = \"$UB\"; uuid = \"nodeB\"; } }"
}

if [ $scenario = 2 ]; then
	say "scenario 2: a private libvirtd runs nodeA and nodeB (TCG guests)"
	vm_libvirt_start || vm_report
	vm_domain_xml nodeA "$UA" demo "rig.ports=org.clusterlabs.fence.0 rig.b=nodeB" \
		org.clusterlabs.fence.0 >"$VM_DIR/A.xml"
	vm_domain_xml nodeB "$UB" idle "" >"$VM_DIR/B.xml"
	vm_spawn nsenter -t "$VM_NS_PID" -m -n virsh -q event --all --loop --timestamp \
		>"$VM_DIR/events.log" 2>&1
	{ vm_virsh define "$VM_DIR/B.xml" && vm_virsh start nodeB &&
		vm_virsh create --paused "$VM_DIR/A.xml"; } >/dev/null ||
		{ vm_fail domains "virsh could not start the guests"; vm_report; }
	conf qemu:///system
	vm_fenced_start "$VM_DIR/fenced.conf" "$UA" nsenter -t "$VM_NS_PID" -m -n ||
		{ vm_fail daemon "vserial-fenced did not connect: $(tail -3 "$VM_DIR/fenced.log")"; vm_report; }
	echo "vserial-fenced connected to nodeA's channel; starting nodeA"
	VM_LOG=$VM_DIR/nodeA.console.log
	vm_virsh resume nodeA >/dev/null
	vsf_wait_line "$VM_DIR/events.log" "domain '?nodeA'?: Stopped" "$vm_timeout" ||
		vm_fail guest_finished "nodeA did not finish in ${vm_timeout}s"
	state=$(vm_virsh domstate nodeB 2>&1)
else
	say "scenario 1: QEMU runs nodeA; nodeB lives in libvirt's test:/// driver"
	vm_add_port org.clusterlabs.fence.0
	vsf_node_xml "$VM_DIR/node.xml" "nodeA:$UA:channel=$VM_SOCK" "nodeB:$UB"
	conf "test://$VM_DIR/node.xml"
	VM_PAUSED=1 vm_start demo rig.b=nodeB
	vm_wait_for 10 test -S "$VM_SOCK" || { vm_fail qemu "no channel socket"; vm_report; }
	vm_fenced_start "$VM_DIR/fenced.conf" "$UA" ||
		{ vm_fail daemon "vserial-fenced did not connect: $(tail -3 "$VM_DIR/fenced.log")"; vm_report; }
	echo "vserial-fenced connected to nodeA's channel; starting nodeA"
	vm_cont
	wait "$VM_PID"
fi

say "inside nodeA (transcript from its console)"
tr -d '\r' <"$VM_LOG" | sed -n 's/^DEMO //p'
say "vserial-fenced audit log (one line per request)"
sed -n 's/^\(notice\|info\): \(request #.*\)/\2/p' "$VM_DIR/fenced.log" |
	sed "s| ($VM_DIR/[^)]*)||"
if [ $scenario = 2 ]; then
	say "libvirt's lifecycle events for nodeB, and its state now"
	sed -n "s/^[0-9-]* \([0-9:]*\)\.[0-9]*+0000: event 'lifecycle' for domain '\?nodeB'\?: /\1 /p" \
		"$VM_DIR/events.log" | grep -E ' (Started|Stopped) '
	echo "virsh domstate nodeB: $state"
	[ "$state" = running ] && vm_ok nodeB_running_at_end || vm_fail nodeB_running_at_end "$state"
fi
say "checks"
vm_count_results
vm_report
