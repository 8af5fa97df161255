#!/bin/bash
# Protocol v2 negotiation against the STOCK fence_virtd is harmless.
#
# The stock serial listener (mode vmchannel) reads every 74 bytes from a
# guest channel as a v1 request and never checks the magic.  v2_probe plays
# QEMU on guest1's channel socket and sends v2 frames through it:
#   - a HELLO (74 bytes, bytes 4 and 6 zero) must come back as a v1 "abba"
#     response (the agent's signal to fall back to v1), twice in a row: the
#     salt at bytes 70..73 keeps stock's 10 s duplicate filter from
#     swallowing the second one, which an unsalted HELLO shows;
#   - a whole v2 REQUEST "off victim" (89 bytes; padded to 148 so that its
#     tail is read as a complete second v1 request) must only get v1
#     answers and must not destroy "victim";
#   - "victim" must still be on, asked with a v1 STATUS through the same
#     daemon (the libvirt test driver keeps state per connection, so only
#     the daemon's own connection would show a destroy), and a v1 OFF as a
#     control must turn it off, proving the STATUS check can fail.
. "$(dirname "$0")/lib.sh"
vsf_setup
V2_PROBE=${V2_PROBE:-$PWD/tests/interop/v2_probe}
vsf_require_prog "$FENCE_VIRTD" "$V2_PROBE" stdbuf

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
UV=3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b
T=$VSF_TMP
mkdir -p "$T/sock"
NODE=$T/node.xml
URI=test://$NODE
vsf_node_xml "$NODE" "guest1:$U1:channel=$T/sock/guest1.sock" "victim:$UV"
vsf_key "$T/key"
vsf_conf_serial "$T/fvd.conf" "$URI" "$T/sock" vmchannel "$T/key"

# The socket exists before the daemon starts: it connects at start-up.
vsf_bg probe "$V2_PROBE" -s "$T/sock/guest1.sock" -w 15 -t 3 \
	hello hello hello-nosalt hello-nosalt request:off:victim \
	v1:status:victim v1:off:victim v1:status:victim
PROBE=$VSF_PID
vsf_wait_line "$T/probe.log" '^listening ' 5 || vsf_fail "probe did not listen"
if ! vsf_start_fence_virtd fvd "$T/fvd.conf" "^Registered $U1 on [0-9]+" 15
then
	vsf_fail "stock fence_virtd did not register guest1's channel"
	vsf_finish
fi
FVD=$VSF_PID
vsf_wait_exit "$PROBE" 60 || vsf_fail "probe did not finish"
vsf_check "probe exit status" 0 "${VSF_RC:-none}"
vsf_stop "$FVD"

answers() { sed -n "s/^$1 //p" "$T/probe.log" | tr '\n' '|'; }

vsf_check "HELLO answered by v1 abba (fallback signal), twice" \
	"v1 1|v1 1|" "$(answers hello)"
vsf_check "unsalted HELLO: second one dropped by stock's history" \
	"v1 1|timeout|" "$(answers hello-nosalt)"
vsf_check_grep "stock read HELLO as op NULL with an empty domain" \
	"$T/fvd.log" "Request 0 seqno -?[0-9]+ src $U1 target \$"
vsf_check_grep "stock ran NULL for it" "$T/fvd.log" \
	"NULL operation: returning failure"
req=$(answers request:off:victim)
case $req in
"v1 1|v1 "*"|") vsf_pass "v2 REQUEST: only v1 answers ($req)" ;;
*) vsf_fail "v2 REQUEST: want two v1 answers, got '$req'" ;;
esac
vsf_check "victim still on after v2 frames, then off after v1 OFF" \
	"v1 0|v1 2|" "$(answers v1:status:victim)"
vsf_check "control: v1 OFF victim succeeded" "v1 0|" \
	"$(answers v1:off:victim)"
vsf_check "stock destroyed victim exactly once (the control)" 1 \
	"$(grep -ac 'Calling virDomainDestroy for victim' "$T/fvd.log")"
vsf_finish
