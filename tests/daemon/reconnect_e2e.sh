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
. "$(dirname "$0")/fenced.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
PEER="python3 $(cd "$(dirname "$0")" && pwd)/chan_peer.py"
vsf_require_prog "$FENCED" /usr/sbin/libvirtd virsh setpriv python3

. "$(dirname "$0")/lvd.sh"

# peer NAME GUEST OP DOMAIN: QEMU stand-in on GUEST's socket sends one
# request once the daemon connects; waits for the socket to exist first
peer() {
	vsf_bg "$1" $PEER "$T/sock/$2.sock" req "$3" "$4"
	PEER_PID=$VSF_PID
	local i
	for i in $(seq 100); do [ -S "$T/sock/$2.sock" ] && break; sleep 0.05; done
}

lvd_start lvd1 || vsf_finish
cat >"$T/c.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; } }
backends { libvirt { uri = "$URI"; } }
EOC
vsf_bg d stdbuf -oL -eL "$FENCED" -F -d 1 -f "$T/c.conf"
DAEMON=$VSF_PID
vsf_wait_line "$T/d.log" "started \(config" 10 || vsf_fail "daemon did not start"

# 1: a guest started after the daemon, found through a lifecycle event
lvd_define_guest g5 11111111-2222-3333-4444-000000000005
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
lvd_stop
vsf_wait_line "$T/d.log" "libvirt connection to .* lost" 15
vsf_check "loss of libvirtd noticed" 0 $?
lvd_start lvd2 || vsf_finish
vsf_wait_line "$T/d.log" "libvirt connection back; domains rescanned" 30
vsf_check "reconnected and rescanned" 0 $?
lvd_define_guest g6 11111111-2222-3333-4444-000000000006
peer p2 g6 1 test		# off "test": the backend must reconnect too
virsh -q -c "$URI" start g6 >/dev/null
vsf_wait_exit "$PEER_PID" 20 || vsf_fail "g6 peer got no answer"
vsf_check "guest started after the restart is served (off test)" "reply 0" \
	"$(grep reply "$T/p2.log")"
vsf_check "test is off through the new libvirtd" "shut off" \
	"$(virsh -q -c "$URI" domstate test 2>&1)"
vsf_check_grep "NOTICE for the off after reconnect" "$T/d.log" \
	"notice: request #[0-9]+ from channel g6 .*: off test -> ok"
fenced_stop "$DAEMON" "$T/d.log"
lvd_stop
vsf_finish
