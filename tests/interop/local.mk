# tests/interop: v1 byte compatibility against the STOCK fence-virt programs.
# vsf_peer is a scriptable v1 peer built on libvsfproto only; the scripts
# (sharing lib.sh) run it against /usr/sbin/fence_virt and fence_virtd.
check_PROGRAMS += tests/interop/vsf_peer
tests_interop_vsf_peer_SOURCES = tests/interop/vsf_peer.c \
	tests/interop/peer_io.c tests/interop/peer_io.h
tests_interop_vsf_peer_LDADD = $(VSFPROTO_LIBS)

INTEROP_TESTS = \
	tests/interop/stock_agent_serial.sh \
	tests/interop/stock_agent_tcp.sh \
	tests/interop/stock_daemon_channel.sh \
	tests/interop/stock_daemon_tcp.sh
TESTS += $(INTEROP_TESTS)
EXTRA_DIST += tests/interop/lib.sh tests/interop/README.md $(INTEROP_TESTS)

# Protocol v2 against the stock daemon (proto-v2 engineer).
check_PROGRAMS += tests/interop/v2_probe
tests_interop_v2_probe_SOURCES = tests/interop/v2_probe.c \
	tests/interop/peer_io.c tests/interop/peer_io.h
tests_interop_v2_probe_LDADD = $(VSFPROTO_LIBS)
TESTS += tests/interop/v2_stock_harmless.sh
EXTRA_DIST += tests/interop/v2_stock_harmless.sh
