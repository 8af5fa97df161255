# hw-virtio-serial: the transport-neutral virtio-serial device core, its
# fake transport and unit tests.  qemu/ and build-qemu.sh are built by
# QEMU's meson (see build-qemu.sh), not here.
noinst_LIBRARIES += hw-virtio-serial/libvsdev.a
hw_virtio_serial_libvsdev_a_SOURCES = \
	hw-virtio-serial/vsdev.h \
	hw-virtio-serial/vsdev.c \
	hw-virtio-serial/vsdev_vring.c

check_PROGRAMS += hw-virtio-serial/vsdev_test
hw_virtio_serial_vsdev_test_SOURCES = \
	hw-virtio-serial/vsdev_test.c \
	hw-virtio-serial/fake/fake_transport.c \
	hw-virtio-serial/fake/fake_transport.h
hw_virtio_serial_vsdev_test_LDADD = hw-virtio-serial/libvsdev.a
TESTS += hw-virtio-serial/vsdev_test

# The stock Linux driver on our device inside a QEMU built from Debian's
# source (build-qemu.sh, cached outside the tree by content hash).
# Live migration between two such QEMUs with the port open (migprobe runs
# in the guest).
TESTS += tests/vsdev/qemu_vm_test.sh tests/vsdev/migrate_vm_test.sh
# The guest-kmod conformance suite (our vserial.ko and the stock driver) on
# our device; two boots, about a minute.
TESTS += tests/vsdev/kmod_conform_test.sh
# The fence agent's end-to-end scenario over our device (one boot).
TESTS += tests/vsdev/agent_e2e_test.sh
# Our migration stream vs stock QEMU's "virtio-console" v3 (no boot).
TESTS += tests/vsdev/mig_compat_test.sh
# The migration cut: unread host bytes move with the device state, the
# source refuses later writes, a failed migration's source recovers (no boot).
TESTS += tests/vsdev/mig_cut_test.sh
# Real libvirtd, unchanged <channel> XML, guest A fences guest B (2 guests).
TESTS += tests/vsdev/libvirt_e2e_test.sh
check_PROGRAMS += tests/vsdev/migprobe
tests_vsdev_migprobe_SOURCES = tests/vsdev/migprobe.c

EXTRA_DIST += hw-virtio-serial/build-qemu.sh hw-virtio-serial/qemu \
	hw-virtio-serial/README.md tests/vsdev/qemu_vm_test.sh \
	tests/vsdev/migrate_vm_test.sh tests/vsdev/kmod_conform_test.sh \
	tests/vsdev/agent_e2e_test.sh tests/vsdev/mig_compat_test.sh \
	tests/vsdev/mig_cut_test.sh \
	tests/vsdev/libvirt_e2e_test.sh \
	tests/vsdev/our-qemu.sh tests/vsdev/on-our-qemu.sh \
	tests/vsdev/migpeer.py tests/vsdev/guest

# libFuzzer target tests/fuzz/fuzz_vsdev.c (listed in FUZZ_TARGETS by
# tests/fuzz/local.mk): a hostile guest against the core over the fake.
FUZZ_EXTRA_vsdev = $(top_srcdir)/hw-virtio-serial/vsdev.c \
	$(top_srcdir)/hw-virtio-serial/vsdev_vring.c \
	$(top_srcdir)/hw-virtio-serial/fake/fake_transport.c
tests/fuzz/fuzz_vsdev: $(FUZZ_EXTRA_vsdev) \
	$(top_srcdir)/hw-virtio-serial/vsdev.h \
	$(top_srcdir)/hw-virtio-serial/fake/fake_transport.h
