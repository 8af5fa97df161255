#!/bin/bash
# tests/cluster/guest_migrate_test.sh - a fence request from a real guest
# in flight across the guest's own live migration.  Three corosync hosts
# (cpg_rig.sh), each with a private libvirtd in its own UTS namespace
# (hostnames mig-h1..3; libvirt's host UUIDs differ and are checked) and
# vserial-fenced with backend = "cpg".  Guest A (TCG, the VM rig's initramfs
# with fence_vserial, tests/vm/guest/migfence.sh) runs on host 1 with the
# named channel org.clusterlabs.fence.0; victim V (disk-less, persistent)
# runs on host 3 with its QEMU stopped, so the destroy of A's "off V" stays
# pending ~10 s (libvirt's SIGTERM, then SIGKILL).  Inside that window the
# test runs `virsh migrate --live` A 1 -> 2 (channel socket path per host,
# via --xml).  Checked: status answers before were ON only, none "off" while
# V ran; daemon 2 picks up A's channel from libvirt's events; the in-flight
# "off" completes at host 3 (daemon 1), but its answer goes to host 1's
# closed channel; the agent never sees the port hang up (daemon 2 connects
# before A resumes), hears nothing, and after 5 s of silence asks again
# with the same request id: daemon 2 runs that off via CPG (V is already
# off or being destroyed at host 3), so the in-flight call SUCCEEDS well
# before its -t; the agent's next "off" is answered by daemon 2 too; V ends
# "shut off" on host 3, stopped exactly once.
# Prints "N passed, N failed"; exit 0/1, 77 without root or the programs.
set -u
VSF_VERBOSE=${VSF_VERBOSE:-1}
src=$(cd "$(dirname "$0")" && pwd)
. "$src/../interop/lib.sh"
. "$src/../vm/lib.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
AGENT=${AGENT:-$PWD/fence-agent/fence_vserial}

[ "$(id -u)" -eq 0 ] || vsf_skip "needs root (network namespaces)"
vsf_require_prog corosync ip libvirtd virtlogd virsh qemu-system-x86_64 \
	unshare hostname stdbuf cpio busybox
VM_KVER=$(vm_guest_kver)
[ -n "$VM_KVER" ] && [ -r "/boot/vmlinuz-$VM_KVER" ] ||
	vsf_skip "no readable /boot/vmlinuz-*; run tools/install-deps"
VM_KERNEL=/boot/vmlinuz-$VM_KVER
for p in "$FENCED" "$AGENT"; do
	[ -x "$p" ] || { echo "FAIL: $p not built"; echo "0 passed, 1 failed"; exit 1; }
done

vsf_setup
T=$VSF_TMP
VM_DIR=$T
. "$src/cpg_rig.sh"
declare -a DAEMON=()

FROZEN=		# V's stopped QEMU, killed if the test stops early
cleanup() {
	[ -n "$FROZEN" ] && kill -KILL "$FROZEN" 2>/dev/null
	vsf_cleanup		# daemons, event watchers (by PID); removes $T
	for i in 1 2 3; do lv_stop "$i"; done
	rig_down
}
trap cleanup EXIT

state() { vsh "$1" domstate "$2" 2>/dev/null | head -1; }
check() { local what=$1; shift; if "$@"; then vsf_pass "$what"; else vsf_fail "$what"; fi; }
# wait_for SECS CMD...: poll CMD every 100 ms until it succeeds
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

t0=$SECONDS
vsf_key "$T/key"
vm_initramfs "$AGENT:/usr/sbin/fence_vserial" $(vm_nss_extras) \
	"$src/../vm/guest/migfence.sh:/tests/migfence.sh"
vm_initramfs_overlay "$T/key:/etc/cluster/fence_xvm.key:600"

rig_up || { vsf_fail "rig up"; vsf_finish; }
for i in 1 2 3; do lv_start_host "$i" "$T/libvirt$i.log" "mig-h$i"; done
for i in 1 2 3; do check "host $i: private libvirtd answers" lv_wait "$i"; done
[ "$VSF_FAILED" -eq 0 ] || vsf_finish
for i in 1 2 3; do
	h[$i]=$(vsh "$i" hostname 2>&1)
	u[$i]=$(vsh "$i" capabilities 2>/dev/null | sed -n 's|.*<uuid>\(.*\)</uuid>.*|\1|p' | head -1)
	echo "host $i: libvirt hostname ${h[$i]}, host UUID ${u[$i]}"
