#!/bin/bash
# vserial-fenced when a guest's channel socket path disappears, against a
# REAL libvirtd (shared test:///default driver, lifecycle events) and a
# python stand-in for QEMU on the socket (chan_peer.py):
#   - the socket closes and its path is gone: one line says so (and that
#     libvirt is asked), one line gives libvirt's answer (still listed),
#     then silence while it retries with backoff, then one line when it
#     gives up (reconnect_give_up = 3 s): never a line per retry;
#   - after giving up it is not retried until libvirt lists the domain
#     again: libvirtd drops the daemon's connections, the rescan after the
#     reconnect wakes it, and the guest is served again;
#   - the path vanishes again and the domain is destroyed: the channel is
#     forgotten and nothing more is tried or logged for it.
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
PEER="python3 $(cd "$(dirname "$0")" && pwd)/chan_peer.py"
vsf_require_prog "$FENCED" /usr/sbin/libvirtd virsh virt-admin setpriv python3 \
	stdbuf
. "$(dirname "$0")/fenced.sh"
. "$(dirname "$0")/lvd.sh"

U7=11111111-2222-3333-4444-0000000000b7
lvd_start lvd1 || vsf_finish
lvd_hold
cat >"$T/c.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; reconnect_give_up = "3"; } }
backends { libvirt { uri = "$URI"; } }
EOC
vsf_bg d stdbuf -oL -eL "$FENCED" -F -d 1 -f "$T/c.conf"
DAEMON=$VSF_PID
vsf_wait_line "$T/d.log" "started \(config" 10 || vsf_fail "daemon did not start"
g7_lines() { grep -c "channel g7 " "$T/d.log"; }

# the peer accepts, holds the channel 1 s, closes and removes the socket
lvd_define_guest g7 $U7
vsf_bg p1 $PEER "$T/sock/g7.sock" hang 1
lvd_wait_sock g7
virsh -q -c "$URI" start g7 >/dev/null
vsf_wait_line "$T/d.log" "channel g7 .*: connected" 10 ||
	vsf_fail "daemon never connected to g7"
vsf_wait_exit "$VSF_PID" 10
[ -e "$T/sock/g7.sock" ]
vsf_check "the socket path is gone" 1 $?
vsf_wait_line "$T/d.log" "channel g7 .*: giving up after" 20 "$DAEMON"
vsf_check "gives up after reconnect_give_up seconds" 0 $?
vsf_check_grep "one line for the outage, asking libvirt" "$T/d.log" \
	"channel g7 \(.*\): closed by the other end; reconnecting in the background \(backoff up to 10 s\), asking libvirt"
vsf_check_grep "one line for libvirt's answer" "$T/d.log" \
	"channel g7 \(.*\): libvirt still lists it for the running domain; retrying"
vsf_check_grep "the give-up line counts the attempts and the cause" \
	"$T/d.log" "channel g7 .*: giving up after [3-9] attempts in [3-9] s \(No such file or directory\)"
vsf_check "one line per state change, none per retry (connect, down, confirmed, gave up)" \
	4 "$(g7_lines)"

# a parked channel stays quiet, even once the socket is back ...
vsf_bg p2 $PEER "$T/sock/g7.sock" req 4 test
P2=$VSF_PID
lvd_wait_sock g7
sleep 1.5	# longer than the first backoff steps: nothing may happen
vsf_check "given up: no retry while libvirt says nothing new" 4 "$(g7_lines)"
# ... until libvirt lists the domain again: the daemon's libvirt
# connections are dropped (as by a libvirtd restart); its rescan lists g7
lvd_drop_clients "$DAEMON"
vsf_wait_exit "$P2" 20 || vsf_fail "g7 peer got no answer after the rescan"
vsf_check "served again after libvirt listed it again" "reply 0" \
	"$(grep reply "$T/p2.log")"
vsf_check_grep "the wake-up is one line" "$T/d.log" \
	"channel g7 .*: listed by libvirt again; reconnecting"

# the path vanishes once more and the domain goes: forgotten, then silence
for i in $(seq 200); do	# the second outage's line
	[ "$(grep -c "channel g7 .*: closed by the other end" "$T/d.log")" -ge 2 ] && break
	sleep 0.05
done
virsh -q -c "$URI" destroy g7 >/dev/null
vsf_wait_line "$T/d.log" "domain g7 \($U7\): channels closed" 10
vsf_check "the destroyed domain's channel is forgotten" 0 $?
n=$(g7_lines)
sleep 1.5	# longer than the first backoff steps: nothing may happen
vsf_check "nothing tried or logged for a forgotten channel" "$n" "$(g7_lines)"

fenced_stop "$DAEMON" "$T/d.log"
lvd_stop
vsf_finish
