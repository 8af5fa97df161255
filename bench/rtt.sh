#!/bin/bash
# rtt.sh - benchmark 1: fence round trip, agent start to agent exit.
#
# Two identical rigs side by side, each a libvirt test:/// node (its own
# file, so its own state) with one guest "gA"/"gB" whose <channel> socket
# is held by socat (QEMU's stand-in) and relayed to a pty, the guest's port:
#   rig A: our vserial-fenced        rig B: stock fence_virtd (serial
#          (vmchannel mode)                 listener, vmchannel mode)
# Configurations (status and reboot of domain "victim" on the same node):
#   ours-v2      fence_vserial -R 2 -> vserial-fenced (HMAC, challenge)
#   ours-v1      fence_vserial -R 1 -> vserial-fenced
#   stock        fence_virt         -> fence_virtd          (the baseline)
#   vserial>stockd  fence_vserial (auto) -> fence_virtd     (agent only)
#   virt>ours    fence_virt         -> vserial-fenced       (daemon only)
# spawnlat runs them interleaved, one of each per round, so the machine's
# background load falls on all alike.  Rounds: 200 (BENCH_QUICK: 3).
set -u
. "$(dirname "$0")/lib.sh"
bench_setup rtt "$FENCED" "$AGENT" "$FENCE_VIRT" "$FENCE_VIRTD" socat \
	"$BENCH_BIN/spawnlat"
ROUNDS=${BENCH_RTT_ROUNDS:-200}
bench_quick && ROUNDS=3

vsf_key "$T/key"
for r in A B; do
	mkdir -p "$T/sock$r"
	bench_node_xml "$T/node$r.xml" "g$r" 1 "$T/sock$r" victim
	bench_conf "$T/conf$r" "test://$T/node$r.xml" "$T/sock$r" "$T/key"
	vsf_bg "socat$r" socat -d -d PTY,link="$T/port$r",raw,echo=0 \
		UNIX-LISTEN:"$T/sock$r/g${r}0.sock"
	vsf_wait_line "$T/socat$r.log" "listening on" 10 ||
		{ echo "socat $r did not come up"; exit 1; }
done

vsf_bg ours stdbuf -oL -eL "$FENCED" -F -f "$T/confA"
vsf_wait_line "$T/socatA.log" "accepting connection" 10 ||
	{ echo "vserial-fenced did not connect"; cat "$T/ours.log"; exit 1; }
vsf_start_fence_virtd stock "$T/confB" "Registered|accepting" 10
vsf_wait_line "$T/socatB.log" "accepting connection" 10 ||
	{ echo "fence_virtd did not connect"; cat "$T/stock.log"; exit 1; }

# Agents give up after 10 s: a dropped request counts as a failure.
A="-t 10 -k $T/key -n victim"
{
	for op in status reboot; do
		echo "$op/ours-v2 0 $AGENT -D $T/portA -R 2 $A -o $op"
		echo "$op/ours-v1 0 $AGENT -D $T/portA -R 1 $A -o $op"
		echo "$op/stock 0 $FENCE_VIRT -D $T/portB -t 10 -n victim -o $op"
		echo "$op/vserial>stockd 0 $AGENT -D $T/portB $A -o $op"
		echo "$op/virt>ours 0 $FENCE_VIRT -D $T/portA -t 10 -n victim -o $op"
	done
} >"$T/spec"
"$BENCH_BIN/spawnlat" -n "$ROUNDS" -t 30 -o "$T/raw.tsv" "$T/spec" ||
	{ echo "spawnlat failed"; exit 1; }
cp "$T/raw.tsv" "$BENCH_RESULTS/rtt.raw.tsv"
python3 "$bench_src/stats.py" rtt "$T/raw.tsv" "$T/rtt.tsv" stock
bench_table rtt "$T/rtt.tsv"
echo "# $ROUNDS rounds; machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
