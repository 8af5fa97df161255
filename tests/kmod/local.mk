# tests/kmod: conformance of our guest driver (guest-kmod/vserial.ko) and of
# the stock virtio_console, in TCG guests on QEMU's virtio-serial device;
# and tests/vm scenarios re-run with vserial.ko (with_vserial.sh).
check_PROGRAMS += tests/kmod/kconform
tests_kmod_kconform_SOURCES = tests/kmod/kconform.c
tests_kmod_kconform_LDADD = -lpthread
TESTS += tests/kmod/conform_test.sh tests/kmod/nomulti_test.sh \
	tests/kmod/udev_test.sh tests/kmod/channel_vserial_test.sh tests/kmod/agent_vserial_test.sh \
	guest-kmod/checkpatch.sh
EXTRA_DIST += tests/kmod/conform_test.sh tests/kmod/nomulti_test.sh \
	tests/kmod/udev_test.sh tests/kmod/channel_vserial_test.sh tests/kmod/agent_vserial_test.sh \
	tests/kmod/with_vserial.sh tests/kmod/servant.py tests/kmod/module.sh \
	tests/kmod/kconform_rig.sh tests/kmod/throughput.sh \
	tests/kmod/guest \
	guest-kmod/Makefile guest-kmod/Kbuild guest-kmod/vserial.c \
	guest-kmod/vserial_ctl.h guest-kmod/vserial_hvc.h guest-kmod/checkpatch.sh \
	guest-kmod/README.md
# libFuzzer target tests/fuzz/fuzz_kmod_ctl.c (listed in tests/fuzz/local.mk):
# the driver's checks on device input, factored into guest-kmod/vserial_ctl.h.
tests/fuzz/fuzz_kmod_ctl: $(top_srcdir)/guest-kmod/vserial_ctl.h
