#!/bin/bash
# vserial-fenced against a REAL libvirtd (started here as an unprivileged
# session daemon, no systemd) with its shared test:///default driver:
#   - a guest started after the daemon is found through lifecycle events;
#   - a stopped guest's channel is closed;
#   - libvirtd is killed and restarted: the daemon reconnects by itself,
#     and a guest started after the restart is served (stock never
#     reconnects: its event thread exits for good).
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
PEER="python3 $(cd "$(dirname "$0")" && pwd)/chan_peer.py"
vsf_require_prog "$FENCED" /usr/sbin/libvirtd virsh setpriv python3

T=$VSF_TMP
chmod 755 "$T"
mkdir -p "$T/sock" "$T/lv/run" "$T/lv/cfg" "$T/lv/cache" "$T/lv/home"
chown -R nobody:nogroup "$T/lv"
URI="test+unix:///default?socket=$T/lv/run/libvirt/libvirt-sock"

start_libvirtd() {	# NAME
	vsf_bg "$1" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i PATH=/usr/sbin:/usr/bin HOME="$T/lv/home" \
		XDG_RUNTIME_DIR="$T/lv/run" XDG_CONFIG_HOME="$T/lv/cfg" \
		XDG_CACHE_HOME="$T/lv/cache" /usr/sbin/libvirtd
	LVD=$VSF_PID
	local i
	for i in $(seq 600); do	# up to 30 s on a loaded CI machine
		virsh -q -c "$URI" list >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	vsf_fail "$1: libvirtd did not answer"
	return 1
}

define_guest() {	# NAME UUID
	cat >"$T/$1.xml" <<EOX
<domain type='test'>
  <name>$1</name><uuid>$2</uuid><memory>65536</memory>
  <os><type>hvm</type></os>
  <devices><serial type='unix'><source mode='bind' path='$T/sock/$1.sock'/><target port='1'/></serial></devices>
</domain>
EOX
	virsh -q -c "$URI" define "$T/$1.xml" >/dev/null
}

# peer NAME GUEST OP DOMAIN: QEMU stand-in on GUEST's socket sends one
# request once the daemon connects; waits for the socket to exist first
peer() {
	vsf_bg "$1" $PEER "$T/sock/$2.sock" req "$3" "$4"
	PEER_PID=$VSF_PID
	local i
	for i in $(seq 100); do [ -S "$T/sock/$2.sock" ] && break; sleep 0.05; done
}

start_libvirtd lvd1 || vsf_finish
cat >"$T/c.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; } }
backends { libvirt { uri = "$URI"; } }
EOC
vsf_bg d stdbuf -oL -eL "$FENCED" -F -d 1 -f "$T/c.conf"
DAEMON=$VSF_PID
vsf_wait_line "$T/d.log" "started \(config" 10 || vsf_fail "daemon did not start"

# 1: a guest started after the daemon, found through a lifecycle event
define_guest g5 11111111-2222-3333-4444-000000000005
peer p1 g5 4 test		# status of libvirt's default "test" domain
virsh -q -c "$URI" start g5 >/dev/null
vsf_wait_exit "$PEER_PID" 15 || vsf_fail "g5 peer got no answer"
vsf_check "guest started later is served (status test: on)" "reply 0" \
	"$(grep reply "$T/p1.log")"
vsf_check_grep "daemon connected to g5 after its start event" "$T/d.log" \
	"channel g5 .*connected"

# 2: a guest that stops loses its channel
virsh -q -c "$URI" destroy g5 >/dev/null
vsf_wait_line "$T/d.log" "domain g5 .*channels closed" 10
vsf_check "stopped guest's channel closed" 0 $?

# 3: libvirtd dies and comes back; the daemon reconnects on its own
vsf_stop "$LVD"
vsf_wait_line "$T/d.log" "libvirt connection to .* lost" 15
vsf_check "loss of libvirtd noticed" 0 $?
start_libvirtd lvd2 || vsf_finish
vsf_wait_line "$T/d.log" "libvirt connection back; domains rescanned" 30
vsf_check "reconnected and rescanned" 0 $?
define_guest g6 11111111-2222-3333-4444-000000000006
peer p2 g6 1 test		# off "test": the backend must reconnect too
virsh -q -c "$URI" start g6 >/dev/null
vsf_wait_exit "$PEER_PID" 20 || vsf_fail "g6 peer got no answer"
vsf_check "guest started after the restart is served (off test)" "reply 0" \
	"$(grep reply "$T/p2.log")"
vsf_check "test is off through the new libvirtd" "shut off" \
	"$(virsh -q -c "$URI" domstate test 2>&1)"
vsf_check_grep "NOTICE for the off after reconnect" "$T/d.log" \
	"notice: request #[0-9]+ from channel g6 .*: off test -> ok"
vsf_stop "$DAEMON"
vsf_stop "$LVD"
vsf_finish
