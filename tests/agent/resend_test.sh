#!/bin/sh
# resend_test.sh - fence_vserial asks again, with the same request id, after
# AGENT_RESEND_MS (5 s) of silence: an answer lost on the way (a guest that
# live-migrated while its request was in flight) costs seconds, not the
# whole timeout.
#
#  1. tests/agent/fake_host.py swallow-first: the first v1 request gets no
#     answer, the resend (same seqno) does.
#  2. The real stock fence_virtd (serial listener, vmchannel mode, libvirt
#     test:/// driver, socat standing in for QEMU), stopped with SIGSTOP
#     while the agent's request waits in its socket, so the agent resends;
#     after SIGCONT stock acts once and drops the repeat ("We just did this
#     request"), as its 10 s history does.  Forced v1, then the default
#     protocol (a HELLO, the fallback to v1, then the resend).
#  3. Our vserial-fenced, stopped the same way, protocol 2 forced: the HELLO
#     is sent again, the first CHALLENGE (the old attempt's nonce) is
#     ignored as stale and the second one leads to the answer.
set -u
. "${srcdir:-.}/tests/agent/lib.sh"

command -v python3 >/dev/null || skip "python3 missing: install python3"
command -v socat >/dev/null || skip "socat missing: install socat"
command -v fence_virtd >/dev/null || skip "fence_virtd missing: install fence-virtd"
FAKE="python3 $HERE/fake_host.py"
setup_tmp

# --- 1. an answer lost once -------------------------------------------------
$FAKE unix "$T/sw.sock" swallow-first "$T/sw.log" &
track $!
wait_for 5 '[ -S "$T/sw.sock" ]'
t0=$(now_ms); run_agent "$T/sw" -d -D "$T/sw.sock" -R 1 -t 20 -o off -n guest2; t1=$(now_ms)
check "lost answer: the resend is answered (exit $rc)" '[ $rc -eq 0 ]'
check "the host saw the request twice" '[ "$(grep -c "^op=1 " "$T/sw.log")" -eq 2 ]'
check "with the same seqno" '[ "$(grep "^op=1 " "$T/sw.log" | sort -u | wc -l)" -eq 1 ]'
check "-d says it sent it again" 'grep -q "no reply for 5000 ms: sending seqno [0-9]* again" "$T/sw.err"'
check "after the resend interval, well before -t ($((t1 - t0)) ms)" \
	'[ $((t1 - t0)) -ge 4900 ] && [ $((t1 - t0)) -lt 10000 ]'

# --- 2. the real stock fence_virtd ------------------------------------------
mkdir -p "$T/sock"
write_node_xml
make_key "$T/key"
URI="test://$T/node.xml"
cat >"$T/fv.conf" <<EOF
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; mode = "vmchannel"; key_file = "$T/key"; } }
backends { libvirt { uri = "$URI"; } }
EOF
socat -d -d PTY,link="$T/port",raw,echo=0 \
	UNIX-LISTEN:"$T/sock/guest1.sock" >"$T/socat.log" 2>&1 &
track $!
wait_for 5 '[ -S "$T/sock/guest1.sock" ] && [ -e "$T/port" ]' ||
	{ bad "socat did not come up"; finish; }
# -d 3 logs each request and each dropped repeat; line-buffered for us
stdbuf -oL -eL fence_virtd -F -d 3 -f "$T/fv.conf" -p "$T/fv.pid" \
	>"$T/stock.log" 2>&1 &
STOCK=$!
track $STOCK
wait_for 10 'grep -q "accepting connection" "$T/socat.log"' ||
	{ bad "stock fence_virtd did not connect to the channel"; finish; }

