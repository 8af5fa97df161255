# tests/kmod/kconform_rig.sh - sourced by conform_test.sh and throughput.sh
# after vm_setup (and with $here/$src set): builds the module and kconform,
# the initramfs, and defines
#
#   kconform_boot DRIVER OTHER [KERNEL-ARGS...]
#
# one TCG guest on QEMU's virtio-serial (a virtconsole, ports org.vsf.ctl,
# t1, t2, t3, QMP for hot-plug) with DRIVER bound and OTHER kept out,
# tests/kmod/servant.py on the host side; the console log is kept as
# $VM_DIR/result-DRIVER.log.
. "$here/module.sh"

# The guest program: from the build tree, else compiled now.
prog=$vm_build/tests/kmod/kconform
if [ ! -x "$prog" ]; then
	prog=$VM_DIR/kconform
	${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -pthread \
		-o "$prog" "$here/kconform.c" || {
		vm_fail build_kconform "cc failed"
		vm_report
	}
fi
# kconform_extra: more SRC:DEST files for the initramfs (set by the caller).
vm_initramfs -m "$ko" "$prog:/bin/kconform" \
	"$here/guest/kconform.sh:/tests/kconform.sh" "${kconform_extra[@]}"

kconform_boot() {
	local drv=$1 other=$2 servant
	shift 2
	vm_args=()
	vm_names=()
	vm_nchardev=0
	vm_add_console org.vsf.console
	vm_add_port org.vsf.ctl
	vm_add_port org.vsf.t1
	vm_add_port org.vsf.t2
	vm_add_port org.vsf.t3
	rm -f "$VM_DIR"/*.sock
	vm_args+=(-qmp "unix:$VM_DIR/qmp.sock,server=on,wait=off")
	# KMOD_SMP=N: N vCPUs (the later -smp wins), for races needing two CPUs.
	[ -n "${KMOD_SMP:-}" ] && vm_args+=(-smp "$KMOD_SMP")
	vm_start kconform "rig.noload=$other" "kmod.driver=$drv" "$@"
	vm_spawn python3 "$here/servant.py" "$VM_DIR" "$vm_timeout"
	servant=$VM_LAST_PID
	vm_wait
	cp "$VM_LOG" "$VM_DIR/result-$drv.log"
	wait "$servant"
	echo "vm: servant for $drv exited $?"
}
