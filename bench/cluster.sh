#!/bin/bash
# cluster.sh - benchmark 5: the daemon's cpg backend on three corosync hosts
# (tests/cluster/cpg_rig.sh: one network namespace per host, nothing in the
# root namespace), each running tests/cluster/backend_node (our
# fenced-host/backend_cpg.c over the fake local backend: power() from a
# worker thread, as the request pipeline calls it).  Domain vm1 lives on
# host 3; host 1 asks.  Measured:
#   off, status   request at host 1 -> answer from owner host 3 acting on
#                 its local backend (p50/p99 of K requests, backend_node's
#                 own millisecond clock)
#   crash->off    host 3's corosync SIGKILLed -> host 1 first reports vm1
#                 off (token loss + the backend's quorate grace, GRACE ms)
# Not compared with stock: stock's cpg backend needs libvirt on each host
# and a listener per namespace; not built here (see bench/README.md).
#
# K = 100 (BENCH_QUICK: 5), GRACE = 3000 ms (as tests/cluster uses),
# corosync token 500 ms (the rig's default).
set -u
. "$(dirname "$0")/lib.sh"
bench_setup cluster corosync ip
bin=${BACKEND_NODE:-$PWD/tests/cluster/backend_node}
K=${BENCH_CLUSTER_K:-100}
bench_quick && K=5
GRACE=3000
[ "$(id -u)" -eq 0 ] && command -v corosync >/dev/null && [ -x "$bin" ] ||
	{ echo "needs root, corosync and $bin (make check builds it)"; exit 1; }
. "$bench_src/../tests/cluster/cpg_rig.sh"

declare -a NODE_PID=() NODE_FD=()
bench_cluster_cleanup() {
	for i in 1 2 3; do
		[ -n "${NODE_PID[$i]:-}" ] && kill "${NODE_PID[$i]}" 2>/dev/null
	done
	rig_down
	vsf_cleanup
}
trap bench_cluster_cleanup EXIT

log() { echo "$T/bnode$1.log"; }
node_start() {
	mkfifo "$T/bnode$1.in"
	exec {fd}<>"$T/bnode$1.in"
	NODE_FD[$1]=$fd
	ip netns exec "$(rig_ns "$1")" "$bin" "$GRACE" <"$T/bnode$1.in" \
		>>"$(log "$1")" 2>&1 &
	NODE_PID[$1]=$!
}
say() { echo "$2" >&"${NODE_FD[$1]}"; }

# fence I TAG OP TARGET MS: prints "RESULT MS_TAKEN" or "none".
fence() {
	say "$1" "fence $2 $3 $4 $5"
	vsf_wait_line "$(log "$1")" "^result $2 " $(($5 / 1000 + 5)) ||
		{ echo none; return; }
	grep -E "^result $2 " "$(log "$1")" | tail -1 | cut -d' ' -f3-
}

ready() {
	local end=$((SECONDS + 30)) k=0
	while [ $SECONDS -lt $end ]; do
		k=$((k + 1))
		case "$(fence "$1" "ready$1-$k" off nosuch 2000)" in
		ENOENT*) return 0 ;;
		esac
		sleep 0.2
	done
	return 1
}

rig_up || { echo "cluster rig did not come up"; exit 1; }
for i in 1 2 3; do node_start "$i"; done
for i in 1 2 3; do ready "$i" || { echo "host $i not answering"; exit 1; }; done
say 3 "add vm1 11111111-0000-4000-8000-0000000000b1"
vsf_wait_line "$(log 3)" "^added vm1 0" 5 || { echo "vm1 not added"; exit 1; }

echo -e "metric\tn\tok\tp50_ms\tp99_ms\tmax_ms" >"$T/cluster.tsv"
for op in off status; do
	: >"$T/$op.ms"
	ok=0
	for k in $(seq "$K"); do
		r=$(fence 1 "$op$k" "$op" vm1 5000)
		case ${r%% *} in ok|off) ok=$((ok + 1)); echo "${r#* }" >>"$T/$op.ms" ;; esac
	done
	read -r n p50 p99 _ mx < <(python3 "$bench_src/stats.py" quant "$T/$op.ms" 0)
	echo -e "$op host1->owner host3\t$K\t$ok\t$p50\t$p99\t$mx" >>"$T/cluster.tsv"
done

# Crash: from SIGKILL of host 3's corosync to host 1 reporting vm1 off.
t0=$(date +%s%N)
rig_kill 3
got=NaN
for k in $(seq 600); do	# 100 ms apart at most: a minute
	r=$(fence 1 "crash$k" status vm1 2000)
	if [ "${r%% *}" = off ]; then
		got=$(( ($(date +%s%N) - t0) / 1000000 ))
		break
	fi
	sleep 0.1
done
echo -e "crash->off (grace ${GRACE} ms, token ${RIG_TOKEN} ms)\t1\t$([ "$got" = NaN ] && echo 0 || echo 1)\t$got\t$got\t$got" >>"$T/cluster.tsv"
for i in 1 2; do say "$i" quit; done
cp "$T/cluster.tsv" "$BENCH_RESULTS/cluster.tsv"
bench_table cluster "$T/cluster.tsv"
echo "# our cpg backend only (no stock peer); machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