# stock_resend NAME ARGS...: the agent's call while stock is stopped; stock
# continues once the agent said it resent.  Leaves rc and $T/NAME.err.
stock_resend() {
	name=$1; shift
	kill -STOP $STOCK
	"$AGENT" -d -D "$T/port" -k "$T/key" -t 20 "$@" >"$T/$name.out" 2>"$T/$name.err" &
	apid=$!
	wait_for 15 'grep -q " again" "$T/$name.err"'
	kill -CONT $STOCK
	wait $apid; rc=$?
}
# requests stock acted on / dropped as repeats, for one seqno
acted() { grep -c "Request $2 seqno $1 " "$T/stock.log"; }
dropped() { grep -c "We just did this request" "$T/stock.log"; }
seqno_of() { sed -n 's/.*seqno \([0-9]*\).*/\1/p' "$1" | head -1; }

stock_resend v1 -R 1 -o off -n guest2
check "stock, v1: answered after a resend (exit $rc)" '[ $rc -eq 0 ]'
check "stock, v1: the agent resent" 'grep -q "sending seqno [0-9]* again" "$T/v1.err"'
# stock logs the seqno as a signed int: compare on a request id below 2^31
s=$(seqno_of "$T/v1.err")
[ "$s" -ge 2147483648 ] && s=$((s - 4294967296))
check "stock read the request twice (seqno $s)" '[ "$(acted "$s" 1)" -eq 2 ]'
check "and dropped the repeat as one it had just done" '[ "$(dropped)" -eq 1 ]'
run_agent "$T/st1" -D "$T/port" -k "$T/key" -t 5 -o status -n guest2
check "guest2 is off, and no stray reply was taken (exit $rc)" '[ $rc -eq 2 ]'

stock_resend auto -o on -n guest2
check "stock, default protocol: answered after a resend (exit $rc)" '[ $rc -eq 0 ]'
check "stock, default protocol: fell back to v1, then resent" \
	'grep -q "falling back to protocol v1" "$T/auto.err" &&
	 grep -q "sending seqno [0-9]* again" "$T/auto.err"'
check "stock dropped that repeat too" '[ "$(dropped)" -eq 2 ]'
run_agent "$T/st2" -D "$T/port" -k "$T/key" -t 5 -o status -n guest2
check "guest2 is on again (exit $rc)" '[ $rc -eq 0 ]'

# --- 3. our daemon, v2 ------------------------------------------------------
VFD=${VSERIAL_FENCED:-./fenced-host/vserial-fenced}
[ -x "$VFD" ] || { bad "our daemon ($VFD) is not built"; finish; }
stop_all	# stock and its socat (socat serves one connection)
rm -f "$T/sock/guest1.sock" "$T/port"
: >"$T/socat.log"
socat -d -d PTY,link="$T/port",raw,echo=0 \
	UNIX-LISTEN:"$T/sock/guest1.sock" >"$T/socat.log" 2>&1 &
track $!
wait_for 5 '[ -S "$T/sock/guest1.sock" ] && [ -e "$T/port" ]' ||
	{ bad "socat did not come up again"; finish; }
"$VFD" -F -d 1 -f "$T/fv.conf" >"$T/ours.log" 2>&1 &
STOCK=$!	# stock_resend stops and continues $STOCK
track $STOCK
wait_for 10 'grep -q "accepting connection" "$T/socat.log"' ||
	{ bad "vserial-fenced did not connect to the channel"; finish; }
stock_resend v2 -R 2 -o off -n guest2
check "ours, v2: answered after a resend (exit $rc)" '[ $rc -eq 0 ]'
check "ours, v2: HELLO sent again for the same request" \
	'[ "$(grep -c "sending HELLO for request" "$T/v2.err")" -eq 2 ] &&
	 [ "$(sed -n "s/.*HELLO for request //p" "$T/v2.err" | sort -u | wc -l)" -eq 1 ] &&
	 grep -q "asking again for request" "$T/v2.err"'
check "ours, v2: the answer came in v2" 'grep -q "v2: result 0" "$T/v2.err"'
check "ours acted once" '[ "$(grep -c "off guest2 -> ok" "$T/ours.log")" -eq 1 ]'

finish
