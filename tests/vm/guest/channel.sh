# tests/vm/guest/channel.sh - run in the guest by /init (rig.test=channel).
# The stock virtio_console driver on QEMU's virtio-serial: names, echo, the
# single-opener rule, host-absent/host-gone signalling, and the console port.
t=org.example.test
idle=org.example.idle
con=org.example.console

# (a) the named port in sysfs and as /dev/virtio-ports/NAME
if d=$(port_dev $t); then
	ok port_named_in_sysfs
	info port "$t=$d"
else
	fail port_named_in_sysfs "no /sys/class/virtio-ports/*/name = $t"
fi
if [ -c "/dev/virtio-ports/$t" ] && [ "$(readlink -f "/dev/virtio-ports/$t")" = "$d" ]; then
	ok port_link
else
	fail port_link "/dev/virtio-ports/$t: $(ls -l /dev/virtio-ports 2>&1)"
fi

# (b) guest -> host -> guest
check echo_round_trip vmprobe echo "/dev/virtio-ports/$t" hello-from-guest
check echo_round_trip_again vmprobe echo "/dev/virtio-ports/$t" "second-open-$(cat /proc/uptime)"

# (c) one opener at a time
check second_open_ebusy vmprobe busy "/dev/virtio-ports/$t"

# (d) no host peer: POLLHUP and read() == 0; then the host hangs up on us
check unconnected_port_hup vmprobe hup "/dev/virtio-ports/$idle"
check host_close_gives_hup vmprobe eof "/dev/virtio-ports/$t"
check closed_port_stays_hup vmprobe hup "/dev/virtio-ports/$t"

# (e) the virtconsole is /dev/hvc0, a tty; its vport node refuses open()
if [ -c /dev/hvc0 ]; then ok hvc0_exists; else fail hvc0_exists "$(ls /dev | tr '\n' ' ')"; fi
check hvc0_is_tty vmprobe tty /dev/hvc0
if d=$(port_dev $con); then
	info console_port "$con=$d"
	check console_vport_enxio vmprobe enxio "$d"
else
	fail console_vport_enxio "no sysfs name $con"
fi
check hvc0_echo vmprobe echo /dev/hvc0 hello-over-hvc
