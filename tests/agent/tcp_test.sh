#!/bin/sh
# tcp_test.sh - fence_vserial -T against a host daemon's tcp listener with a
# key (fence_virt's signed request + challenge-response), libvirt test:///
# backend.  Runs in a private network namespace so that its port cannot
# meet anyone else's daemon on this machine.
#
# AGENT_TEST_DAEMON: "stock" (default, fence_virtd) or "ours" (skipped
# until fenced-host/ builds it).
set -u
. "${srcdir:-.}/tests/agent/lib.sh"

DAEMON=${AGENT_TEST_DAEMON:-stock}
if [ -z "${AGENT_IN_NETNS:-}" ]; then
	command -v unshare >/dev/null || skip "unshare missing: install util-linux"
	unshare -n true 2>/dev/null || skip "cannot create a network namespace (run as root)"
	AGENT_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
ip link set lo up 2>/dev/null || skip "cannot bring up lo in a network namespace"
setup_tmp
mkdir -p "$T/sock"
write_node_xml
make_key "$T/key"
make_key "$T/other.key"
URI="test://$T/node.xml"
PORT=1229

write_conf() {
	cat >"$T/fv.conf" <<EOF
fence_virtd { listener = "tcp"; backend = "libvirt"; }
listeners { tcp { key_file = "$T/key"; address = "127.0.0.1"; port = "$PORT"; } }
backends { libvirt { uri = "$URI"; } }
EOF
}

start_daemon 1 'ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q LISTEN' ||
	{ bad "$DAEMON daemon is not listening"; cat "$T/daemon.log" >&2; finish; }
A="-T 127.0.0.1 -p $PORT -k $T/key"

run_agent "$T/s1" $A -o status -n guest2
check "tcp status: exit 0, Status: ON" '[ $rc -eq 0 ] && grep -qx "Status: ON" "$T/s1.out"'
run_agent "$T/off" $A -o off -n guest2
check "tcp off: exit 0" '[ $rc -eq 0 ]'
run_agent "$T/s2" $A -o status -n guest2
check "tcp status after off: exit 2, Status: OFF" '[ $rc -eq 2 ] && grep -qx "Status: OFF" "$T/s2.out"'
run_agent "$T/on" $A -o on -n guest2
check "tcp on: exit 0" '[ $rc -eq 0 ]'
run_agent "$T/list" $A -o list
check "tcp list: guest1 and guest2" \
	'[ $rc -eq 0 ] && grep -q "^guest1 " "$T/list.out" && grep -q "^guest2 " "$T/list.out"'

run_agent "$T/wk" -T 127.0.0.1 -p $PORT -k "$T/other.key" -o status -n guest2
check "wrong key: exit 5 (auth), not 1" '[ $rc -eq 5 ]'
check "wrong key: says key" 'grep -qi "key" "$T/wk.err"'
run_agent "$T/wa" $A -C sha512 -o status -n guest2
check "challenge answer under another hash: exit 5" '[ $rc -eq 5 ]'
check "... reported as an authentication failure" 'grep -q "authentication failed" "$T/wa.err"'

chmod 644 "$T/other.key"
run_agent "$T/perm" -T 127.0.0.1 -p $PORT -k "$T/other.key" -o status -n guest2
check "world-readable key refused: exit 5" '[ $rc -eq 5 ]'
check "... with the fix named" 'grep -q "chmod" "$T/perm.err"'

run_agent "$T/nk" -T 127.0.0.1 -p $PORT -k "$T/absent.key" -o status -n guest2
check "missing key: falls back to no auth, host refuses: exit 5" '[ $rc -eq 5 ]'
check "... and says it tried without authentication" 'grep -q "without authentication" "$T/nk.err"'

run_agent "$T/np" -T 127.0.0.1 -p 1 -k "$T/key" -t 2 -o status -n guest2
check "nobody listening: exit 6 (no answer)" '[ $rc -eq 6 ]'

# vsock (not scoped by the network namespace): nobody listens on port 1 of
# the host (ECONNRESET), CID 4000000 does not exist (ENODEV).  Neither is
# a key problem.
if python3 -c 'import socket; socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)' 2>/dev/null; then
	run_agent "$T/vs" -S 2 -p 1 -k "$T/key" -t 2 -o status -n guest2
	check "vsock, nobody listening: exit 6, not 5 (exit $rc)" '[ $rc -eq 6 ]'
	check "... names the cid and port" 'grep -q "vsock cid 2 port 1:" "$T/vs.err"'
	run_agent "$T/vc" -S 4000000 -p 1 -k "$T/key" -t 2 -o status -n guest2
	check "vsock, no such cid: exit 6, not 125 (exit $rc)" '[ $rc -eq 6 ]'
else
	echo "vsock: no AF_VSOCK in this kernel, vsock checks not run"
fi

finish
