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

EXTRA_DIST += hw-virtio-serial/build-qemu.sh
