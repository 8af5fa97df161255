#!/bin/bash
# tests/kmod/conform_test.sh - the kconform suite on QEMU's stock
# virtio-serial device, twice: once driven by our vserial.ko (virtio_console
# kept out), once by the stock virtio_console as the reference.  Two TCG
# boots.  Result names are DRIVER.CHECK; a check that passes on stock but
# fails on ours is also reported as a regression.
. "$(dirname "$0")/../vm/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
vm_setup kmod

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
vm_initramfs -m "$ko" "$prog:/bin/kconform" \
	"$here/guest/kconform.sh:/tests/kconform.sh"

# boot DRIVER OTHER: one guest with DRIVER bound and OTHER kept out.
boot() {
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
	vm_start kconform "rig.noload=$2" "kmod.driver=$1" suspend.pm_test_delay=1
	vm_spawn python3 "$here/servant.py" "$VM_DIR" "$vm_timeout"
	servant=$VM_LAST_PID
	vm_wait
	cp "$VM_LOG" "$VM_DIR/result-$1.log"
	wait "$servant"
	echo "vm: servant for $1 exited $?"
}

boot vserial virtio_console
boot virtio_console vserial

# Regressions: a check stock passes that ours does not.
res() { tr -d '\r' <"$VM_DIR/result-$1.log" | grep -a '^VMTEST ok ' |
	sed "s/^VMTEST ok $1\\.//" | sort -u; }
missing=$(comm -23 <(res virtio_console) <(res vserial))
if [ -z "$missing" ]; then
	vm_ok "vserial_matches_stock"
else
	vm_fail "vserial_matches_stock" "stock passes, ours not: $(echo $missing)"
fi
vm_report
