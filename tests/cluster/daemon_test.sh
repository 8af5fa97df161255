#!/bin/bash
# tests/cluster/daemon_test.sh - vserial-fenced with backend = "cpg", end to
# end: three corosync hosts (cpg_rig.sh), each with its own private libvirtd
# (tests/vm/libvirt_ns.sh) and its own vserial-fenced.  The requesting
# guest sits on host 1: its channel socket is bound by socat (standing in
# for QEMU, listed in a libvirt test-driver node file), and our agent
# fence_vserial (protocol v2, and the stock fence_virt for v1) talks to the
# daemon through socat's pty.  The targets are disk-less TCG domains on
# hosts 2 and 3.  Covered: a fence for a domain on host 3 is executed by
# host 3's libvirt and answered on host 1; status is "off" only when no
# host runs it; after a live migration 3 -> 2 the request reaches host 2;
# host 3's corosync SIGKILLed while its libvirt is destroying the target
# gives the agent a failure, not success, and status stays unknown (not
# "off") until host 3 rejoins.
# FENCED_WRAP (e.g. "valgrind -q --leak-check=full") runs each daemon
# under a wrapper.
# Prints "N passed, N failed"; exit 0/1, 77 without root or the programs.
set -u
src=$(cd "$(dirname "$0")" && pwd)
. "$src/../interop/lib.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
AGENT=${AGENT:-$PWD/fence-agent/fence_vserial}

[ "$(id -u)" -eq 0 ] || vsf_skip "needs root (network namespaces)"
vsf_require_prog corosync ip libvirtd virtlogd virsh qemu-system-x86_64 \
	unshare socat stdbuf "$FENCE_VIRT"
for p in "$FENCED" "$AGENT"; do
	[ -x "$p" ] || { echo "FAIL: $p not built"; echo "0 passed, 1 failed"; exit 1; }
done

vsf_setup
T=$VSF_TMP
. "$src/cpg_rig.sh"

declare -a DAEMON=()
FROZEN=		# a QEMU we SIGSTOPped, to be killed if the test stops early

cleanup() {
	[ -n "$FROZEN" ] && kill -KILL "$FROZEN" 2>/dev/null
	vsf_cleanup		# daemons, relay, agents (by PID); removes $T
	for i in 1 2 3; do lv_stop "$i"; done
	rig_down
}
trap cleanup EXIT

# ---- the requesting guest's channel: QEMU's socket bound by socat, whose
# pty is the guest's serial port.  socat ends when the agent closes the
# pty; bring it back and wait for the daemon to reconnect.
start_relay() {
	rm -f "$T/sock/g1.sock"
	vsf_bg relay socat PTY,link="$T/tty",raw,echo=0 \
		UNIX-LISTEN:"$T/sock/g1.sock"
	RELAY=$VSF_PID
	for _ in $(seq 100); do [ -S "$T/sock/g1.sock" ] && break; sleep 0.05; done
}
g1_conns() { grep -c "channel g1 .*connected" "$T/d1.log" 2>/dev/null; }
relay_back() {
	local n
	kill -0 "$RELAY" 2>/dev/null && return 0
	wait "$RELAY" 2>/dev/null
	n=$(g1_conns)
	start_relay
	for _ in $(seq 200); do
		[ "$(g1_conns)" -gt "$n" ] && return 0
		sleep 0.05
	done
	echo "daemon 1 did not reconnect to g1"
}

