#!/bin/bash
# tests/cluster/libvirt_test.sh - the "cpg" backend with REAL libvirt: three
# corosync hosts (cpg_rig.sh), each with its own private libvirtd
# (tests/vm/libvirt_ns.sh) and a backend_node using the libvirt backend and
# libvirt's lifecycle events.  A TCG domain (no disk, sits in SeaBIOS) is
# fenced from another host, "moved" (started with the same UUID on a third
# host) and fenced there.
# Prints "N passed, N failed"; exit 0/1, 77 without root/corosync/libvirtd.
set -u
src=$(cd "$(dirname "$0")" && pwd)
bin=${BACKEND_NODE:-$PWD/tests/cluster/backend_node}

. "$src/cpg_rig.sh"
rig_require "$bin" corosync ip libvirtd virtlogd virsh qemu-system-x86_64 unshare

declare -a NODE_PID=() NODE_FD=()

cleanup() {
	for i in 1 2 3; do
		[ -n "${NODE_PID[$i]:-}" ] && kill "${NODE_PID[$i]}" 2>/dev/null
	done
	for i in 1 2 3; do lv_stop "$i"; done
	rig_down
}
trap cleanup EXIT
trap "exit 1" TERM INT HUP

log() { echo "$RIG_DIR/lnode$1.log"; }

node_start() {
	local i=$1 fifo=$RIG_DIR/lnode$1.in fd
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	NODE_FD[$i]=$fd
	ip netns exec "$(rig_ns "$i")" "$bin" 3000 "$(lv_uri "$i")" <"$fifo" >>"$(log "$i")" 2>&1 &
	NODE_PID[$i]=$!
}

# fence I OP TARGET: the result word (ok, off, EAGAIN...).  Runs in $(),
# so the tag cannot come from a shell counter.
fence() {
	local t=t$BASHPID$RANDOM
	say "$1" "fence $t $2 $3 5000"
	wait_line "$1" "^result $t " 10 || { echo none; return; }
	grep -E "^result $t " "$(log "$1")" | tail -1 | cut -d' ' -f3
}
# until_result SECS I OP TARGET WANT: retry until the answer is WANT
until_result() {
	local end=$((SECONDS + $1)) r
	while [ $SECONDS -lt $end ]; do
		r=$(fence "$2" "$3" "$4")
		[ "$r" = "$5" ] && return 0
		sleep 0.2
	done
	echo "last answer: $r"
	return 1
}

t0=$SECONDS
rig_up || { bad "rig up"; finish; }
for i in 1 2 3; do lv_start "$i" "$RIG_DIR/lv$i.log"; done
for i in 1 2 3; do check "host $i: private libvirtd answers" lv_wait "$i"; done
[ "$failed" -eq 0 ] || finish
for i in 1 2 3; do node_start "$i"; done
for i in 1 2 3; do
	check "host $i: cpg backend up (unknown domain: ENOENT)" \
		until_result 20 "$i" off nosuch ENOENT
done
[ "$failed" -eq 0 ] || finish
echo "ready after $((SECONDS - t0)) s"

UA=aaaaaaaa-0000-4000-8000-00000000c0a1
domain_xml lvA "$UA" >"$RIG_DIR/lvA.xml"
check "domain started on host 1" vsh 1 create "$RIG_DIR/lvA.xml"
check "host 2 learns it runs (libvirt event -> map): status ok" \
	until_result 5 2 status lvA ok
check "fence from host 2: host 1's libvirt destroys it" \
	eval '[ "$(fence 2 off lvA)" = ok ] && ! vsh 1 domstate lvA >/dev/null 2>&1'
check "and its stop reaches the map: status off" until_result 5 3 status lvA off

# "move" it: same UUID, started on host 3
check "domain started on host 3 (moved)" vsh 3 create "$RIG_DIR/lvA.xml"
check "host 1 sees it running at its new host" until_result 5 1 status $UA ok
check "fence from host 1 (by UUID) destroys it on host 3" \
	eval '[ "$(fence 1 off $UA)" = ok ] && ! vsh 3 domstate lvA >/dev/null 2>&1'
check "off everywhere afterwards" until_result 5 2 status lvA off

# a real live migration 1 -> 3 (TCG, no disk; QEMU's stream on the rig net)
UM=bbbbbbbb-0000-4000-8000-00000000c0b2
domain_xml lvM "$UM" >"$RIG_DIR/lvM.xml"
vsh 1 create "$RIG_DIR/lvM.xml" >/dev/null
check "migrating domain runs on host 1 (status from 2)" until_result 5 2 status lvM ok
t=$SECONDS
check "virsh migrate --live host 1 -> host 3" \
	eval 'vsh 1 migrate --live lvM "$(lv_uri 3)" --migrateuri tcp://$RIG_NET.3 >"$RIG_DIR/migrate.out" 2>&1'
echo "migration took $((SECONDS - t)) s: $(tr '\n' ' ' <"$RIG_DIR/migrate.out")"
check "libvirt: it runs on host 3 and is gone from host 1" \
	eval 'vsh 3 domstate lvM | grep -q running && ! vsh 1 domstate lvM >/dev/null 2>&1'
check "fence from host 2 reaches the new owner (its map followed the events)" \
	eval 'until_result 5 2 off lvM ok && ! vsh 3 domstate lvM >/dev/null 2>&1'

# a fence request racing a live migration 1 -> 3: whatever the interleaving,
# "ok" must mean the domain runs nowhere; EAGAIN is allowed, then a retry.
UR=cccccccc-0000-4000-8000-00000000c0c3
domain_xml lvR "$UR" >"$RIG_DIR/lvR.xml"
vsh 1 create "$RIG_DIR/lvR.xml" >/dev/null
until_result 5 2 status lvR ok >/dev/null
vsh 1 migrate --live lvR "$(lv_uri 3)" --migrateuri tcp://$RIG_NET.3 \
	>"$RIG_DIR/migrate2.out" 2>&1 &
mig=$!
sleep 0.3	# inside the migration window (it takes about 2 s here)
r=$(fence 2 off lvR)
wait $mig
runs() { vsh 1 domstate lvR 2>/dev/null | grep -q running || vsh 3 domstate lvR 2>/dev/null | grep -q running; }
echo "racing fence answered: $r; migration: $(tr '\n' ' ' <"$RIG_DIR/migrate2.out")"
check "fence racing a migration: ok means it runs nowhere, else EAGAIN ($r)" \
	eval '{ [ "$r" = ok ] && ! runs; } || [ "$r" = EAGAIN ]'
check "after the race, a retry leaves it running nowhere" \
	eval 'until_result 10 2 off lvR ok && ! runs'

echo "elapsed $((SECONDS - t0)) s"
finish
