#!/bin/bash
# tests/vsdev/mig_compat_test.sh - what our migration stream is compatible
# with, checked with paused machines (no guest boot, a few seconds):
#   ours -> ours      completes (our section "vsdev-serial" v2);
#   stock -> ours     refused: the destination names stock's "virtio-console"
#                     section as unknown and does not run the guest;
#   ours -> stock     refused on our "vsdev-serial" section.
# (Precopy has no return path: the source may still report "completed"
# when the destination refuses the stream, so the destination is checked.)
# Stock = Debian's /usr/bin/qemu-system-x86_64 (7.2).  Both sides use
# -M pc,hpet=off,vmport=off so that the virtio-serial section is the only
# difference between the two builds' device sets.
. "$(dirname "$0")/../vm/lib.sh"
. "$(dirname "$0")/our-qemu.sh"
vm_setup vsdev-compat
stock=/usr/bin/qemu-system-x86_64
[ -x "$stock" ] || vm_skip "no $stock; run tools/install-deps (qemu-system-x86)"
vsdev_our_qemu
ours=qemu-system-x86_64	# the wrapper vsdev_our_qemu put first in PATH

machine=(-M pc,hpet=off,vmport=off -nodefaults -no-user-config -display none
	-accel tcg -m 64 -device virtio-serial-pci,id=vs0
	-device virtserialport,bus=vs0.0,nr=1,name=org.example.mig)

# migrate NAME SRC-QEMU DST-QEMU: the final status on the source; the
# destination's stderr is left in $VM_DIR/NAME.dst.err.
migrate() {
	local name=$1 src=$2 dst=$3 d=$VM_DIR/$1
	mkdir -p "$d"
	vm_spawn timeout 30 "$dst" "${machine[@]}" -incoming "unix:$d/mig.sock" \
		2>"$d.dst.err"
	local dpid=$VM_LAST_PID
	vm_spawn timeout 30 "$src" "${machine[@]}" -S \
		-qmp "unix:$d/qmp.sock,server=on,wait=off" 2>"$d.src.err"
	local spid=$VM_LAST_PID
	vm_wait_for 10 test -S "$d/mig.sock"
	vm_wait_for 10 test -S "$d/qmp.sock"
	python3 - "$d" <<'PY'
import json, socket, sys, time
d = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(d + "/qmp.sock")
f = s.makefile("rw")
def cmd(name, **a):
    f.write(json.dumps({"execute": name, "arguments": a}) + "\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            return m
json.loads(f.readline())
cmd("qmp_capabilities")
cmd("migrate", uri="unix:" + d + "/mig.sock")
status, end = "", time.monotonic() + 20
while time.monotonic() < end:
    status = cmd("query-migrate")["return"].get("status", "")
    if status in ("completed", "failed", "cancelled"):
        break
    time.sleep(0.05)
alive = "return" in cmd("query-status")
open(d + "/status", "w").write("%s %s\n" % (status, "alive" if alive else "dead"))
cmd("quit")
PY
	wait "$spid" 2>/dev/null
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	cat "$d/status" 2>/dev/null || echo "none dead"
}

st=$(migrate ours_to_ours "$ours" "$ours")
[ "${st%% *}" = completed ] && vm_ok ours_to_ours_completes ||
	vm_fail ours_to_ours_completes "status '$st': $(cat "$VM_DIR/ours_to_ours.dst.err")"

st=$(migrate stock_to_ours "$stock" "$ours")
err=$(cat "$VM_DIR/stock_to_ours.dst.err")
if [[ $err == *"Unknown savevm section"*"virtio-console"* ]] &&
	[[ $err == *"load of migration failed"* ]]; then
	vm_ok stock_to_ours_refused_cleanly
else
	vm_fail stock_to_ours_refused_cleanly "status '$st', destination: $err"
fi

st=$(migrate ours_to_stock "$ours" "$stock")
err=$(cat "$VM_DIR/ours_to_stock.dst.err")
if [[ $err == *"Unknown savevm section"*"vsdev-serial"* ]] &&
	[[ $err == *"load of migration failed"* ]]; then
	vm_ok ours_to_stock_refused_cleanly
else
	vm_fail ours_to_stock_refused_cleanly "status '$st', destination: $err"
fi
vm_report
