# tests/kmod/guest/kconform.sh - run in the guest by /init (rig.test=kconform).
# kmod.driver=NAME on the kernel command line says which module drives the
# device (the other one was kept out with rig.noload=); kconform does the rest.
drv=virtio_console
bench="" mode=""
for a in $(cat /proc/cmdline); do
	case $a in
	kmod.driver=*) drv=${a#*=} ;;
	kmod.bench=*) bench=${a#*=} ;;
	kmod.mode=*) mode=${a#*=} ;;
	esac
done
if [ -d "/sys/bus/virtio/drivers/$drv" ] && ls /sys/bus/virtio/drivers/$drv | grep -q '^virtio'; then
	ok "$drv.bound"
else
	fail "$drv.bound" "$(ls /sys/bus/virtio/drivers/ 2>&1)"
fi
if [ "$mode" = udev ]; then
	kconform "$drv" udev
	return 0
fi
if [ -n "$bench" ]; then
	kconform "$drv" bench "$bench"
	return 0
fi
kconform "$drv"
info "$drv.kconform_exit" $?
# The long-name check makes QEMU report more bytes than the buffer holds;
# ours says so when it clamps, which proves that path ran.
if [ "$drv" = vserial ]; then
	if dmesg | grep -q 'control-i: device reported [0-9]* bytes for a 4096-byte buffer, clamped'; then
		ok vserial.clamp_seen
	else
		fail vserial.clamp_seen "no clamp message in dmesg"
	fi
fi
# The kernel log must show no ring corruption or crash on either driver.
bad=$(dmesg | grep -E 'is not a head|BUG:|Oops|WARNING:|general protection|use-after-free|refcount_t' | head -3)
if [ -z "$bad" ]; then
	ok "$drv.kernel_log_clean"
else
	fail "$drv.kernel_log_clean" "$bad"
fi
dmesg | grep -iE 'vserial|virtio_console|BUG|WARNING|Oops' | head -20 | while read -r l; do
	info "$drv.dmesg" "$l"
done