done
check "each libvirtd has its own hostname" \
	eval '[ "${h[1]}" = mig-h1 ] && [ "${h[2]}" = mig-h2 ] && [ "${h[3]}" = mig-h3 ]'
if [ -n "${u[1]}" ] && [ "${u[1]}" != "${u[2]}" ] && [ "${u[2]}" != "${u[3]}" ] &&
	[ "${u[1]}" != "${u[3]}" ]; then
	vsf_pass "each libvirtd has its own host UUID"
else
	echo "NOTE: libvirt host UUIDs are not distinct here: '${u[*]}'"
fi

for i in 1 2 3; do
	mkdir -p "$T/s$i"
	cat >"$T/h$i.conf" <<EOC
fence_virtd { listener = "serial"; backend = "cpg"; }
listeners { serial { uri = "$(lv_uri "$i")"; path = "$T/s$i"; mode = "vmchannel"; key_file = "$T/key"; } }
backends { cpg { uri = "$(lv_uri "$i")"; name_mode = "name"; } }
vserial_fenced { timeout = "20"; }
EOC
done

# V: persistent, so "off" leaves it defined and "shut off" on host 3
UV=f0f0f0f0-0000-4000-8000-0000000000f3
cat >"$T/V.xml" <<XML
<domain type='qemu'>
  <name>migV</name>
  <uuid>$UV</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices><emulator>$(command -v qemu-system-x86_64)</emulator></devices>
</domain>
XML
check "V defined and started on host 3" \
	eval 'vsh 3 define "$T/V.xml" >/dev/null && vsh 3 start migV >/dev/null'

for i in 1 2 3; do
	vsf_bg d$i ip netns exec "$(rig_ns "$i")" stdbuf -oL -eL \
		"$FENCED" -F -d 1 -f "$T/h$i.conf"
	DAEMON[$i]=$VSF_PID
	vsf_bg ev$i virsh -q -c "$(lv_uri "$i")" event --all --loop --timestamp
done

