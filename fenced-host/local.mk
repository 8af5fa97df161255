# fenced-host: vserial-fenced, the host fencing daemon.
# Everything but main.c goes into a library so unit tests link the real code.
noinst_LIBRARIES += fenced-host/libfenced.a
fenced_host_libfenced_a_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML_CFLAGS) $(NSS_CFLAGS) \
	-I$(top_srcdir)/cluster $(CPG_CFLAGS) $(QUORUM_CFLAGS)
fenced_host_libfenced_a_SOURCES = \
	fenced-host/conf.c fenced-host/conf.h \
	fenced-host/loop.h fenced-host/loop_epoll.c \
	fenced-host/acl.c fenced-host/acl.h \
	fenced-host/history.c fenced-host/history.h \
	fenced-host/log.c fenced-host/log.h \
	fenced-host/backend.c fenced-host/backend.h \
	fenced-host/workers.c fenced-host/workers.h \
	fenced-host/request.c fenced-host/request.h fenced-host/util.h \
	fenced-host/chan_xml.c fenced-host/chan_xml.h \
	fenced-host/virt_backend.c \
	fenced-host/backend_cpg.c fenced-host/backend_cpg.h \
	fenced-host/keyref.c fenced-host/keyref.h \
	fenced-host/listener.c fenced-host/listener.h \
	fenced-host/chan_watch.c fenced-host/chan_watch.h \
	fenced-host/chan_listener.c fenced-host/tcp_listener.c \
	fenced-host/settings.c fenced-host/settings.h

sbin_PROGRAMS += fenced-host/vserial-fenced
fenced_host_vserial_fenced_SOURCES = fenced-host/main.c
fenced_host_vserial_fenced_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
fenced_host_vserial_fenced_LDADD = $(FENCED_LIBS)

FENCED_LIBS = fenced-host/libfenced.a $(VSFCPG_LIBS) keys/libvsfkey.a $(VSFPROTO_LIBS) $(LIBVIRT_LIBS) $(LIBXML_LIBS)

FENCED_UNIT_TESTS = fenced-host/conf_test fenced-host/loop_test fenced-host/acl_test \
	fenced-host/history_test fenced-host/request_test fenced-host/chan_xml_test \
	fenced-host/settings_test fenced-host/virt_backend_test \
	fenced-host/tcp_listener_test fenced-host/chan_watch_test
check_PROGRAMS += $(FENCED_UNIT_TESTS)
TESTS += $(FENCED_UNIT_TESTS)
fenced_host_conf_test_LDADD = $(FENCED_LIBS)
fenced_host_loop_test_LDADD = $(FENCED_LIBS)
fenced_host_acl_test_LDADD = $(FENCED_LIBS)
fenced_host_history_test_LDADD = $(FENCED_LIBS)
fenced_host_request_test_SOURCES = fenced-host/request_test.c fenced-host/fake_backend.c fenced-host/fake_backend.h
fenced_host_request_test_LDADD = $(FENCED_LIBS)
fenced_host_chan_xml_test_LDADD = $(FENCED_LIBS)
fenced_host_settings_test_LDADD = $(FENCED_LIBS)
fenced_host_virt_backend_test_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
fenced_host_virt_backend_test_LDADD = $(FENCED_LIBS)
fenced_host_chan_watch_test_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
fenced_host_chan_watch_test_LDADD = $(FENCED_LIBS)
fenced_host_tcp_listener_test_SOURCES = fenced-host/tcp_listener_test.c fenced-host/fake_backend.c fenced-host/fake_backend.h
fenced_host_tcp_listener_test_LDADD = $(FENCED_LIBS)

# End-to-end: real libvirt test driver, stock fence_virt over a socat pty.
DAEMON_E2E = tests/daemon/serial_e2e.sh tests/daemon/tcp_e2e.sh \
	tests/daemon/reconnect_e2e.sh tests/daemon/storm_e2e.sh \
	tests/daemon/mcast_e2e.sh tests/daemon/clock_e2e.sh \
	tests/daemon/v2_keys_e2e.sh tests/daemon/vanish_e2e.sh
TESTS += $(DAEMON_E2E)
# The daemon's end-to-end scripts alone (about 35 s).  In a sanitizer
# build they fail on any ASan/UBSan/LeakSanitizer report from the daemon
# (tests/daemon/fenced.sh), e.g. make -C build-asan check-daemon.
check-daemon:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(DAEMON_E2E)"
print-daemon-tests:
	@echo $(DAEMON_E2E)
.PHONY: check-daemon print-daemon-tests
EXTRA_DIST += tests/daemon/serial_e2e.sh tests/daemon/tcp_e2e.sh \
	tests/daemon/reconnect_e2e.sh tests/daemon/storm_e2e.sh \
	tests/daemon/mcast_e2e.sh tests/daemon/clock_e2e.sh \
	tests/daemon/v2_keys_e2e.sh tests/daemon/vanish_e2e.sh \
	tests/daemon/lvd.sh tests/daemon/fenced.sh \
	tests/daemon/chan_peer.py tests/daemon/storm_peer.py \
	tests/daemon/v2_peer.py

dist_man_MANS += fenced-host/vserial-fenced.8 fenced-host/vserial-fenced.conf.5
systemdunitdir = $(prefix)/lib/systemd/system
dist_systemdunit_DATA = fenced-host/vserial-fenced.service
examplesdir = $(docdir)/examples
dist_examples_DATA = fenced-host/vserial-fenced.conf.sample
EXTRA_DIST += fenced-host/README.md
