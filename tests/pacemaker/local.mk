# tests/pacemaker/: a real pacemaker cluster of TCG guests fences through the
# virtio-serial channel (issue 10).  Needs root, QEMU, libvirt and, on the
# first run only, debootstrap and the apt mirror (rootfs cached by content
# hash in /var/cache/vserial-fence); see tests/pacemaker/lib.sh.
# cpg_test.sh: the same guests on different hosts of tests/cluster/cpg_rig.sh
# (backend cpg), one live-migrated while the cluster runs.
TESTS += tests/pacemaker/cluster_test.sh tests/pacemaker/cpg_test.sh
EXTRA_DIST += tests/pacemaker/lib.sh tests/pacemaker/mkrootfs.sh \
	tests/pacemaker/guest-init tests/pacemaker/initramfs-init \
	tests/pacemaker/rigctl.py tests/pacemaker/cluster_test.sh \
	tests/pacemaker/cpg_test.sh
