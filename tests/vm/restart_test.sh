#!/bin/bash
# tests/vm/restart_test.sh - the host side goes away.  fence_vserial in a TCG
# guest on the named port; the host daemon (stock fence_virtd, or ours with
# VM_DAEMON=ours: restart_ours_test.sh) is frozen (SIGSTOP) before the
# agent's request, killed once the request sits unread in its socket, and
# started again: the agent must get its answer within its timeout.  Then the
# daemon is stopped for good: the agent must fail with a clear message
# within its timeout.  The host cues the guest over a second port.
. "$(dirname "$0")/lib.sh"
. "$vm_here/../interop/lib.sh"	# node XML, fence_virt.conf
vm_setup restart_$VM_DAEMON
vsf_require_prog "$FENCE_VIRTD" stdbuf socat ss
VSF_TMP=$VM_DIR
agent=$vm_build/fence-agent/fence_vserial
[ -x "$agent" ] || { vm_fail build "$agent not built"; vm_report; }
vsf_key "$VM_DIR/key"
vm_initramfs "$agent:/usr/sbin/fence_vserial" $(vm_nss_extras) \
	"$vm_build/tests/vm/vmprobe:/bin/vmprobe" \
	"$vm_here/guest/restart.sh:/tests/restart.sh"
vm_initramfs_overlay "$VM_DIR/key:/etc/cluster/fence_xvm.key:600"

U1=0d6f2b4e-91a7-4c3b-8e5d-2a1c9f7e6b01
U2=0d6f2b4e-91a7-4c3b-8e5d-2a1c9f7e6b02
vm_add_port org.clusterlabs.fence.0
sock=$VM_SOCK
vm_add_port org.example.ctl
ctl_sock=$VM_SOCK
NODE=$VM_DIR/node.xml
vsf_node_xml "$NODE" "guest1:$U1:channel=$sock" "target:$U2"
vsf_conf_serial "$VM_DIR/fvd.conf" "test://$NODE" "$VM_DIR" vmchannel "$VM_DIR/key"

VM_PAUSED=1 vm_start restart
vm_wait_for 10 test -S "$ctl_sock" ||
	{ vm_fail qemu_socket "QEMU did not create its sockets"; vm_report; }
# The cue line: bash holds the fifo open, so socat never sees its end.
mkfifo "$VM_DIR/ctl.fifo"
exec 7<>"$VM_DIR/ctl.fifo"
vm_spawn socat -u "OPEN:$VM_DIR/ctl.fifo" "UNIX-CONNECT:$ctl_sock"
cue() { echo "$1" >&7; }
console_has() { grep -aq "$1" "$VM_LOG"; }

vm_fenced_start "$VM_DIR/fvd.conf" "$U1" ||
	vm_fail daemon_connected "$(tail -5 "$VM_DIR/fenced.log")"
vm_cont || vm_fail qmp_cont "could not start the guest CPU"

step() { # step NAME COMMAND...: one host step, counted
	if "${@:2}"; then vm_ok "$1"; else vm_fail "$1" "failed: ${*:2}"; fi
}
queued() { # the daemon's socket to QEMU holds unread bytes
	ss -xpn 2>/dev/null | awk -v p="pid=$VM_FENCED_PID," \
		'index($0, p) && $3 > 0 { f = 1 } END { exit !f }'
}
step first_status_done vm_wait_for 120 console_has 'VMTEST ok first_status_on'
kill -STOP "$VM_FENCED_PID"
cue stopped
step guest_calling vm_wait_for 30 console_has 'calling_while_stopped'
step request_queued_at_frozen_daemon vm_wait_for 20 queued
kill -KILL "$VM_FENCED_PID"
wait "$VM_FENCED_PID" 2>/dev/null
mv "$VM_DIR/fenced.log" "$VM_DIR/fenced-1.log"
step daemon_restarted vm_fenced_start "$VM_DIR/fvd.conf" "$U1"
step guest_waiting_for_gone vm_wait_for 90 console_has 'waiting_for_gone'
kill "$VM_FENCED_PID"
wait "$VM_FENCED_PID" 2>/dev/null
cue gone
vm_wait
exec 7>&-
n=$(vm_fenced_count "$U1" guest1 target)
[ "$n" -ge 2 ] && vm_ok restarted_daemon_served_off_and_status ||
	vm_fail restarted_daemon_served_off_and_status "$n requests for 'target' in the second daemon's log"
[ "$vm_failed" -eq 0 ] || { for f in fenced-1.log fenced.log; do
	echo "---- $f"; tail -15 "$VM_DIR/$f"; done; }
vm_report
