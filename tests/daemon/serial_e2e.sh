#!/bin/bash
# vserial-fenced's channel listener end to end, with real components:
# libvirt's test:/// driver (node file with unix/bind <serial> sockets),
# the daemon's libvirt backend, and the STOCK fence_virt agent talking over
# a pty that socat relays to the guest's channel socket (socat stands in
# for QEMU: it binds the socket, the daemon connects to it).  A python
# peer on a second guest's socket sends garbage, split frames and
# retransmits.  A second daemon run checks the groups ACL.
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
. "$(dirname "$0")/fenced.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
PEER="python3 $(cd "$(dirname "$0")" && pwd)/chan_peer.py"
vsf_require_prog "$FENCE_VIRT" "$FENCED" socat python3

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
U2=2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02
U3=0c5a3e2d-8f7b-4c1e-a2d4-6b9e8f7a1c03
T=$VSF_TMP
mkdir -p "$T/sock"
NODE=$T/node.xml
URI=test://$NODE
U4=5f0e1d2c-3b4a-4958-8776-a5b4c3d2e1f0
vsf_node_xml "$NODE" "g1:$U1:serial=$T/sock/g1.sock" "g2:$U2" \
	"g3:$U3:serial=$T/sock/g3.sock" "g4:$U4:channel=$T/sock/g4.chan"

write_conf() {	# FILE [EXTRA]
	cat >"$1" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; mode = "serial"; } }
backends { libvirt { uri = "$URI"; } }
vserial_fenced { timeout = "20"; }
${2:-}
EOC
}

# relay: the guest's "serial port" is $T/tty; QEMU's socket is g1.sock
start_relay() {
	rm -f "$T/sock/g1.sock"
	vsf_bg relay socat PTY,link="$T/tty",raw,echo=0 \
		UNIX-LISTEN:"$T/sock/g1.sock"
	RELAY=$VSF_PID
}

# connections the daemon has made to g1 so far
g1_conns() { grep -c "channel g1 .*connected" "$T/$1.log"; }

start_daemon() {	# NAME CONF
	vsf_bg "$1" stdbuf -oL -eL "$FENCED" -F -d 1 -f "$2"
	DAEMON=$VSF_PID
	vsf_wait_line "$T/$1.log" "channel g1 .*connected" 10 ||
		vsf_fail "$1: daemon never connected to g1"
}

# fv NAME ARGS...: run stock fence_virt on the pty; output in $T/NAME.out
fv() {
	local name=$1
	shift
	timeout 20 "$FENCE_VIRT" -D "$T/tty" -t 10 "$@" >"$T/$name.out" 2>&1
	FV_RC=$?
	fv_relay_back
}

# socat exits when the pty closes: bring QEMU's socket back and wait for
# the daemon to reconnect before the next call
fv_relay_back() {
	if ! kill -0 "$RELAY" 2>/dev/null; then
		local n
		n=$(g1_conns "$DLOG")
		start_relay
		local i
		for i in $(seq 200); do
			[ "$(g1_conns "$DLOG")" -gt "$n" ] && break
			sleep 0.05
		done
	fi
}

# ---- run 1: no groups
write_conf "$T/open.conf"
start_relay
for i in $(seq 100); do [ -S "$T/sock/g1.sock" ] && break; sleep 0.05; done
DLOG=d1
start_daemon d1 "$T/open.conf"
vsf_check_grep "warns once that no groups are set" "$T/d1.log" \
	"no groups configured"

fv s1 -o status -n g2
vsf_check "status g2 (on)" 0 "$FV_RC"
vsf_check_grep "status prints ON" "$T/s1.out" "Status: ON"
fv l1 -o list
vsf_check "list rc" 0 "$FV_RC"
vsf_check_grep "list shows g1 on" "$T/l1.out" "^g1 +$U1 on"
vsf_check_grep "list shows g2" "$T/l1.out" "^g2 +$U2 on"
vsf_check "list has 4 domains" 4 "$(grep -c -- '-' "$T/l1.out")"
fv o1 -o off -n g2
vsf_check "off g2" 0 "$FV_RC"
fv s2 -o status -n g2
vsf_check "status g2 after off (2 = off)" 2 "$FV_RC"
vsf_check_grep "status prints OFF" "$T/s2.out" "Status: OFF"
fv o2 -o on -n g2
vsf_check "on g2" 0 "$FV_RC"
fv s3 -o status -n $U2
vsf_check "status by uuid after on" 0 "$FV_RC"
fv r1 -o reboot -n g2
vsf_check "reboot g2" 0 "$FV_RC"
fv s4 -o status -n g2
vsf_check "status after reboot" 0 "$FV_RC"
fv m1 -o monitor
vsf_check "monitor" 0 "$FV_RC"
AGENT=${AGENT:-$PWD/fence-agent/fence_vserial}
if [ -x "$AGENT" ]; then	# our agent speaking v1 (no key) on the channel
	timeout 20 "$AGENT" -D "$T/tty" -R 1 -t 10 -o status -n g2 \
		>"$T/av1.out" 2>&1
	vsf_check "our agent over v1: status g2" 0 $?
	fv_relay_back
