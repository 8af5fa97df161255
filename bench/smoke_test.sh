#!/bin/bash
# smoke_test.sh - the benchmark harness works: run-all in its tiny mode
# (BENCH_QUICK=1: a few requests, small N, seconds of idle time) into a
# scratch results directory, then check that every benchmark wrote a
# well-formed result file with the rows it promises.  Not a performance
# test: figures are not judged, only that they were measured.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

out=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
export BENCH_QUICK=1 BENCH_RESULTS=$out
"$here/run-all" >"$out/run-all.log" 2>&1
rc=$?
[ $rc -eq 0 ] && ok || { bad "run-all exit $rc"; tail -n 40 "$out/run-all.log"; }

# check_result NAME PYTHON-CONDITION: the JSON loads, has rows, and the
# condition over `rows` holds.
check_result() {
	if python3 - "$out/$1.json" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rows = r["rows"]
assert r["benchmark"] and r["machine"]["cpus"] and rows, "empty result"
assert eval(sys.argv[2]), "condition failed: " + sys.argv[2]
EOF
	then ok; else bad "$1.json: $2"; fi
}

check_result rtt 'len(rows) == 10 and all(x["n_ok"] >= 1 for x in rows) and all(x["p50_ms"] > 0 for x in rows)'
check_result rtt 'all(x["failed"] == 0 for x in rows if x["config"] != "stock")'
for b in $(sed -n 's/^BENCHMARKS="\(.*\)"$/\1/p' "$here/run-all"); do
	[ "$b" = rtt ] && continue
	case $b in
	scale) check_result scale 'any(x["daemon"] == "ours" and x["answered"] == x["n"] for x in rows)' ;;
	stall) check_result stall 'any(x["daemon"] == "ours" and x["stalled"] == 1 and x["answered"] > 0 for x in rows)' ;;
	channel) check_result channel 'any(x["combo"] == "a" and x["median_MBps"] > 0 for x in rows)' ;;
	*) check_result "$b" 'True' ;;
	esac
done
[ "$fail" -eq 0 ] || [ $rc -ne 0 ] || tail -n 40 "$out/run-all.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
