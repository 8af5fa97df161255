# bench/: benchmarks against the stock fence-virt peers (issue 9).  Only the
# harness's smoke test is in TESTS; `bench/run-all` runs the real thing.
noinst_PROGRAMS += bench/chanpeer bench/spawnlat
bench_chanpeer_SOURCES = bench/chanpeer.c
bench_chanpeer_LDADD = $(VSFPROTO_LIBS)
bench_spawnlat_SOURCES = bench/spawnlat.c

TESTS += bench/smoke_test.sh
CLEANFILES += bench/results/*.json bench/results/*.tsv
EXTRA_DIST += bench/README.md bench/run-all bench/lib.sh bench/stats.py \
	bench/rtt.sh bench/scale.sh bench/stall.sh bench/channel.sh \
	bench/channel_boot.sh \
	bench/cluster.sh bench/smoke_test.sh