fi
fv u1 -o reboot -n nosuch
vsf_check "reboot unknown domain fails (1)" 1 "$FV_RC"
fv u2 -o status -n nosuch
vsf_check "status unknown domain is off (2)" 2 "$FV_RC"
vsf_check_grep "NOTICE line for off with source, target, ms" "$T/d1.log" \
	"notice: request #[0-9]+ from channel g1 \(.*g1.sock\): off g2 -> ok \([0-9]+ ms\)"
vsf_check_grep "NOTICE line for reboot" "$T/d1.log" \
	"notice: request #[0-9]+ from channel g1 .*: reboot g2 -> ok"

# garbage and split frames on g3, while g1 keeps working
vsf_bg p1 $PEER "$T/sock/g3.sock" garbage
P1=$VSF_PID
vsf_wait_exit "$P1" 30 || vsf_fail "garbage peer did not finish"
vsf_check "request after garbage answered (on)" "after-garbage 0" \
	"$(grep after-garbage "$T/p1.log")"
vsf_check "request split in two writes answered" "split 0" \
	"$(grep split "$T/p1.log")"
vsf_check_grep "garbage is logged" "$T/d1.log" "g3 .*skipped [0-9]+ bytes"
fv s5 -o status -n g2
vsf_check "g1 still served after garbage on g3" 0 "$FV_RC"

# a peer that connects and never reads or writes does not stall g1
vsf_bg hang $PEER "$T/sock/g3.sock" hang 4
for i in $(seq 100); do
	[ "$(grep -c 'channel g3 .*connected' "$T/d1.log")" -ge 2 ] && break
	sleep 0.05
done
fv s6 -o status -n g2
vsf_check "g1 served while g3 hangs" 0 "$FV_RC"

# a guest that floods host list requests and never reads the replies:
# the daemon stops reading it (bounded memory) and still serves g1
vsf_stop "$VSF_PID"
vsf_bg flood $PEER "$T/sock/g3.sock" noread 20000 3
FLOOD=$VSF_PID
vsf_wait_line "$T/flood.log" "^sent" 20
fv s7 -o status -n g2
vsf_check "g1 served while g3 floods without reading" 0 "$FV_RC"
RSS=$(awk '/VmRSS/{print $2}' /proc/"$DAEMON"/status)
[ "${RSS:-999999}" -lt 100000 ]
vsf_check "daemon memory stays bounded under the flood (${RSS} kB)" 0 $?
vsf_stop "$FLOOD"

# retransmits: the same seqno twice at once, then again after completion
vsf_bg p2 $PEER "$T/sock/g3.sock" retransmit
vsf_wait_exit "$VSF_PID" 30 || vsf_fail "retransmit peer did not finish"
vsf_check "retransmit: first answered" "first 0" "$(grep first "$T/p2.log")"
vsf_check "retransmit: duplicate answered too" "second 0" \
	"$(grep second "$T/p2.log")"
vsf_check "retransmit: late duplicate gets cached result" "third 0" \
	"$(grep third "$T/p2.log")"
vsf_check "retransmit: status off afterwards" "status 2" \
	"$(grep status "$T/p2.log")"
vsf_check "retransmit: one backend action, one NOTICE" 1 \
	"$(grep -c "notice: .*from channel g3 .*: off g2 -> ok" "$T/d1.log")"
vsf_check_grep "retransmit logged" "$T/d1.log" "seqno 4242 is a retransmit"

fenced_stop "$DAEMON" "$T/$DLOG.log"
vsf_check_grep "clean shutdown" "$T/d1.log" "stopped"

