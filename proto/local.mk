# proto/: libvsfproto, the wire formats and crypto shared by agent and daemon.
# No I/O beyond getrandom, no logging, no allocation.
noinst_LIBRARIES += proto/libvsfproto.a
proto_libvsfproto_a_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS)
proto_libvsfproto_a_SOURCES = \
	proto/vsf_hash.c proto/vsf_hash.h \
	proto/vsf_wire.c proto/vsf_wire.h \
	proto/vsf_auth.c proto/vsf_auth.h \
	proto/vsf_frame.c proto/vsf_frame.h \
	proto/vsf_time.h proto/vsf_num.h

VSFPROTO_LIBS = proto/libvsfproto.a $(NSS_LIBS) -lpthread

check_PROGRAMS += proto/wire_test proto/auth_test proto/frame_test
TESTS += proto/wire_test proto/auth_test proto/frame_test
proto_wire_test_LDADD = $(VSFPROTO_LIBS)
proto_auth_test_LDADD = $(VSFPROTO_LIBS)
proto_frame_test_LDADD = $(VSFPROTO_LIBS)

# Protocol v2 (proto-v2 engineer).
proto_libvsfproto_a_SOURCES += proto/vsf_v2.c proto/vsf_v2.h
check_PROGRAMS += proto/v2_test
TESTS += proto/v2_test
proto_v2_test_LDADD = $(VSFPROTO_LIBS)
