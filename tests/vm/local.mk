# tests/vm: the VM test rig (TCG guests from Debian packages); see lib.sh.
check_PROGRAMS += tests/vm/vmprobe
tests_vm_vmprobe_SOURCES = tests/vm/vmprobe.c
VM_TESTS = tests/vm/channel_test.sh tests/vm/stock_agent_test.sh \
	tests/vm/stock_agent_ours_test.sh tests/vm/agent_stock_test.sh \
	tests/vm/agent_ours_test.sh tests/vm/realvirt_stock_test.sh \
	tests/vm/realvirt_ours_test.sh tests/vm/restart_test.sh \
	tests/vm/restart_ours_test.sh tests/vm/udev_test.sh
TESTS += $(VM_TESTS)
EXTRA_DIST += $(VM_TESTS) tests/vm/lib.sh tests/vm/init tests/vm/rig.sh \
	tests/vm/mkinitramfs.sh tests/vm/peer.py tests/vm/libvirt_ns.sh \
	tests/vm/guest tests/vm/demo.sh