# ---- run 2: groups: g1 may fence only itself and g3
write_conf "$T/groups.conf" "groups { group { name = \"c1\"; uuid = \"$U1\"; uuid = \"G3\"; } }"
vsf_stop "$RELAY"
start_relay
for i in $(seq 100); do [ -S "$T/sock/g1.sock" ] && break; sleep 0.05; done
DLOG=d2
start_daemon d2 "$T/groups.conf"
fv g1 -o off -n g2
vsf_check "off g2 denied by groups (3)" 3 "$FV_RC"
vsf_check_grep "denial logged with source and target" "$T/d2.log" \
	"warning: request #[0-9]+ from channel g1 .*\(source $U1\): off g2 denied by groups"
fv g2 -o status -n g3
vsf_check "status of a group member (listed as G3)" 0 "$FV_RC"
fv g3 -o list
vsf_check "list filtered to g1 and g3" "g1 g3" \
	"$(awk '/-/{print $1}' "$T/g3.out" | xargs)"
# SIGHUP applies new groups; a broken file is refused and the old kept
write_conf "$T/groups.conf" "groups { group { uuid = \"$U1\"; uuid = \"g2\"; } }"
kill -HUP "$DAEMON"
vsf_wait_line "$T/d2.log" "SIGHUP: groups reloaded" 10
vsf_check "SIGHUP reload logged" 0 $?
fv g4 -o status -n g2
vsf_check "status g2 allowed after the reload" 0 "$FV_RC"
echo "groups {" >>"$T/groups.conf"
kill -HUP "$DAEMON"
vsf_wait_line "$T/d2.log" "SIGHUP: .*keeping the running configuration" 10
vsf_check "broken file on SIGHUP refused" 0 $?
fv g5 -o status -n g2
vsf_check "old groups still in force" 0 "$FV_RC"
fenced_stop "$DAEMON" "$T/$DLOG.log"
write_conf "$T/groups.conf" "groups { group { name = \"c1\"; uuid = \"$U1\"; uuid = \"G3\"; } }"

# ---- run 3: protocol v2 on the same channel with our agent; g1 has its
# own key in key_dir; unauthenticated v1 denied by policy
AGENT=${AGENT:-$PWD/fence-agent/fence_vserial}
if [ -x "$AGENT" ]; then
	vsf_key "$T/shared.key"
	mkdir -p "$T/keys"
	vsf_key "$T/keys/$U1"
	cat >"$T/v2.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; key_file = "$T/shared.key"; } }
backends { libvirt { uri = "$URI"; } }
vserial_fenced { key_dir = "$T/keys"; v1 = "deny"; }
EOC
	vsf_stop "$RELAY"
	start_relay
	for i in $(seq 100); do [ -S "$T/sock/g1.sock" ] && break; sleep 0.05; done
	DLOG=d3
	start_daemon d3 "$T/v2.conf"
	ag() {	# NAME KEY ARGS...
		local name=$1 key=$2
		shift 2
		timeout 20 "$AGENT" -D "$T/tty" -R 2 -t 10 -k "$key" "$@" \
			>"$T/$name.out" 2>&1
		FV_RC=$?
		fv_relay_back
	}
	ag a1 "$T/keys/$U1" -o status -n g2
	vsf_check "v2: status g2 with g1's own key" 0 "$FV_RC"
	vsf_check_grep "v2: per-guest key used" "$T/d3.log" "domain g1: v2 key $T/keys/$U1 \(its own\)"
	ag a2 "$T/keys/$U1" -o off -n g2
	vsf_check "v2: off g2" 0 "$FV_RC"
	ag a3 "$T/keys/$U1" -o status -n g2
	vsf_check "v2: status after off (2)" 2 "$FV_RC"
	ag a4 "$T/keys/$U1" -o on -n g2
	vsf_check "v2: on g2" 0 "$FV_RC"
	ag a5 "$T/keys/$U1" -o list
	vsf_check "v2: list" 0 "$FV_RC"
	vsf_check_grep "v2: list shows g2" "$T/a5.out" "^g2 +$U2 on"
	vsf_check_grep "v2: NOTICE line marks v2" "$T/d3.log" \
		"notice: request #[0-9]+ from channel g1 .* v2: off g2 -> ok"
	ag a6 "$T/shared.key" -o off -n g2
	[ "$FV_RC" -ne 0 ]; vsf_check "v2: the shared key is refused for g1" 0 $?
	fv f1 -o status -n g2
	vsf_check "v1 denied by policy (3)" 3 "$FV_RC"
	vsf_check_grep "v1 denial logged" "$T/d3.log" "v1 is denied by policy"
	fenced_stop "$DAEMON" "$T/d3.log"
