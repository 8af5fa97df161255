# tests/vm: the VM test rig (TCG guests from Debian packages); see lib.sh.
check_PROGRAMS += tests/vm/vmprobe
tests_vm_vmprobe_SOURCES = tests/vm/vmprobe.c
TESTS += tests/vm/channel_test.sh tests/vm/stock_agent_test.sh \
	tests/vm/agent_stock_test.sh
EXTRA_DIST += tests/vm/lib.sh tests/vm/init tests/vm/rig.sh \
	tests/vm/mkinitramfs.sh tests/vm/peer.py tests/vm/guest \
	tests/vm/channel_test.sh tests/vm/stock_agent_test.sh \
	tests/vm/agent_stock_test.sh