# V's destroy is kept pending: its QEMU is stopped, so libvirt's SIGTERM
# waits and libvirt sends SIGKILL about 10 s later.  A's "off" is in
# flight for that long, and A is migrated inside that window.
FROZEN=$(cat "$RIG_DIR/lv3/run/qemu/migV.pid" 2>/dev/null)
check "V's QEMU stopped (SIGSTOP) on host 3" eval '[ -n "$FROZEN" ] && rig_freeze "$FROZEN"'
sigterm_pending() {
	local m
	m=$(awk '/^ShdPnd:/ { print $2 }' "/proc/$FROZEN/status" 2>/dev/null)
	[ -n "$m" ] && (( (16#$m >> 14) & 1 ))
}

# A on host 1: created paused so daemon 1 is connected before /init runs
UA=a0a0a0a0-0000-4000-8000-0000000000a1
vm_domain_xml migA "$UA" migfence "rig.ports=org.clusterlabs.fence.0 rig.v=migV" \
	org.clusterlabs.fence.0 | sed "s|$T/migA.sock|$T/s1/migA.sock|" >"$T/A.xml"
check "A created (paused) on host 1" eval 'vsh 1 create --paused "$T/A.xml" >/dev/null'
check "daemon 1 connected to A's channel" \
	vsf_wait_line "$T/d1.log" "channel migA .*connected" 20 "${DAEMON[1]}"
[ "$VSF_FAILED" -eq 0 ] || vsf_finish
check "V runs on host 3" eval '[ "$(state 3 migV)" = running ]'
check "A resumed" eval 'vsh 1 resume migA >/dev/null'

check "A's status requests are answered by daemon 1" \
	vsf_wait_line "$T/d1.log" "request #[0-9]+ from channel migA .*: status migV -> ok" 60 "${DAEMON[1]}"
check "A's off migV is in flight: host 3's libvirt is destroying V" \
	wait_for 60 sigterm_pending
[ "$VSF_FAILED" -eq 0 ] || vsf_finish
vsh 1 dumpxml --migratable migA | sed -e "s|$T/s1/migA.sock|$T/s2/migA.sock|" \
	-e "s|$T/migA.console.log|$T/migA.console2.log|" >"$T/A2.xml"
t=$SECONDS
check "virsh migrate --live A host 1 -> host 2" \
	eval 'timeout 60 virsh -q -c "$(lv_uri 1)" migrate --live migA "$(lv_uri 2)" \
		--migrateuri tcp://$RIG_NET.2 --xml "$T/A2.xml" >"$T/migrate.out" 2>&1'
echo "migration took $((SECONDS - t)) s: $(tr '\n' ' ' <"$T/migrate.out")"
# Checked before any libvirt call about V: host 3's libvirt holds V while
# it waits for the stopped QEMU, so `virsh domstate migV` would block.
check "the off was still in flight after the migration (V's destroy pending)" \
	sigterm_pending
check "A runs on host 2, gone from host 1" \
	eval '[ "$(state 2 migA)" = running ] && [ -z "$(state 1 migA)" ]'
check "daemon 2 picked up A's channel from libvirt's events" \
	vsf_wait_line "$T/d2.log" "channel migA .*connected" 20 "${DAEMON[2]}"
check "no status said off while V ran" \
	eval '! grep -qE "status migV -> off" "$T/d1.log" "$T/d2.log"'

# A powers off when done; its domain then vanishes from host 2
check "A finished (powered off on host 2)" \
	wait_for 120 eval '[ -z "$(state 2 migA)" ]'
FROZEN=
cat "$T/migA.console.log" "$T/migA.console2.log" 2>/dev/null >"$T/console.log"
VM_LOG=$T/console.log
vm_count_results
VSF_PASSED=$((VSF_PASSED + vm_passed)) VSF_FAILED=$((VSF_FAILED + vm_failed))

check "daemon 1 finished the in-flight off (host 3 destroyed V)" \
	grep -qE "request #[0-9]+ from channel migA .*: off migV -> ok" "$T/d1.log"
# The guest's report of its in-flight call: "off_in_flight rc=R after Ss".
inflight=$(sed -n 's/.*VMTEST info off_in_flight rc=\([0-9]*\) after \([0-9.]*\)s.*/\1 \2/p' \
	"$T/console.log" | head -1)
echo "in-flight off: rc and seconds: ${inflight:-none}"
check "the in-flight off succeeded (rc 0), before its -t of 30 s" \
	eval '[ "${inflight% *}" = 0 ] && awk -v s="${inflight#* }" "BEGIN { exit !(s < 30) }"'
check "the agent asked again with the same request id after silence" \
	eval 'grep -q "off_in_flight_agent .*no answer for [0-9]* ms: asking again for request" "$T/console.log"'
check "daemon 2 answered the resent off and the next one" \
	eval '[ "$(grep -cE "request #[0-9]+ from channel migA .*: off migV -> ok" "$T/d2.log")" -ge 2 ]'
check "daemon 2 answered A's status off afterwards" \
	grep -qE "request #[0-9]+ from channel migA .*: status migV -> off" "$T/d2.log"
check "V ends shut off on host 3 (destroyed as asked)" eval '[ "$(state 3 migV)" = "shut off" ]'
check "host 3 saw V stop exactly once (Destroyed)" \
	eval '[ "$(grep -c "migV.*: Stopped" "$T/ev3.log")" -eq 1 ] &&
		grep -q "migV.*Stopped Destroyed" "$T/ev3.log"'
check "host 1 saw A leave by migration" grep -q "migA.*Stopped Migrated" "$T/ev1.log"

for i in 1 2 3; do
	vsf_stop "${DAEMON[$i]}"
	vsf_check_grep "daemon $i stops cleanly" "$T/d$i.log" "stopped"
done
echo "elapsed $((SECONDS - t0)) s"
vsf_finish
