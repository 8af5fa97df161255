#!/bin/bash
# tests/vm/libvirt_ns.sh DIR - a private libvirtd for one test (no systemd here).
#
# Run under `unshare -m -n --propagation private`: bind-mounts DIR/{run,etc,
# lib,log,cache} over libvirt's own directories, so this daemon cannot meet
# another engineer's libvirtd or the machine's, and starts virtlogd and
# libvirtd in the foreground.  The private network namespace keeps any
# libvirt network away from the host's.  QEMU runs as root with no chown
# (dynamic_ownership = 0) and no cgroups, so a test's temp dir just works.
# Writes DIR/virtlogd.pid and DIR/libvirtd.pid; exits when both are gone.
# Other processes join with `nsenter -t <this pid> -m -n`.
set -eu
d=$1
mkdir -p "$d/run" "$d/etc" "$d/lib" "$d/log" "$d/cache" /run/libvirt
cp -a /etc/libvirt/. "$d/etc/"
rm -rf "$d/etc/qemu/networks/autostart" "$d/etc/qemu/"*.xml
mkdir -p "$d/lib/qemu" "$d/lib/qemu/channel/target"
cat >>"$d/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
cgroup_controllers = [ ]
EOF
cat >>"$d/etc/libvirtd.conf" <<EOF
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
mount --bind "$d/run" /run/libvirt
mount --bind "$d/etc" /etc/libvirt
mount --bind "$d/lib" /var/lib/libvirt
mount --bind "$d/log" /var/log/libvirt
mount --bind "$d/cache" /var/cache/libvirt
ip link set lo up 2>/dev/null || true

# Own pid files: the defaults (/run/virtlogd.pid, /run/libvirtd.pid) are
# shared with every other libvirtd on the machine.
virtlogd -p "$d/run/virtlogd.daemon.pid" &
echo $! >"$d/virtlogd.pid"
libvirtd -p "$d/run/libvirtd.daemon.pid" &
echo $! >"$d/libvirtd.pid"
wait
