#!/bin/bash
# tests/kmod/udev_test.sh - Debian's own udev rule for virtio-serial
# (50-udev-default.rules: /dev/virtio-ports/NAME) run by a real
# systemd-udevd in the guest, on our vserial.ko and on stock virtio_console:
# links at boot, a link for a hot-plugged port (made on the driver's
# "change" uevent, as the name arrives after "add"), removed on unplug.
# Two TCG boots.
. "$(dirname "$0")/../vm/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
vm_setup kmod-udev
[ -x /bin/udevadm ] || vm_skip "no /bin/udevadm; apt-get install udev"
rules=/lib/udev/rules.d/50-udev-default.rules
[ -f "$rules" ] || vm_skip "no $rules; apt-get install udev"
kconform_extra=(/bin/udevadm /bin/udevadm:/lib/systemd/systemd-udevd "$rules")
. "$here/kconform_rig.sh"

kconform_boot vserial virtio_console rig.udev=1 kmod.mode=udev
kconform_boot virtio_console vserial rig.udev=1 kmod.mode=udev
vm_report
