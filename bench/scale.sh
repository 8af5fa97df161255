#!/bin/bash
# scale.sh - benchmark 2: one daemon serving N guest channels.
#
# For each daemon (ours, stock) and each N: a test:/// node with N running
# domains g<i>, each with a <channel> socket that chanpeer holds (QEMU's
# side, listen mode).  Measured:
#   startup_ms    daemon exec -> the daemon connected to the last channel
#   rss_kb        the daemon's resident memory once idle; per_chan_kb =
#                 (rss_kb - rss_kb with one channel) / N
#   idle_cpu_pct  its CPU time over IDLE seconds with every channel open
#                 and silent (60 s; BENCH_QUICK: 2 s)
#   p50/p99_ms    all N guests send one v1 status request at the same time;
#                 each reply's latency from its own send
# The stock daemon runs at the same N while it can; where it stops (it
# watches its channels with select(), at most FD_SETSIZE = 1024
# descriptors) is what the row shows: connected < n, answered < n, or
# alive = 0.
#
# Once stock has failed to answer everything at some N it is not run at
# larger N (the table says so).
# BENCH_SCALE_N (default "100 1000 1100"; 10000 too with BENCH_SCALE_BIG=1,
# run once: it takes minutes), BENCH_SCALE_DAEMONS (default "ours stock").
set -u
. "$(dirname "$0")/lib.sh"
bench_setup scale "$FENCED" "$FENCE_VIRTD" "$BENCH_BIN/chanpeer"
IDLE=${BENCH_IDLE:-60}
NS=${BENCH_SCALE_N:-100 1000 1100}
[ "${BENCH_SCALE_BIG:-0}" = 1 ] && NS="$NS 10000"
if bench_quick; then
	IDLE=2
	NS=20
fi
DAEMONS=${BENCH_SCALE_DAEMONS:-ours stock}
HZ=$(getconf CLK_TCK)
# The peer and both daemons need a descriptor per channel.
ulimit -n "$(ulimit -Hn)"

echo -e "daemon\tn\tconnected\tstartup_ms\trss_kb\tper_chan_kb\tidle_cpu_pct\tanswered\tp50_ms\tp99_ms\talive" >"$T/scale.tsv"

# start_daemon WHICH CONF: sets DPID.
start_daemon() {
	if [ "$1" = ours ]; then
		vsf_bg "d-$N" "$FENCED" -F -f "$2"
	else
		vsf_bg "d-$N" stdbuf -oL -eL "$FENCE_VIRTD" -F -d 1 -f "$2" \
			-p "$T/fv-$N.pid"
	fi
	DPID=$VSF_PID
}

# run_case DAEMON N IDLE: one row of the table.
run_case() {
	local d=$1 dir=$T/s-$1-$2 t0 line conn last startup rss c0 c1 cpu
	local q answered p50 p99 alive budget per base IDLE=$3
	N=$2
	mkdir -p "$dir"
	bench_node_xml "$dir/node.xml" g "$N" "$dir"
	bench_conf "$dir/conf" "test://$dir/node.xml" "$dir" "$T/key"
	# Connecting: 30 s plus 30 ms a channel; the burst: 30 s plus 20 ms
	# a channel; the whole run: those plus the idle time.
	budget=$((30 + N * 3 / 100))
	vsf_bg "peer-$d-$N" "$BENCH_BIN/chanpeer" -w -r 1 -c "$budget" \
		-t $((budget + IDLE + 32 + N / 50)) -o "$dir/lat.tsv" "$dir" "$N"
	local ppid=$VSF_PID
	vsf_wait_line "$T/peer-$d-$N.log" "^listening" 60 ||
		{ echo "chanpeer did not listen"; return 1; }
	t0=$(date +%s%N)
	start_daemon "$d" "$dir/conf"
	vsf_wait_line "$T/peer-$d-$N.log" "^connected" $((budget + 5))
	line=$(grep "^connected" "$T/peer-$d-$N.log")
	conn=$(echo "$line" | cut -d' ' -f2)
	last=$(echo "$line" | cut -d' ' -f3)
	startup=NaN
	[ "${conn:-0}" -gt 0 ] && startup=$(( (last - t0) / 1000000 ))
	sleep 1		# let the start-up work drain before measuring idle
	rss=$(bench_rss_kb "$DPID")
	c0=$(bench_cpu_ticks "$DPID")
	sleep "$IDLE"
	c1=$(bench_cpu_ticks "$DPID")
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v s="$IDLE" \
		'BEGIN { printf "%.3f", (b - a) / hz / s * 100 }')
	kill -USR1 "$ppid"
	vsf_wait_exit "$ppid" $((budget + IDLE + 40 + N / 50))
	answered=$(sed -n 's/^round 0 answered \([0-9]*\) of.*/\1/p' "$T/peer-$d-$N.log")
	q=$(python3 "$bench_src/stats.py" quant "$dir/lat.tsv" 2)
	p50=$(echo "$q" | awk '{ printf "%.2f", $2 / 1000 }')
	p99=$(echo "$q" | awk '{ printf "%.2f", $3 / 1000 }')
	alive=0
	kill -0 "$DPID" 2>/dev/null && alive=1
	[ "$alive" = 0 ] && { echo "# $d at N=$N died; its last words:"; tail -n 3 "$T/d-$N.log"; }
	vsf_stop "$DPID"
	base=BASE_RSS_$d
	[ "$N" = 1 ] && eval "$base=$rss"
	per=$(awk -v r="$rss" -v b="${!base:-0}" -v n="$N" \
		'BEGIN { if (r + 0 == 0) print "NaN"; else printf "%.2f", (r - b) / n }')
	[ "${rss:-0}" = 0 ] && rss=NaN	# it died before it could be measured
	echo -e "$d\t$N\t${conn:-0}\t$startup\t$rss\t$per\t$cpu\t${answered:-0}\t$p50\t$p99\t$alive" >>"$T/scale.tsv"
	rm -rf "$dir"
}

vsf_key "$T/key"
for d in $DAEMONS; do
	run_case "$d" 1 1	# the baseline for memory per channel
done
stopped=""
for n in $NS; do
	for d in $DAEMONS; do
		if [[ " $stopped " == *" $d "* ]]; then
			echo "# $d not run at N=$n: it stopped answering at a smaller N"
			continue
		fi
		run_case "$d" "$n" "$IDLE"
		tail -n 1 "$T/scale.tsv" | awk -F'\t' '{ exit !($8 < $2) }' &&
			stopped="$stopped $d"
	done
done
cp "$T/scale.tsv" "$BENCH_RESULTS/scale.tsv"
bench_table scale "$T/scale.tsv"
echo "# idle ${IDLE}s; machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