else
	vsf_fail "our agent $AGENT is not built"
fi

# ---- run 4: virtio-serial <channel> ports selected by target name (our
# key): only g4's port is used, not the <serial> sockets of g1 and g3
cat >"$T/named.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; channel_name = "org.vsf.fence.0"; } }
backends { libvirt { uri = "$URI"; } }
vserial_fenced { history_window = "1"; }
EOC
vsf_bg p4 $PEER "$T/sock/g4.chan" req 4 g2
P4=$VSF_PID
for i in $(seq 100); do [ -S "$T/sock/g4.chan" ] && break; sleep 0.05; done
vsf_bg d4 stdbuf -oL -eL "$FENCED" -F -d 1 -f "$T/named.conf"
DAEMON=$VSF_PID
vsf_wait_exit "$P4" 15 || vsf_fail "g4 peer got no answer"
vsf_check "request on the named virtio port answered" "reply 0" \
	"$(grep reply "$T/p4.log")"
vsf_check "serial sockets not used when only channel_name is set" 0 \
	"$(grep -c 'channel g[13] ' "$T/d4.log")"
fenced_stop "$DAEMON" "$T/d4.log"
# mode "serial vmchannel": both kinds at once
sed 's|channel_name = "org.vsf.fence.0";|mode = "serial vmchannel";|' \
	"$T/named.conf" >"$T/both.conf"
vsf_bg p5 $PEER "$T/sock/g4.chan" req 4 g2
P5=$VSF_PID
for i in $(seq 100); do [ -S "$T/sock/g4.chan" ] && break; sleep 0.05; done
vsf_bg d5 stdbuf -oL -eL "$FENCED" -F -d 1 -f "$T/both.conf"
DAEMON=$VSF_PID
vsf_wait_exit "$P5" 15 || vsf_fail "g4 peer got no answer (both modes)"
vsf_check "vmchannel <channel> served with both modes on" "reply 0" \
	"$(grep reply "$T/p5.log")"
vsf_check_grep "serial socket of g1 tried too with both modes" "$T/d5.log" \
	"channel g1 "
fenced_stop "$DAEMON" "$T/d5.log"

# ---- --check-config
"$FENCED" --check-config -f "$T/groups.conf" >"$T/check.out" 2>&1
vsf_check "--check-config accepts our config" 0 $?
vsf_check_grep "--check-config prints the effective config" "$T/check.out" \
	'listeners = "serial"'
"$FENCED" --check-config -f /dev/stdin <"$T/check.out" >"$T/check2.out" 2>&1
vsf_check "the effective config is itself a valid config, and a fixpoint" \
	"" "$(diff <(sed 's/\t# default$//' "$T/check.out") "$T/check2.out")"
printf 'fence_virtd {\n listener = "serial";\n backend = "cpg";\n}\nlisteners { serial { mode = "x"; } }\nbackends {\n' >"$T/bad.conf"
"$FENCED" --check-config -f "$T/bad.conf" >"$T/bad.out" 2>&1
vsf_check "--check-config rejects a syntax error" 1 $?
vsf_check_grep "syntax error names file:line" "$T/bad.out" \
	"^$T/bad.conf:7: expected '}' to close 'backends' \(opened on line 6\)"
printf 'fence_virtd {\n listener = "serial";\n backend = "cpg";\n}\nlisteners { serial {\n mode = "x"; } tcp { port = "99999"; } }\n' >"$T/bad2.conf"
"$FENCED" --check-config -f "$T/bad2.conf" >"$T/bad2.out" 2>&1
vsf_check "--check-config rejects bad values" 1 $?
vsf_check_grep "cpg backend without its uri at file:line" "$T/bad2.out" "^$T/bad2.conf:3: backends/cpg needs a uri"
vsf_check_grep "bad mode at file:line" "$T/bad2.out" "^$T/bad2.conf:6: mode = \"x\""
if [ -r /etc/fence_virt.conf ]; then
	"$FENCED" --check-config -f /etc/fence_virt.conf >"$T/stock.out" 2>&1
	vsf_check "unchanged stock /etc/fence_virt.conf is accepted" 0 $?
	vsf_check_grep "stock config: its multicast listener is effective" \
		"$T/stock.out" 'listeners = "multicast"'
fi
vsf_finish
