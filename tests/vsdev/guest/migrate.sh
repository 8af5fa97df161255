# tests/vsdev/guest/migrate.sh - run in the guest by /init (rig.test=migrate):
# numbered lines both ways over one open port while the host live-migrates
# the VM from one QEMU (with our device) to another; see migprobe.c.
migprobe /dev/virtio-ports/org.example.mig 60000 8000 ||
	fail mig_probe "migprobe exited with $?"
