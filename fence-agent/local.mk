# fence-agent/: fence_vserial, the guest fence agent (issue 3).
# The library holds everything but main() so unit tests link the real code.
noinst_LIBRARIES += fence-agent/libagent.a
fence_agent_libagent_a_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS)
fence_agent_libagent_a_SOURCES = \
	fence-agent/deadline.h \
	fence-agent/options.c fence-agent/options.h \
	fence-agent/port.c fence-agent/port.h \
	fence-agent/stream.c fence-agent/stream.h \
	fence-agent/channel.c fence-agent/channel.h \
	fence-agent/net.c fence-agent/net.h \
	fence-agent/result.c fence-agent/result.h \
	fence-agent/metadata.c fence-agent/metadata.h

AGENT_LIBS = fence-agent/libagent.a $(VSFKEY_LIBS)

sbin_PROGRAMS += fence-agent/fence_vserial
fence_agent_fence_vserial_SOURCES = fence-agent/main.c
fence_agent_fence_vserial_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS)
fence_agent_fence_vserial_LDADD = $(AGENT_LIBS)
dist_man_MANS += fence-agent/fence_vserial.8

# Unit tests (tests/check.h) next to the module they test.
AGENT_UNIT_TESTS = fence-agent/options_test fence-agent/port_test \
	fence-agent/channel_test fence-agent/result_test
check_PROGRAMS += $(AGENT_UNIT_TESTS)
TESTS += $(AGENT_UNIT_TESTS)
fence_agent_result_test_LDADD = $(AGENT_LIBS)
fence_agent_options_test_LDADD = $(AGENT_LIBS)
fence_agent_port_test_LDADD = $(AGENT_LIBS) -lutil
fence_agent_channel_test_LDADD = $(AGENT_LIBS) -lpthread

# End-to-end tests of the real binary (tests/agent/): stock metadata
# comparison, stock fence_virtd in vmchannel and tcp mode, and a misbehaving
# fake host.  The *_ours_* wrappers run the same scripts against our
# vserial-fenced (AGENT_TEST_DAEMON=ours).
AGENT_SH_TESTS = tests/agent/metadata_test.sh tests/agent/vmchannel_test.sh \
	tests/agent/tcp_test.sh tests/agent/robust_test.sh \
	tests/agent/vmchannel_ours_test.sh tests/agent/tcp_ours_test.sh \
	tests/agent/minroot_test.sh tests/agent/resend_test.sh
TESTS += $(AGENT_SH_TESTS)
EXTRA_DIST += tests/agent/lib.sh tests/agent/fake_host.py $(AGENT_SH_TESTS)

# libFuzzer target tests/fuzz/fuzz_agent_reply.c (listed in tests/fuzz/local.mk).
FUZZ_AGENT_SRCS = $(top_srcdir)/fence-agent/channel.c \
	$(top_srcdir)/fence-agent/stream.c
FUZZ_EXTRA_agent_reply = -I$(top_srcdir)/fence-agent $(FUZZ_AGENT_SRCS)
tests/fuzz/fuzz_agent_reply: $(FUZZ_AGENT_SRCS) \
	$(top_srcdir)/fence-agent/channel.h $(top_srcdir)/fence-agent/stream.h

# udev rule: the fence port belongs to group haclient (see the file).
udevrulesdir = $(prefix)/lib/udev/rules.d
dist_udevrules_DATA = fence-agent/60-fence-vserial.rules
