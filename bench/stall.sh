#!/bin/bash
# stall.sh - benchmark 3: one guest stops reading its channel.
#
# A test:/// node with N running domains g<i> (channels held by chanpeer)
# and 100 more without channels, so that a host list is ~13 KB.  Channel 0
# is the staller: it sends 200 host-list requests and never reads, so the
# daemon's replies fill the socket and its writes would block.  Then, for
# ROUNDS rounds, the other N-1 guests each send one status request at once.
# The same is run without the staller (channel 0 silent); latencies are of
# channels 1..N-1 in both runs.  Rows: each daemon stalled and not, with
# p50/p99 and the ratio stalled / unstalled (the goal for ours: within
# 10 %).  A daemon that blocks on the staller answers nothing: the rounds
# end at the deadline (20 s; BENCH_QUICK: 5 s) and the row says answered 0.
#
# N = 50, ROUNDS = 20 (BENCH_QUICK: N = 10, ROUNDS = 2).
set -u
. "$(dirname "$0")/lib.sh"
bench_setup stall "$FENCED" "$FENCE_VIRTD" "$BENCH_BIN/chanpeer"
N=${BENCH_STALL_N:-50}
ROUNDS=${BENCH_STALL_ROUNDS:-20}
WAIT=20
if bench_quick; then
	N=10
	ROUNDS=2
	WAIT=5
fi
DAEMONS=${BENCH_STALL_DAEMONS:-ours stock}
vsf_key "$T/key"
extra=()
for i in $(seq 0 99); do extra+=("x$i"); done
bench_node_xml "$T/node.xml" g "$N" "$T/sock" "${extra[@]}"
bench_conf "$T/conf" "test://$T/node.xml" "$T/sock" "$T/key"

echo -e "daemon\tstalled\tguests\trounds\tsent\tanswered\tp50_ms\tp99_ms\tp50_vs_unstalled\tp99_vs_unstalled\tbacklog_bytes" >"$T/stall.tsv"

# run_case DAEMON STALLED: sets R=(sent answered p50_ms p99_ms backlog).
run_case() {
	local d=$1 tag=$1-$2 ppid dpid q sent answered backlog quiet=-Q
	[ "$2" = 1 ] && quiet=
	rm -f "$T/sock"/*.sock
	vsf_bg "peer-$tag" "$BENCH_BIN/chanpeer" -w -s 1 $quiet -H 200 \
		-r "$ROUNDS" -c 30 -R "$WAIT" -t $((40 + WAIT)) \
		-o "$T/lat-$tag.tsv" \
		"$T/sock" "$N"
	ppid=$VSF_PID
	vsf_wait_line "$T/peer-$tag.log" "^listening" 30 || return 1
	if [ "$d" = ours ]; then
		vsf_bg "d-$tag" "$FENCED" -F -f "$T/conf"
	else
		vsf_bg "d-$tag" stdbuf -oL -eL "$FENCE_VIRTD" -F -d 1 \
			-f "$T/conf" -p "$T/fv.pid"
	fi
	dpid=$VSF_PID
	vsf_wait_line "$T/peer-$tag.log" "^connected" 35 || return 1
	sleep 0.5	# the daemon has connected: let its start-up settle
	kill -USR1 "$ppid"
	vsf_wait_exit "$ppid" $((50 + WAIT))
	vsf_stop "$dpid"
	sent=$(sed -n 's/^round [0-9]* answered [0-9]* of \([0-9]*\)/\1/p' "$T/peer-$tag.log" | head -1)
	sent=$(( ${sent:-0} * ROUNDS ))
	answered=$(awk -F'\t' '$2 != 0' "$T/lat-$tag.tsv" | wc -l)
	backlog=$(sed -n 's/^stalled backlog \([0-9]*\).*/\1/p' "$T/peer-$tag.log")
	awk -F'\t' '$2 != 0' "$T/lat-$tag.tsv" >"$T/lat-$tag.others"
	q=$(python3 "$bench_src/stats.py" quant "$T/lat-$tag.others" 2)
	R=($sent $answered $(echo "$q" | awk '{ if ($1 == 0) print "NaN NaN"; else printf "%.2f %.2f", $2 / 1000, $3 / 1000 }') ${backlog:-0})
}

for d in $DAEMONS; do
	run_case "$d" 0
	s0=${R[0]} a0=${R[1]} p50u=${R[2]} p99u=${R[3]}
	run_case "$d" 1
	s1=${R[0]} a1=${R[1]} p50s=${R[2]} p99s=${R[3]} bl=${R[4]}
	# Unstalled, channel 0 sits out the rounds as it does stalled.
	echo -e "$d\t0\t$((N - 1))\t$ROUNDS\t$s0\t$a0\t$p50u\t$p99u\t1.0\t1.0\t0" >>"$T/stall.tsv"
	echo -e "$d\t1\t$((N - 1))\t$ROUNDS\t$s1\t$a1\t$p50s\t$p99s\t$(awk -v a="$p50s" -v b="$p50u" 'BEGIN { if (a == "NaN" || b == "NaN" || b <= 0) print "NaN"; else printf "%.3f", a / b }')\t$(awk -v a="$p99s" -v b="$p99u" 'BEGIN { if (a == "NaN" || b == "NaN" || b <= 0) print "NaN"; else printf "%.3f", a / b }')\t$bl" >>"$T/stall.tsv"
done
cp "$T/stall.tsv" "$BENCH_RESULTS/stall.tsv"
bench_table stall "$T/stall.tsv"
echo "# machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
