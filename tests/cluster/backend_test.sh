#!/bin/bash
# tests/cluster/backend_test.sh - the daemon's "cpg" backend glue
# (fenced-host/backend_cpg.c) on three real corosync hosts (cpg_rig.sh):
# power() called from worker threads is routed to the owner host, blocks
# only until its deadline, fails cleanly while the local corosync is away
# and works again after it restarts.  The local backend is the fake one.
# Prints "N passed, N failed"; exit 0/1, 77 if not root or no corosync.
set -u
src=$(cd "$(dirname "$0")" && pwd)
bin=${BACKEND_NODE:-$PWD/tests/cluster/backend_node}

. "$src/cpg_rig.sh"
rig_require "$bin" corosync ip

declare -a NODE_PID=() NODE_FD=()
trap rig_nodes_cleanup EXIT
trap "exit 1" TERM INT HUP

U1=11111111-0000-4000-8000-0000000000b1
U2=22222222-0000-4000-8000-0000000000b2

log() { echo "$RIG_DIR/bnode$1.log"; }

node_start() {
	local i=$1 fifo=$RIG_DIR/bnode$1.in fd
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	NODE_FD[$i]=$fd
	ip netns exec "$(rig_ns "$i")" "$bin" 3000 <"$fifo" >>"$(log "$i")" 2>&1 &
	NODE_PID[$i]=$!
}

# fence I TAG OP TARGET MS: "RESULT MS_TAKEN"
fence() {
	say "$1" "fence $2 $3 $4 $5"
	wait_line "$1" "^result $2 " $(($5 / 1000 + 5)) || { echo none; return; }
	grep -E "^result $2 " "$(log "$1")" | tail -1 | cut -d' ' -f3-
}

# ready I: requests from host I get a full answer (joined, all replied,
# quorate): an unknown domain comes back ENOENT.
ready() {
	local i=$1 end=$((SECONDS + 20)) k=0
	while [ $SECONDS -lt $end ]; do
		k=$((k + 1))
		case "$(fence "$i" "ready$i-$SECONDS-$k" off nosuch 2000)" in
		ENOENT*) return 0 ;;
		esac
		sleep 0.2
	done
	return 1
}

t0=$SECONDS
rig_up || { bad "rig up"; finish; }
for i in 1 2 3; do node_start "$i"; done
for i in 1 2 3; do check "host $i: backend open and answering" ready "$i"; done
[ "$failed" -eq 0 ] || finish
echo "ready after $((SECONDS - t0)) s"

say 3 "add vm1 $U1"
say 2 "add vm2 $U2"
wait_line 3 "^added vm1 0" 5
r=$(fence 1 a1 off vm1 5000)
check "power(OFF) on host 1 reaches owner host 3 ($r)" eval '[ "${r%% *}" = ok ]'
say 3 "show vm1"
check "the owner's local backend acted once" wait_line 3 "^vm vm1 running=0 calls=1" 5
check "STATUS by UUID from host 2 is answered by the owner (off)" \
	eval '[ "$(fence 2 a2 status $U1 5000 | cut -d" " -f1)" = off ]'

check "member 2 frozen (SIGSTOP, every thread stopped)" rig_freeze "${NODE_PID[2]}"
r=$(fence 1 a3 off vm2 1500)
check "a member that never answers: power() returns ETIMEDOUT at its deadline ($r)" \
	eval '[ "${r%% *}" = ETIMEDOUT ] && [ "${r#* }" -ge 1400 ] && [ "${r#* }" -lt 2600 ]'
kill -CONT "${NODE_PID[2]}"

for k in 1 2 3 4 5; do say 1 "fence p$k off vm2 5000"; done
check "five concurrent power() calls from worker threads all answered" \
	eval 'for k in 1 2 3 4 5; do wait_line 1 "^result p$k ok" 8 || exit 1; done'

rig_kill 1
r=$(fence 1 d1 off vm2 5000)
check "local corosync killed: power() fails cleanly with EAGAIN ($r)" \
	eval '[ "${r%% *}" = EAGAIN ] && [ "${r#* }" -lt 1000 ]'
rig_start 1
check "local corosync back: the backend reconnects by itself" ready 1
check "and routes again" eval '[ "$(fence 1 d2 status vm2 5000 | cut -d" " -f1)" = off ]'

for i in 1 2 3; do say "$i" quit; done
for i in 1 2 3; do
	wait "${NODE_PID[$i]}" 2>/dev/null
	st=$?
	NODE_PID[$i]=
	check "host $i: backend closed cleanly (exit $st)" [ "$st" -eq 0 ]
done
echo "elapsed $((SECONDS - t0)) s"
finish
