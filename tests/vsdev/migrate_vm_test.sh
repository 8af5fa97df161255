#!/bin/bash
# tests/vsdev/migrate_vm_test.sh - live migration of a guest whose port is
# open, between two QEMU processes carrying OUR virtio-serial device
# (hw-virtio-serial/build-qemu.sh): A runs the guest, B waits with
# -incoming unix:..., migpeer.py migrates A to B over QMP while numbered
# lines flow both ways (tests/vsdev/migprobe.c in the guest) and checks:
# the guest keeps its open port; every line the guest wrote before, during
# and after migration reaches the host exactly once and in order; every
# host line send() accepted (a busy writer: to A until A refuses with EPIPE,
# then to B) reaches the guest exactly once and in order, including the
# bytes still unread in A's socket at the switch-over, which the device's
# migration cut carries to B (and the test checks it carried some).
# One boot (two QEMUs).
. "$(dirname "$0")/../vm/lib.sh"
. "$(dirname "$0")/our-qemu.sh"
vm_setup vsdev-mig
here=$(cd "$(dirname "$0")" && pwd)

vsdev_our_qemu
export VSDEV_QEMU_ERR=$VM_DIR/qemu.err

probe=$vm_build/tests/vsdev/migprobe
[ -x "$probe" ] || { vm_fail build "$probe not built (make check builds it)"; vm_report; }
vm_initramfs "$probe:/bin/migprobe" "$here/guest/migrate.sh:/tests/migrate.sh"

# Source A through the rig; destination B by hand with the same machine.
vm_add_port org.example.mig
ln -s "$VM_SOCK" "$VM_DIR/portA.sock"
vm_args+=(-qmp "unix:$VM_DIR/qmpA.sock,server=on,wait=off")
vm_start migrate
pid_a=$VM_PID
log_b=$VM_DIR/console-B.log
vm_spawn timeout -k 5 "$vm_timeout" qemu-system-x86_64 \
	-M pc -nodefaults -no-user-config -accel tcg -m 256 -smp 1 \
	-display none -no-reboot \
	-kernel "$VM_KERNEL" -initrd "$VM_INITRD" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 rig.test=migrate rig.ports=org.example.mig" \
	-chardev "file,id=ser0,path=$log_b" -serial chardev:ser0 \
	-device virtio-serial-pci,id=vs0 \
	-chardev "socket,id=c1,path=$VM_DIR/portB.sock,server=on,wait=off" \
	-device virtserialport,bus=vs0.0,chardev=c1,name=org.example.mig \
	-incoming "unix:$VM_DIR/mig.sock"
pid_b=$VM_LAST_PID

python3 "$here/migpeer.py" "$VM_DIR" "$((vm_timeout - 10))"
while read -r kind name why; do
	case $kind in
	ok) vm_ok "$name" ;;
	fail) vm_fail "$name" "$why" ;;
	info) echo "vm: $name $why" ;;
	esac
done <"$VM_DIR/results"

wait "$pid_a"
echo "vm: source QEMU exited with $?"
wait "$pid_b"
rc=$?
echo "vm: destination QEMU exited with $rc ($(vm_elapsed "$VM_T0")s since A started)"
[ "$rc" -eq 124 ] && vm_fail boot "destination killed after ${vm_timeout}s"
# The guest's story: before migration on A's console, after it on B's.
cat "$log_b" >>"$VM_LOG"
vm_count_results
if grep -qa 'virtio-serial' "$VSDEV_QEMU_ERR" 2>/dev/null; then
	vm_fail device_never_broken "$(grep -a 'virtio-serial' "$VSDEV_QEMU_ERR" | head -2)"
else
	vm_ok device_never_broken
fi
vm_report
