# tests/fuzz: one libFuzzer target per decoder of untrusted bytes.
#
# Adding a target is one file and one line: write tests/fuzz/fuzz_NAME.c
# (see fuzz.h), add NAME to FUZZ_TARGETS below, and drop a few seed files
# in tests/fuzz/corpus/NAME/.  A target that needs sources beyond proto/
# (the daemon's config parser, the agent's reply parser) lists them in
# FUZZ_EXTRA_NAME and names them as prerequisites, like fuzz_conf below.
# The targets are built with clang by `make check` (or `make fuzz`) when
# configure found clang, and run briefly by run-smoke.sh; README.md there
# says how to run real campaigns.
FUZZ_TARGETS = net_req serial_req serial_resp host_record frame_reader \
	v2_decode v2_stream conf chan_xml
FUZZ_TARGETS += agent_reply  # fence-agent: FUZZ_EXTRA_agent_reply in fence-agent/local.mk
FUZZ_TARGETS += vsdev  # hw-virtio-serial: FUZZ_EXTRA_vsdev in hw-virtio-serial/local.mk
FUZZ_TARGETS += cpg_msg  # cluster: FUZZ_EXTRA_cpg_msg in cluster/local.mk
FUZZ_TARGETS += agent_opts
FUZZ_TARGETS += kmod_ctl  # guest-kmod/vserial_ctl.h: prerequisite in tests/kmod/local.mk

# The daemon's config parser (its domain-XML parser: FUZZ_EXTRA_chan_xml
# further down).
FUZZ_EXTRA_conf = $(top_srcdir)/fenced-host/conf.c
tests/fuzz/fuzz_conf: $(FUZZ_EXTRA_conf) $(top_srcdir)/fenced-host/conf.h
tests/fuzz/fuzz_chan_xml: $(top_srcdir)/fenced-host/chan_xml.c \
	$(top_srcdir)/fenced-host/chan_xml.h
# The agent's stdin option parser (what pacemaker writes to fence_vserial).
FUZZ_EXTRA_agent_opts = -I$(top_srcdir)/fence-agent \
	$(top_srcdir)/fence-agent/options.c
tests/fuzz/fuzz_agent_opts: $(top_srcdir)/fence-agent/options.c \
	$(top_srcdir)/fence-agent/options.h

EXTRA_DIST += tests/fuzz/README.md tests/fuzz/fuzz.h tests/fuzz/fuzz_v2.h \
	tests/fuzz/gen_corpus.c tests/fuzz/corpus tests/fuzz/run-smoke.sh \
	$(FUZZ_TARGETS:%=tests/fuzz/fuzz_%.c)
TESTS += tests/fuzz/run-smoke.sh

FUZZ_BINS = $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%)
FUZZ_PROTO_SRCS = $(top_srcdir)/proto/vsf_hash.c \
	$(top_srcdir)/proto/vsf_wire.c $(top_srcdir)/proto/vsf_auth.c \
	$(top_srcdir)/proto/vsf_frame.c $(top_srcdir)/proto/vsf_v2.c
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I$(top_builddir) -I$(top_srcdir)/proto -I$(top_srcdir)/tests/fuzz \
	$(NSS_CFLAGS)
CLEANFILES += $(FUZZ_BINS)
# The daemon's domain-XML channel parser needs libxml2.
FUZZ_EXTRA_chan_xml = $(top_srcdir)/fenced-host/chan_xml.c $(LIBXML_CFLAGS) \
	$(LIBXML_LIBS)

# The seed corpus is generated from valid frames by our own encoders:
#	make tests/fuzz/gen_corpus && tests/fuzz/gen_corpus $(srcdir)/tests/fuzz/corpus
tests/fuzz/gen_corpus: $(top_srcdir)/tests/fuzz/gen_corpus.c proto/libvsfproto.a
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(CC) $(AM_CFLAGS) $(CFLAGS) -I$(top_builddir) \
		-I$(top_srcdir)/proto -I$(top_srcdir)/tests/fuzz -o $@ $< \
		$(VSFPROTO_LIBS)
CLEANFILES += tests/fuzz/gen_corpus

if HAVE_CLANG
# Built before the smoke run needs them: a prerequisite of its log.  The
# target is named through a variable so that automake still generates the
# log's recipe (it drops its own rule for any target spelled out here).
FUZZ_SMOKE_LOG = tests/fuzz/run-smoke.sh.log
$(FUZZ_SMOKE_LOG): $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)

# One static pattern rule builds every target straight from the sources
# (the proto objects in libvsfproto.a are built by gcc without coverage
# instrumentation, so they cannot be reused).
$(FUZZ_BINS): tests/fuzz/fuzz_%: $(top_srcdir)/tests/fuzz/fuzz_%.c \
		$(FUZZ_PROTO_SRCS) $(wildcard $(top_srcdir)/proto/*.h) \
		$(top_srcdir)/tests/fuzz/fuzz.h $(top_srcdir)/tests/fuzz/fuzz_v2.h \
		config.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_PROTO_SRCS) \
		$(FUZZ_EXTRA_$*) $(NSS_LIBS) -lpthread
else
fuzz:
	@echo "fuzz: clang not found at configure time (install clang and libclang-rt-14-dev)"
endif
.PHONY: fuzz
