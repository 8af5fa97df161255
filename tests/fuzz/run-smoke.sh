#!/bin/bash
# tests/fuzz/run-smoke.sh - run every libFuzzer target for a short, bounded
# time from its committed seed corpus; fail on any crash, leak, sanitizer
# report or broken FUZZ_ASSERT.
#
# Environment: FUZZ_SMOKE_SECONDS (default 3) per target; FUZZ_BINDIR
# (default ./tests/fuzz, as make check runs from the top build directory).
# New inputs go to a temp dir, never into the committed corpus.
# Prints one line per target (runs, exec/s) and "N passed, N failed".
set -u
src=$(cd "$(dirname "$0")" && pwd)
bindir=${FUZZ_BINDIR:-$PWD/tests/fuzz}
secs=${FUZZ_SMOKE_SECONDS:-3}
passed=0
failed=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsf-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

targets=()
for f in "$src"/fuzz_*.c; do
	t=${f##*/fuzz_}
	targets+=("${t%.c}")
done

# Without clang nothing was built; with clang (CI) a missing binary fails.
if ! ls "$bindir"/fuzz_* >/dev/null 2>&1 && ! command -v clang >/dev/null; then
	echo "SKIP: no fuzz targets built and no clang (run tools/install-deps)"
	echo "0 passed, 0 failed"
	exit 77
fi

for t in "${targets[@]}"; do
	bin=$bindir/fuzz_$t
	log=$tmp/$t.log
	if [ ! -x "$bin" ]; then
		echo "FAIL: $t: $bin not built (make check builds it with clang)"
		failed=$((failed + 1))
		continue
	fi
	if [ ! -d "$src/corpus/$t" ]; then
		echo "FAIL: $t: no seed corpus in $src/corpus/$t"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$tmp/$t"
	# The outer timeout only guards against a hang outside libFuzzer's
	# own clock (-max_total_time); -timeout catches a slow single input.
	timeout $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$tmp/$t-" "$tmp/$t" "$src/corpus/$t" \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ "$rc" -eq 0 ] && ! ls "$tmp/$t"-* >/dev/null 2>&1; then
		echo "fuzz_$t: ${runs:-?} runs, ${speed:-?} exec/s in ${secs}s"
		passed=$((passed + 1))
	else
		echo "FAIL: fuzz_$t exited $rc; last lines of its output:"
		tail -n 40 "$log"
		for a in "$tmp/$t"-*; do
			[ -f "$a" ] || continue
			echo "reproducer ($(basename "$a")), hex:"
			od -An -tx1 "$a" | head -n 20
		done
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
