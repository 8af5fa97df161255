# cluster/: the cpg backend's library: message codec, domain map, routing
# logic (pure, unit-tested with a fake clock and fake membership) and the
# thin libcpg/libquorum adapter.  tests/cluster/ runs it on real corosync.
noinst_LIBRARIES += cluster/libvsfcpg.a
cluster_libvsfcpg_a_CFLAGS = $(AM_CFLAGS) $(CPG_CFLAGS) $(QUORUM_CFLAGS)
cluster_libvsfcpg_a_SOURCES = \
	cluster/vsf_cpg_msg.c cluster/vsf_cpg_msg.h \
	cluster/vsf_cpg_map.c cluster/vsf_cpg_map.h \
	cluster/vsf_cpg_route.c cluster/vsf_cpg_route.h \
	cluster/vsf_cpg.c cluster/vsf_cpg.h

VSFCPG_LIBS = cluster/libvsfcpg.a $(CPG_LIBS) $(QUORUM_LIBS)

CLUSTER_UNIT_TESTS = cluster/msg_test cluster/map_test cluster/route_test
check_PROGRAMS += $(CLUSTER_UNIT_TESTS)
TESTS += $(CLUSTER_UNIT_TESTS)
cluster_msg_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
cluster_msg_test_LDADD = $(VSFCPG_LIBS)
cluster_map_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
cluster_map_test_LDADD = $(VSFCPG_LIBS)
cluster_route_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
cluster_route_test_LDADD = $(VSFCPG_LIBS)

# libFuzzer target tests/fuzz/fuzz_cpg_msg.c (rules in tests/fuzz/local.mk).
FUZZ_EXTRA_cpg_msg = -I$(top_srcdir)/cluster $(top_srcdir)/cluster/vsf_cpg_msg.c
tests/fuzz/fuzz_cpg_msg: $(top_srcdir)/cluster/vsf_cpg_msg.c \
	$(top_srcdir)/cluster/vsf_cpg_msg.h

# tests/cluster: three corosync nodes in network namespaces (cpg_rig.sh)
# and cpg_node, one test host per namespace built on this library.
check_PROGRAMS += tests/cluster/cpg_node
tests_cluster_cpg_node_SOURCES = tests/cluster/cpg_node.c
tests_cluster_cpg_node_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
tests_cluster_cpg_node_LDADD = $(VSFCPG_LIBS)
TESTS += tests/cluster/cpg_test.sh
EXTRA_DIST += tests/cluster/cpg_test.sh tests/cluster/cpg_rig.sh

# The daemon's "cpg" backend (fenced-host/backend_cpg.c, in libfenced.a):
# backend_node runs it over a fake local backend on the real rig.
check_PROGRAMS += tests/cluster/backend_node
tests_cluster_backend_node_SOURCES = tests/cluster/backend_node.c \
	fenced-host/fake_backend.c fenced-host/fake_backend.h
tests_cluster_backend_node_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster \
	-I$(top_srcdir)/fenced-host
tests_cluster_backend_node_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
tests_cluster_backend_node_LDADD = $(FENCED_LIBS)
TESTS += tests/cluster/backend_test.sh tests/cluster/libvirt_test.sh
EXTRA_DIST += tests/cluster/backend_test.sh tests/cluster/libvirt_test.sh

# vserial-fenced itself with backend = "cpg" on the same rig, a private
# libvirtd per host, our agent on a guest channel of host 1.
TESTS += tests/cluster/daemon_test.sh
EXTRA_DIST += tests/cluster/daemon_test.sh

# A real guest (VM rig initramfs, our agent) fences a domain on host 3 while
# it is live-migrated from host 1 to host 2 (a UTS namespace per libvirtd).
TESTS += tests/cluster/guest_migrate_test.sh
EXTRA_DIST += tests/cluster/guest_migrate_test.sh
