# tests/kmod/guest/nomulti.sh - run in the guest by /init (rig.test=nomulti).
# A virtio-serial device with max_ports=1 offers no MULTIPORT: no control
# queue, port 0 is a console straight away (hvc), with no name.
drv=virtio_console
for a in $(cat /proc/cmdline); do
	case $a in kmod.driver=*) drv=${a#*=} ;; esac
done
if ls "/sys/bus/virtio/drivers/$drv" 2>/dev/null | grep -q '^virtio'; then
	ok "$drv.bound"
else
	fail "$drv.bound" "$(ls /sys/bus/virtio/drivers/ 2>&1)"
fi
# Without names there is nothing to wait for but the nodes.
n=0
while [ ! -c /dev/vport0p0 ] && [ $n -lt 100 ]; do usleep 50000; n=$((n + 1)); done
check "$drv.port0_node" test -c /dev/vport0p0
check "$drv.port0_no_name" test ! -e /sys/class/virtio-ports/vport0p0/name
check "$drv.port0_vport_enxio" vmprobe enxio /dev/vport0p0
check "$drv.port0_hvc_echo" vmprobe -t 10000 echo /dev/hvc0 "hello-nomulti-$drv"