# ag NAME ARGS...: our agent (v2, key) on the guest's port; rc in RC
ag() {
	local name=$1
	shift
	timeout 40 "$AGENT" -D "$T/tty" -R 2 -t 30 -k "$T/key" "$@" \
		>"$T/$name.out" 2>&1
	RC=$?
	relay_back
}
# until_rc SECS WANT ARGS...: repeat the agent call until it exits WANT
until_rc() {
	local end=$((SECONDS + $1)) want=$2 n=0
	shift 2
	while :; do
		ag try$((n++)) "$@"
		[ "$RC" = "$want" ] && return 0
		[ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	echo "last answer: rc $RC: $(cat "$T/try$((n - 1)).out")"
	return 1
}
runs_on() { vsh "$1" domstate "$2" 2>/dev/null | grep -q running; }
check() { local what=$1; shift; if "$@"; then vsf_pass "$what"; else vsf_fail "$what"; fi; }

t0=$SECONDS
mkdir -p "$T/sock" "$T/sock2" "$T/sock3"
vsf_key "$T/key"
rig_up || { vsf_fail "rig up"; vsf_finish; }
# host 1 first: hosts 2 and 3 reuse its QEMU capability cache (lv_seed)
lv_start 1 "$T/libvirt1.log"
check "host 1: private libvirtd answers" lv_wait 1
for i in 2 3; do lv_seed "$i" 1; lv_start "$i" "$T/libvirt$i.log"; done
for i in 2 3; do check "host $i: private libvirtd answers" lv_wait "$i"; done
[ "$VSF_FAILED" -eq 0 ] || vsf_finish

# host 1 hears its guest on a test-driver "domain" g1; hosts 2 and 3 watch
# their real libvirt for channels (there are none).  All act through cpg.
G1=6695eb01-f6a4-8304-79aa-97f2502e1d01
vsf_node_xml "$T/guests.xml" "g1:$G1:serial=$T/sock/g1.sock"
for i in 1 2 3; do
	lu=$(lv_uri "$i")
	sockdir=$T/sock$i
	if [ "$i" = 1 ]; then lu=test://$T/guests.xml; sockdir=$T/sock; fi
	cat >"$T/h$i.conf" <<EOC
fence_virtd { listener = "serial"; backend = "cpg"; }
listeners { serial { uri = "$lu"; path = "$sockdir"; key_file = "$T/key"; } }
backends { cpg { uri = "$(lv_uri "$i")"; name_mode = "name"; } }
vserial_fenced { timeout = "20"; }
EOC
done
"$FENCED" --check-config -f "$T/h1.conf" >"$T/check.out" 2>&1
vsf_check "--check-config accepts backend cpg" 0 $?
vsf_check_grep "--check-config shows it" "$T/check.out" 'backend = "cpg";'
vsf_check_grep "--check-config shows the cpg defaults" "$T/check.out" \
	'^# backend cpg: CPG group "vserial-fence-1" \(default\), grace_ms 0 \(default\)'
# A second libvirt URI is refused: the map is this host's domains, and
# host fencing kills only those (docs/cluster.md).  Lifecycle events are
# followed on uri only, so uri1's domains would read "off" everywhere.
sed 's|name_mode = "name";|& uri1 = "qemu+ssh://elsewhere/system";|' \
	"$T/h1.conf" >"$T/two.conf"
"$FENCED" --check-config -f "$T/two.conf" >"$T/two.out" 2>&1
vsf_check "--check-config refuses backend cpg with a second URI" 1 $?
vsf_check_grep "and says why, at the line" "$T/two.out" \
	'two.conf:3: backends/cpg: uri1 = "qemu\+ssh://elsewhere/system": the cpg backend takes one libvirt URI'
timeout 20 "$FENCED" -F -f "$T/two.conf" >"$T/two.run" 2>&1
vsf_check "the daemon refuses to start with it" 1 $?

# targets before the daemons start: their first libvirt scan reports them
UC=cccccccc-0000-4000-8000-0000000000c3
UB=bbbbbbbb-0000-4000-8000-0000000000b2
domain_xml lvC "$UC" >"$T/lvC.xml"
domain_xml lvB "$UB" >"$T/lvB.xml"
check "lvC started on host 3" vsh 3 create "$T/lvC.xml"
check "lvB started on host 2" vsh 2 create "$T/lvB.xml"

start_relay
for i in 1 2 3; do
	# shellcheck disable=SC2086
	vsf_bg d$i ip netns exec "$(rig_ns "$i")" stdbuf -oL -eL \
		${FENCED_WRAP:-} "$FENCED" -F -d 1 -f "$T/h$i.conf"
	DAEMON[$i]=$VSF_PID
done
vsf_wait_line "$T/d1.log" "channel g1 .*connected" 15 "${DAEMON[1]}" ||
	vsf_fail "daemon 1 never connected to its guest's channel"

# ---- a domain on host 3, fenced from the guest on host 1
check "status lvC from host 1: on (host 3 runs it)" until_rc 30 0 -o status -n lvC
check "status lvB from host 1: on (host 2 runs it)" until_rc 10 0 -o status -n lvB
echo "daemons ready after $((SECONDS - t0)) s"
timeout 20 "$FENCE_VIRT" -D "$T/tty" -t 10 -o status -n lvB >"$T/fv.out" 2>&1
vsf_check "stock fence_virt (v1) status lvB through the cluster: on" 0 $?
relay_back
ag nosuch -o status -n nosuch
vsf_check "v2 status of a domain no host knows: unknown (4)" 4 "$RC"
timeout 20 "$FENCE_VIRT" -D "$T/tty" -t 10 -o status -n nosuch >"$T/fv2.out" 2>&1
vsf_check "v1 status of a domain no host knows: off (2), as stock" 2 $?
relay_back
ag offC -o off -n lvC
vsf_check "off lvC from host 1: success" 0 "$RC"
check "host 3's libvirt destroyed lvC" eval '! runs_on 3 lvC'
vsf_check_grep "daemon 1 logs the fence" "$T/d1.log" \
	"notice: request #[0-9]+ from channel g1 .*: off lvC -> ok \([0-9]+ ms\)"
# the owner logs what it did for node 1 before it replies, so no wait
vsf_check_grep "daemon 3 (the owner) logs the off it executed for node 1" \
	"$T/d3.log" "^notice: cpg request from node 1: off lvC -> ok \([0-9]+ ms\)$"
vsf_check_grep "and the status it answered, at info" "$T/d3.log" \
	"^info: cpg request from node 1: status lvC -> ok \([0-9]+ ms\)$"
check "daemons 1 and 2 (not the owner) log no executed request for lvC" \
	eval '! grep -hE "cpg request from .* lvC" "$T/d1.log" "$T/d2.log"'
check "status lvC afterwards: off (2)" until_rc 5 2 -o status -n lvC
check "lvB untouched" runs_on 2 lvB

# ---- live migration 3 -> 2: the request follows the domain
UM=dddddddd-0000-4000-8000-0000000000d4
domain_xml lvM "$UM" >"$T/lvM.xml"
check "lvM started on host 3" vsh 3 create "$T/lvM.xml"
check "status lvM: on" until_rc 10 0 -o status -n lvM
t=$SECONDS
check "virsh migrate --live lvM host 3 -> host 2" \
	eval 'vsh 3 migrate --live lvM "$(lv_uri 2)" --migrateuri tcp://$RIG_NET.2 >"$T/migrate.out" 2>&1'
echo "migration took $((SECONDS - t)) s"
check "libvirt: lvM runs on host 2, not on host 3" \
	eval 'runs_on 2 lvM && ! runs_on 3 lvM'
check "off lvM from host 1 (by UUID) reaches its new owner" \
	until_rc 10 0 -o off -n $UM
check "host 2's libvirt destroyed lvM" eval '! runs_on 2 lvM && ! runs_on 3 lvM'
check "status lvM afterwards: off (2)" until_rc 5 2 -o status -n lvM

# ---- host 3's corosync dies while host 3 is destroying the target.  Its
# QEMU is stopped, so libvirt's SIGTERM stays pending (libvirt sends
# SIGKILL about 10 s later): that pending SIGTERM is our "mid-request".
UK=eeeeeeee-0000-4000-8000-0000000000e5
domain_xml lvK "$UK" >"$T/lvK.xml"
check "lvK started on host 3" vsh 3 create "$T/lvK.xml"
check "status lvK: on" until_rc 10 0 -o status -n lvK
FROZEN=$(cat "$RIG_DIR/lv3/run/qemu/lvK.pid" 2>/dev/null)
# Frozen for sure before we ask (rig_freeze): while a SIGSTOP is only
# queued, a SIGTERM that arrives is taken first by QEMU's handler and is
# never seen pending while libvirt waits 10 s to SIGKILL.  On a loaded
# machine that window reached the request: the "owner stall" of 2 runs
# in ~14 (the owner had in fact begun its destroy within milliseconds).
check "lvK's QEMU is stopped (every thread)" rig_freeze "$FROZEN"
t=$(date +%s%N)
vsf_bg offK timeout 40 "$AGENT" -D "$T/tty" -R 2 -t 30 -k "$T/key" \
	-o off -n lvK
AGK=$VSF_PID
sigterm_pending() {
	local m
	m=$(awk '/^ShdPnd:/ { print $2 }' "/proc/$FROZEN/status" 2>/dev/null)
	[ -n "$m" ] && (( (16#$m >> 14) & 1 ))
}
end=$((SECONDS + 10))
until sigterm_pending || [ $SECONDS -ge $end ]; do sleep 0.02; done
if sigterm_pending; then
	echo "host 3's libvirt began destroying lvK $(( ($(date +%s%N) - t) / 1000000 )) ms after the agent started"
else	# what may help if the owner really stalls
	ps -L -o tid,stat,wchan:32,comm -p "${DAEMON[3]}"
	tail -3 "$T/d1.log"
fi
check "host 3's libvirt is destroying lvK (SIGTERM pending on its stopped QEMU)" \
	sigterm_pending
check "off lvK still unanswered when host 3's corosync is killed" \
	kill -0 "$AGK"
t=$(date +%s%N)
rig_kill 3
vsf_wait_exit "$AGK" 35
ms=$(( ($(date +%s%N) - t) / 1000000 ))
echo "agent answered ${ms} ms after host 3's corosync was killed: rc $VSF_RC: $(tr '\n' ' ' <"$T/offK.log")"
[ "$VSF_RC" -ne 0 ] && [ "$VSF_RC" -ne 124 ]
vsf_check "off lvK: a failure, not success, once host 3 is gone" 0 $?
[ "$ms" -lt 5000 ]
vsf_check "and promptly (${ms} ms; NODEDOWN comes about 1 s after the kill)" 0 $?
vsf_check_grep "daemon 1 logs it as a retry" "$T/d1.log" \
	"notice: request #[0-9]+ from channel g1 .*: off lvK -> Resource temporarily unavailable"
relay_back
ag blocked -o status -n lvK
[ "$RC" -ne 0 ] && [ "$RC" -ne 2 ]
vsf_check "status lvK while host 3 is lost: neither on nor off (rc $RC)" 0 $?
timeout 20 "$FENCE_VIRT" -D "$T/tty" -t 10 -o status -n nosuch >"$T/fv3.out" 2>&1
vsf_check "v1 status of an unknown domain while a crashed host may run it: failure (1), not off" 1 $?
relay_back
check "status lvB still on: host 2 answers for its own" until_rc 5 0 -o status -n lvB

# ---- host 3 rejoins; its libvirt finished the destroy meanwhile
rig_start 3
check "host 3 rejoins; status lvK: off (2)" until_rc 40 2 -o status -n lvK
check "lvK runs nowhere" eval '! runs_on 3 lvK'
FROZEN=
check "off lvB from host 1 after the rejoin" until_rc 10 0 -o off -n lvB
check "host 2's libvirt destroyed lvB" eval '! runs_on 2 lvB'

# ---- host 2's libvirtd SIGKILLed (a crash) under running domains while
# requests come in.  Its QEMUs live on.  While libvirt is away every answer
# is a clean error (never "off", never a false ok) and daemon 2 survives;
# one domain dies meanwhile.  libvirtd restarted: daemon 2 reconnects, its
# rescan re-learns what host 2 runs (the dead one is off, a new one is on)
# and a fence succeeds again.
qpid() { cat "$RIG_DIR/lv$1/run/qemu/$2.pid" 2>/dev/null; }
quick() { [ "$1" -lt 5 ]; }
gone() {	# gone PID: wait up to 5 s for PID to end
	local end=$((SECONDS + 5))
	while kill -0 "$1" 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}
US=51515151-0000-4000-8000-0000000000f1
UD=d0d0d0d0-0000-4000-8000-0000000000f2
UN=4e4e4e4e-0000-4000-8000-0000000000f3
for d in lvS:$US lvD:$UD lvN:$UN; do domain_xml "${d%%:*}" "${d#*:}" >"$T/${d%%:*}.xml"; done
check "lvS and lvD started on host 2" \
	eval 'vsh 2 create "$T/lvS.xml" >/dev/null && vsh 2 create "$T/lvD.xml" >/dev/null'
check "status lvS: on" until_rc 10 0 -o status -n lvS
check "status lvD: on" until_rc 10 0 -o status -n lvD
QS=$(qpid 2 lvS) QD=$(qpid 2 lvD) LV2=$(cat "$RIG_DIR/lv2/libvirtd.pid")
vsf_bg atkill timeout 40 "$AGENT" -D "$T/tty" -R 2 -t 30 -k "$T/key" \
	-o status -n lvS
AGS=$VSF_PID
sleep 0.05	# let the request start; it may be answered before the kill
kill -KILL "$LV2"
vsf_wait_exit "$AGS" 35
[ "$VSF_RC" = 0 ] || { [ "$VSF_RC" != 2 ] && [ "$VSF_RC" != 124 ]; }
vsf_check "status lvS racing the kill: on or a clean error, not off (rc $VSF_RC)" 0 $?
relay_back
check "host 2's libvirtd is gone; the QEMUs of lvS and lvD live on" \
	eval 'gone "$LV2" && kill -0 "$QS" && kill -0 "$QD"'
t=$SECONDS
ag downS -o status -n lvS
[ "$RC" != 0 ] && [ "$RC" != 2 ] && [ "$RC" != 124 ]
vsf_check "libvirtd down: status lvS is a clean error, not on/off (rc $RC)" 0 $?
timeout 20 "$FENCE_VIRT" -D "$T/tty" -t 10 -o status -n lvS >"$T/fv4.out" 2>&1
vsf_check "libvirtd down: v1 status lvS is a failure (1), not off" 1 $?
relay_back
ag downOff -o off -n lvS
[ "$RC" != 0 ] && [ "$RC" != 124 ] && kill -0 "$QS"
vsf_check "libvirtd down: off lvS is a clean error and lvS still runs (rc $RC)" 0 $?
check "and the errors come quickly ($((SECONDS - t)) s for three requests)" \
	quick $(( (SECONDS - t) / 3 ))
vsf_check_grep "daemon 1 logs the owner's failure" "$T/d1.log" \
	"notice: request #[0-9]+ from channel g1 .*: off lvS -> "
vsf_check_grep "daemon 2 (the owner) logs its failure as a warning" \
	"$T/d2.log" "^warning: cpg request from node 1: off lvS -> .* \([0-9]+ ms\)$"
kill -KILL "$QD"	# lvD dies while libvirt is away
check "daemon 2 survived its libvirtd's death" kill -0 "${DAEMON[2]}"
lv_restart 2
check "host 2's libvirtd restarted" lv_wait 2
t=$SECONDS
check "daemon 2 reconnects: status lvS: on" until_rc 40 0 -o status -n lvS
echo "status lvS answered on $((SECONDS - t)) s after libvirtd's restart"
check "lvD, dead while libvirt was away, is re-learned as off (2)" \
	until_rc 20 2 -o status -n lvD
check "lvN started on host 2 after the restart" vsh 2 create "$T/lvN.xml"
check "status lvN: on (host 2's events reconnected)" until_rc 20 0 -o status -n lvN
check "off lvS from host 1: success" until_rc 10 0 -o off -n lvS
check "host 2's libvirt destroyed lvS" eval '! kill -0 "$QS" 2>/dev/null && ! runs_on 2 lvS'
check "off lvN from host 1 (by UUID): success" until_rc 10 0 -o off -n $UN
check "status lvN afterwards: off (2)" until_rc 5 2 -o status -n lvN

for i in 1 2 3; do
	vsf_stop "${DAEMON[$i]}"
	vsf_check_grep "daemon $i stops cleanly" "$T/d$i.log" "stopped"
done
echo "elapsed $((SECONDS - t0)) s"
vsf_finish
