#!/bin/bash
# vserial-fenced's multicast listener against the STOCK fence_xvm, inside a
# network namespace of our own (loopback with multicast on), so nothing
# leaves this test: fence_xvm multicasts a signed request, the daemon
# verifies it, calls fence_xvm back over tcp, and both sides run the
# challenge-response before the result.
if [ -z "${VSF_IN_NETNS:-}" ]; then
	if ! command -v unshare >/dev/null || ! unshare -n true 2>/dev/null; then
		echo "SKIP: cannot create a network namespace (unshare -n)"
		echo "0 passed, 0 failed"
		exit 77
	fi
	VSF_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
. "$(dirname "$0")/fenced.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
FENCE_XVM=${FENCE_XVM:-/usr/sbin/fence_xvm}
vsf_require_prog "$FENCE_XVM" "$FENCED" ip

ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
U2=2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02
T=$VSF_TMP
NODE=$T/node.xml
URI=test://$NODE
vsf_node_xml "$NODE" "g1:$U1" "g2:$U2"
vsf_key "$T/key"
vsf_key "$T/otherkey"
write_conf() {	# FILE [EXTRA]
	cat >"$1" <<EOC
fence_virtd { listener = "multicast"; backend = "libvirt"; }
listeners { multicast { key_file = "$T/key"; address = "225.0.0.12"; interface = "lo"; } }
backends { libvirt { uri = "$URI"; } }
${2:-}
EOC
}
xvm() {	# NAME ARGS...
	local name=$1
	shift
	timeout 20 "$FENCE_XVM" -t 5 "$@" >"$T/$name.out" 2>&1
	FV_RC=$?
}

write_conf "$T/a.conf"
vsf_bg d1 stdbuf -oL -eL "$FENCED" -F -f "$T/a.conf"
DAEMON=$VSF_PID
vsf_wait_line "$T/d1.log" "listener 'multicast' started" 10 ||
	vsf_fail "multicast listener did not start"
xvm s1 -k "$T/key" -o status -H g2
vsf_check "fence_xvm status g2" 0 "$FV_RC"
xvm o1 -k "$T/key" -o off -H g2
vsf_check "fence_xvm off g2" 0 "$FV_RC"
xvm s2 -k "$T/key" -o status -H g2
vsf_check "status after off (2)" 2 "$FV_RC"
xvm o2 -k "$T/key" -o on -H g2
vsf_check "fence_xvm on g2" 0 "$FV_RC"
xvm l1 -k "$T/key" -o list
vsf_check "fence_xvm list" 0 "$FV_RC"
vsf_check "list shows both" "g1 g2" "$(awk '/-/{print $1}' "$T/l1.out" | xargs)"
vsf_check_grep "NOTICE names the multicast source" "$T/d1.log" \
	"notice: request #[0-9]+ from multicast 127.0.0.1 port [0-9]+: off g2 -> ok"
xvm w1 -k "$T/otherkey" -t 3 -o status -H g2
[ "$FV_RC" -ne 0 ]; vsf_check "wrong key: no answer" 0 $?
vsf_check_grep "wrong key logged" "$T/d1.log" "multicast: request from 127.0.0.1 refused: bad signature"
fenced_stop "$DAEMON" "$T/d1.log"

write_conf "$T/g.conf" "groups { group { ip = \"127.0.0.1\"; uuid = \"g1\"; } }"
vsf_bg d2 stdbuf -oL -eL "$FENCED" -F -f "$T/g.conf"
DAEMON=$VSF_PID
vsf_wait_line "$T/d2.log" "listener 'multicast' started" 10
xvm g1 -k "$T/key" -o off -H g2
vsf_check "off g2 denied by groups (3)" 3 "$FV_RC"
fenced_stop "$DAEMON" "$T/d2.log"
vsf_finish
