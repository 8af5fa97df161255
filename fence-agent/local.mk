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
