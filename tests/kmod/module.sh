# tests/kmod/module.sh - sourced by tests/kmod/*_test.sh after vm_setup:
# sets $ko to a vserial.ko for the guest kernel $VM_KVER.  VSF_KMOD names a
# prebuilt one; otherwise guest-kmod/ is built now into $VM_DIR (seconds).
ko=${VSF_KMOD:-}
if [ -z "$ko" ]; then
	kdir=/lib/modules/$VM_KVER/build
	[ -f "$kdir/Makefile" ] ||
		vm_skip "no headers for guest kernel $VM_KVER (linux-headers-amd64)"
	mkdir -p "$VM_DIR/kmod"
	cp "$src"/guest-kmod/{vserial.c,vserial_ctl.h,vserial_hvc.h,Kbuild} "$VM_DIR/kmod/"
	make -s -C "$kdir" M="$VM_DIR/kmod" modules >"$VM_DIR/kmod.log" 2>&1 || {
		vm_fail build_module "$(tail -20 "$VM_DIR/kmod.log")"
		vm_report
	}
	# No debug info: the same source gives the same bytes (initramfs cache).
	strip --strip-debug -o "$VM_DIR/vserial.ko" "$VM_DIR/kmod/vserial.ko"
	ko=$VM_DIR/vserial.ko
fi
