#!/bin/bash
# tests/cluster/cpg_test.sh - the cpg library on three real corosync hosts
# (cpg_rig.sh): map convergence, joiner sync, routing to the owner, the
# "not running only after every member answered" rule, crash (NODEDOWN)
# versus clean leave (PROCDOWN), and a local corosync restart.
# One cpg_node per host plays libvirt from a command pipe (cpg_node.c).
# Prints "N passed, N failed"; exit 0/1, 77 if not root or no corosync.
set -u
src=$(cd "$(dirname "$0")" && pwd)
bin=${CPG_NODE:-$PWD/tests/cluster/cpg_node}
GRACE=3000

. "$src/cpg_rig.sh"
rig_require "$bin" corosync ip

declare -a NODE_PID=() NODE_FD=()
trap rig_nodes_cleanup EXIT
trap "exit 1" TERM INT HUP

U1=11111111-0000-4000-8000-000000000001
U2=22222222-0000-4000-8000-000000000002
U3=33333333-0000-4000-8000-000000000003
U4=44444444-0000-4000-8000-000000000004
U5=55555555-0000-4000-8000-000000000005
U6=66666666-0000-4000-8000-000000000006
U7=77777777-0000-4000-8000-000000000007
U8=88888888-0000-4000-8000-000000000008

log() { echo "$RIG_DIR/node$1.log"; }

# node_start I: cpg_node in host I's namespace, commands through a FIFO.
node_start() {
	local i=$1 fifo=$RIG_DIR/node$1.in fd
	rm -f "$fifo"
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	NODE_FD[$i]=$fd
	ip netns exec "$(rig_ns "$i")" "$bin" -G $GRACE <"$fifo" >>"$(log "$i")" 2>&1 &
	NODE_PID[$i]=$!
}

node_quit() {
	local i=$1
	echo quit >&"${NODE_FD[$i]}"
	wait "${NODE_PID[$i]}" 2>/dev/null
	exec {NODE_FD[$i]}>&-
	NODE_PID[$i]=
}

