# keys/: libvsfkey (the key loader shared by agent and daemon) and the
# vserial-keygen tool.  See docs/keys.md.
noinst_LIBRARIES += keys/libvsfkey.a
keys_libvsfkey_a_SOURCES = keys/vsf_key.c keys/vsf_key.h

# Link order matters for static libraries: libvsfkey uses libvsfproto.
VSFKEY_LIBS = keys/libvsfkey.a $(VSFPROTO_LIBS)

sbin_PROGRAMS += keys/vserial-keygen
keys_vserial_keygen_SOURCES = keys/vserial-keygen.c
keys_vserial_keygen_LDADD = $(VSFKEY_LIBS)
dist_man_MANS += keys/vserial-keygen.8

check_PROGRAMS += keys/key_test
keys_key_test_LDADD = $(VSFKEY_LIBS)
TESTS += keys/key_test keys/keygen_test.sh
EXTRA_DIST += keys/keygen_test.sh keys/README.md
