#!/bin/bash
# `vsf_peer client-tcp` against the STOCK fence_virtd tcp listener with the
# stock libvirt backend on a libvirt test-driver node.
#
# vsf_peer signs its 176-byte requests and runs both halves of the
# challenge-response with libvsfproto only, and decodes the stock host
# list stream, so each passing call proves those codecs byte-compatible
# with the stock daemon; the refusals show a wrong key and a too-weak hash
# are rejected.
. "$(dirname "$0")/lib.sh"
vsf_setup
vsf_require_prog "$FENCE_VIRTD" "$VSF_PEER" stdbuf

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
U2=2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02
U3=0c5a3e2d-8f7b-4c1e-a2d4-6b9e8f7a1c03
T=$VSF_TMP
vsf_node_xml "$T/node.xml" "guest1:$U1" "guest2:$U2" "guest3:$U3:off"
URI=test://$T/node.xml
vsf_key "$T/key" 4096
vsf_key "$T/wrongkey" 4096

# start_daemon NAME HASH [EXTRA_CONF]: stock daemon on a free port; sets
# PORT and LOG.  Another process may take the port between the probe and
# the daemon's bind, so a daemon that exits early is retried on a new one.
start_daemon() {
	local try
	for try in 1 2 3; do
		PORT=$(vsf_free_port)
		vsf_conf_tcp "$T/$1.conf" "$URI" "$PORT" "$T/key" "$2"
		[ -n "${3:-}" ] &&
			sed -i "s|hash = \"$2\";|&\n\t\t$3|" "$T/$1.conf"
		LOG=$T/$1.log
		vsf_start_fence_virtd "$1" "$T/$1.conf" \
			'^ipv4_listen: Success; fd = [0-9]+' 15 && return 0
	done
	vsf_fail "$1: stock fence_virtd did not listen"
	vsf_finish
}

# client ARGS... CMD: one request; sets RC and OUT.
client() {
	OUT=$("$VSF_PEER" client-tcp -p "$PORT" -t 20 "$@")
	RC=$?
}

start_daemon sha256 sha256
client -k "$T/key" status:guest2
vsf_check "status guest2: exit" 0 "$RC"
vsf_check "status guest2: result" "result status guest2 0" "$OUT"
vsf_check_grep "daemon decoded our request" "$LOG" \
	'^Request 4 seqno [0-9]+ src 127\.0\.0\.1 target guest2$'
client -k "$T/key" off:guest2
vsf_check "off guest2: exit" 0 "$RC"
client -k "$T/key" status:guest2
vsf_check "status guest2 after off: exit" 2 "$RC"
client -k "$T/key" on:guest2
vsf_check "on guest2: exit" 0 "$RC"
client -k "$T/key" status:guest2
vsf_check "status guest2 after on: exit" 0 "$RC"
client -k "$T/key" status:guest3
vsf_check "status guest3 (shut off): exit" 2 "$RC"
client -k "$T/key" status:nosuch
vsf_check "status of unknown domain: exit" 2 "$RC"
client -k "$T/key" off:nosuch
vsf_check "off of unknown domain: exit" 1 "$RC"
client -k "$T/key" monitor
vsf_check "monitor: exit" 0 "$RC"
client -k "$T/key" -x list
vsf_check "list: exit (0xFD)" 253 "$RC"
vsf_check "list: stock records match our encoder" "4 0" \
	"$(grep -c ' match=same$' <<<"$OUT") $(grep -c ' match=differs$' <<<"$OUT")"
OUT=$(grep -v '^raw ' <<<"$OUT")
vsf_check "list: records, terminator, trailer" "result list  253
host guest1 $U1 1
host guest2 $U2 1
host guest3 $U3 5
trailer 0" "$OUT"
client -k "$T/key" -c sha512 status:guest1
vsf_check "sha512 request to a sha256 minimum: exit" 0 "$RC"

# Refusals.  The daemon drops the connection without a result (exit 10).
client -k "$T/wrongkey" off:guest1
vsf_check "wrong key: connection dropped" 10 "$RC"
vsf_check_grep "wrong key: daemon saw a bad signature" "$LOG" \
	'^Hash mismatch:$'
client -k "$T/key" -c sha1 off:guest1
vsf_check "sha1 request below sha256 minimum: connection dropped" 10 "$RC"
vsf_check_grep "sha1: daemon says too weak" "$LOG" \
	'^Hash type not strong enough \(1 < 2\)$'
# Auth is not negotiated: a sha512 challenge gets a sha256 answer.
client -k "$T/key" -C sha512 off:guest1
vsf_check "auth sha512 against the daemon: answer fails our check" 11 "$RC"
client -k "$T/key" status:guest1
vsf_check "guest1 untouched by the refused offs" 0 "$RC"
vsf_stop "$VSF_PID"

# Stock quirk: the tcp listener parses "auth" into the minimum hash and
# keeps sha256 for the challenge-response.
start_daemon authq sha256 'auth = "sha512";'
client -k "$T/key" status:guest1
vsf_check "auth=sha512 config: sha256 request refused" 10 "$RC"
client -k "$T/key" -c sha512 -C sha256 status:guest1
vsf_check "auth=sha512 config: sha512 request, sha256 challenge" 0 "$RC"
vsf_stop "$VSF_PID"

vsf_finish