# wait_count I ERE N SECS: host I's log has at least N lines matching ERE.
wait_count() {
	local f end=$((SECONDS + $4))
	f=$(log "$1")
	while [ "$(grep -cE "$2" "$f" 2>/dev/null)" -lt "$3" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}
wait_line() { wait_count "$1" "$2" 1 "$3"; }
count() { grep -cE "$2" "$(log "$1")" 2>/dev/null; }

# result I TAG: the result word of request TAG on host I (waits 8 s).
result() {
	wait_line "$1" "^result $2 " 8 || { echo none; return; }
	grep -E "^result $2 " "$(log "$1")" | tail -1 | cut -d' ' -f3
}

# fence I TAG OP TARGET [MS]: submit and print the result.
fence() {
	say "$1" "fence $2 $3 $4 ${5:-5000}"
	result "$1" "$2"
}

# map_has I PATTERN SECS: host I's map shows a line matching PATTERN
# ("OWNER NAME STATE"), polled until SECS pass.
map_has() {
	local i=$1 pat=$2 end=$((SECONDS + $3)) n f
	f=$(log "$i")
	while :; do
		n=$(grep -c '^map end' "$f")
		say "$i" map
		wait_count "$i" '^map end' $((n + 1)) 5 || return 1
		awk -v n="$n" '/^map end/ { k++; next } k == n && /^map / { print }' "$f" |
			grep -qE "^map $pat" && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}
map_lacks() { ! map_has "$1" "$2" 0; }

t0=$SECONDS
rig_up || { bad "rig up"; finish; }
for i in 1 2 3; do node_start "$i"; done
for i in 1 2 3; do
	check "host $i: group of 3 and quorate" \
		eval 'wait_line '$i' "^members 3" 15 && wait_line '$i' "^quorum 1" 5'
done
[ "$failed" -eq 0 ] || { for i in 1 2 3; do for f in "$(log $i)" "$RIG_DIR/n$i/stdout" "$RIG_DIR/n$i/corosync.log"; do echo "== $f"; tail -n 8 "$f"; done; done; finish; }
echo "cluster formed in $((SECONDS - t0)) s"

# --- map convergence after events on different hosts ----------------------
say 1 "start $U1 vmA"; say 2 "start $U2 vmB"; say 3 "start $U3 vmC"
ok_all=true
for i in 1 2 3; do
	map_has "$i" "1 vmA running" 5 && map_has "$i" "2 vmB running" 5 &&
		map_has "$i" "3 vmC running" 5 || ok_all=false
done
check "map converges after start on three hosts" $ok_all
# migrate vmA 1 -> 3: destination starts, source stops (libvirt's order)
say 3 "start $U1 vmA"; say 1 "stop $U1 vmA"; say 2 "stop $U2 vmB"
ok_all=true
for i in 1 2 3; do
	map_has "$i" "3 vmA running" 5 && map_has "$i" "1 vmA off" 5 &&
		map_has "$i" "2 vmB off" 5 || ok_all=false
done
check "map converges after migrate and stop" $ok_all

# --- routing --------------------------------------------------------------
check "fence from host 1 reaches owner host 3, reply matched" \
	eval '[ "$(fence 1 r1 off vmC)" = ok ] && grep -q "^exec off vmC" "$(log 3)"'
check "the owner's stop is broadcast" map_has 2 "3 vmC off" 5
check "migrated domain is fenced at its new host (by UUID)" \
	eval '[ "$(fence 2 r2 reboot $U1)" = ok ] && grep -q "^exec reboot $U1" "$(log 3)" && ! grep -q "^exec" "$(log 1)"'
check "status of a running domain on another host" \
	eval '[ "$(fence 1 r3 status vmA)" = ok ]'
check "known domain off everywhere: off = ok, status = off" \
	eval '[ "$(fence 1 r4 off vmB)" = ok ] && [ "$(fence 1 r5 status vmB)" = off ]'
check "domain nobody knows: ENOENT" eval '[ "$(fence 2 r6 off nosuch)" = ENOENT ]'

# --- a request racing a migration -----------------------------------------
say 1 "start $U8 vmR"
map_has 2 "1 vmR running" 5
say 1 "execdelay 1500"
say 2 "fence m1 off vmR"
wait_line 1 "^exec off vmR" 5
say 3 "start $U8 vmR"	# the migration lands on 3 while 1 is still acting
check "migration landing during a request: EAGAIN, not success" \
	eval '[ "$(result 2 m1)" = EAGAIN ]'
say 1 "execdelay 0"
check "the retry reaches the new host" \
	eval '[ "$(fence 2 m2 off vmR)" = ok ] && grep -q "^exec off vmR" "$(log 3)"'

# --- not running only after every member answered -------------------------
check "member 2 frozen (SIGSTOP, every thread stopped)" rig_freeze "${NODE_PID[2]}"
check "a silent member: unknown domain times out, never 'off'" \
	eval '[ "$(fence 1 r7 off vmB 1500)" = ETIMEDOUT ]'
kill -CONT "${NODE_PID[2]}"
check "member back: answered again" eval '[ "$(fence 1 r8 off vmB)" = ok ]'

# --- a joiner receives the full map --------------------------------------
node_quit 2
check "clean daemon exit seen as clean leave" wait_line 1 "^left 2 clean" 5
check "domain known only to the departed (clean) host: EAGAIN" \
	eval '[ "$(fence 1 r9 off vmB)" = EAGAIN ]'
node_start 2
check "rejoined daemon receives the full map" \
	eval 'map_has 2 "3 vmA running" 5 && map_has 2 "3 vmC off" 5 && map_has 2 "1 vmA off" 5'
say 2 "start $U4 vmD"
check "the joiner's own domain reaches the others" map_has 1 "2 vmD running" 5

# --- crash (NODEDOWN) of the owner mid-request ----------------------------
say 3 "start $U5 vmE"
map_has 1 "3 vmE running" 5
say 3 "execdelay 4000"
say 1 "fence c1 off vmA 8000"
wait_line 3 "^exec off vmA" 5
t=$SECONDS
rig_kill 3
check "owner's corosync SIGKILLed mid-request: requester gets EAGAIN" \
	eval '[ "$(result 1 c1)" = EAGAIN ]'
check "survivors saw NODEDOWN" eval 'grep -q "^left 3 crashed" "$(log 1)" && grep -q "^left 3 crashed" "$(log 2)"'
echo "NODEDOWN to EAGAIN: $((SECONDS - t)) s"
check "within grace, the lost host's domain is not reported off" \
	eval '[ "$(fence 2 c2 off vmA)" = EAGAIN ]'
check "host 3 during its corosync gap: request fails cleanly" \
	eval 'wait_line 3 "^down" 5 && [ "$(fence 3 c3 off vmD)" = EAGAIN ]'
sleep $((GRACE / 1000 + 1))	# the grace rule itself is time: nothing to wait on
check "after the quorate grace, the lost host's domain is off" \
	eval '[ "$(fence 1 c4 off vmA)" = ok ] && [ "$(fence 1 c5 status vmA)" = off ]'

# --- local corosync restart: reconnect and resync --------------------------
ups=$(count 3 "^up 3")
rig_start 3
check "host 3 reconnects after its corosync restarts" wait_count 3 "^up 3" $((ups + 1)) 15
check "its map comes back, with the action it finished during the gap" \
	eval 'map_has 1 "3 vmE running member" 8 && map_has 1 "3 vmA off member" 5'
say 3 "execdelay 0"
check "and requests reach it again" \
	eval '[ "$(fence 1 c6 off vmE)" = ok ] && map_has 2 "3 vmE off" 5'
check "host 3 resynced the others' domains" map_has 3 "2 vmD running" 5

# --- clean corosync stop (PROCDOWN): blocked until it returns --------------
ups=$(count 2 "^up 2")
rig_stop 2
check "SIGTERM of host 2's corosync seen as clean leave" wait_count 1 "^left 2 clean" 2 5
sleep $((GRACE / 1000 + 1))
check "past the grace, a clean leaver's domain is still EAGAIN" \
	eval '[ "$(fence 1 p1 off vmD)" = EAGAIN ]'
rig_start 2
check "host 2 back: its domain is fenced by it" \
	eval 'wait_count 2 "^up 2" $((ups + 1)) 15 && map_has 1 "2 vmD running member" 8 && [ "$(fence 1 p2 off vmD)" = ok ]'

# --- network partition: host 3 cut off (not crashed) ------------------------
say 3 "start $U6 vmF"; say 1 "start $U7 vmG"
map_has 1 "3 vmF running" 5 && map_has 3 "1 vmG running" 5
lost=$(count 1 "^left 3 crashed")
ip -n "$(rig_ns 3)" link set eth0 down
check "partition: the majority sees host 3 as NODEDOWN" wait_count 1 "^left 3 crashed" $((lost + 1)) 10
check "partition: host 3 alone loses quorum" wait_line 3 "^quorum 0" 10
check "minority never answers 'off' (owner unreachable)" \
	eval '[ "$(fence 3 q1 off vmG)" = EAGAIN ]'
check "majority within grace: EAGAIN for the cut-off host's domain" \
	eval '[ "$(fence 1 q2 off vmF)" = EAGAIN ]'
sleep $((GRACE / 1000 + 1))
check "minority past the grace: still EAGAIN (not quorate)" \
	eval '[ "$(fence 3 q3 off vmG)" = EAGAIN ]'
check "majority past the grace: off (correct only with host fencing)" \
	eval '[ "$(fence 1 q4 off vmF)" = ok ]'
members=$(count 1 "^members 3")
ip -n "$(rig_ns 3)" link set eth0 up
check "partition heals: host 3 is a member again" wait_count 1 "^members 3" $((members + 1)) 20
check "and its still-running guest is back in the map, then fenced by it" \
	eval 'map_has 1 "3 vmF running member" 8 && [ "$(fence 1 q5 off vmF)" = ok ] && grep -q "^exec off vmF" "$(log 3)"'

echo "elapsed $((SECONDS - t0)) s"
finish
