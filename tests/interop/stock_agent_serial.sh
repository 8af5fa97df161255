#!/bin/bash
# Stock `fence_virt -D <pty>` against `vsf_peer serve-serial`, and stock
# `fence_virt -A 127.0.0.1 -p PORT` (VMChannel mode) against
# `vsf_peer serve-vmchannel`.
#
# vsf_peer decodes the stock agent's 74-byte requests and encodes its
# replies (5-byte responses, 130-byte host records, terminator, trailing
# response) with libvsfproto only, so every passing call proves our v1
# serial codecs byte-compatible with the stock agent.  The checks also pin
# down the stock agent's exit codes and output for each result.
. "$(dirname "$0")/lib.sh"
vsf_setup
vsf_require_prog "$FENCE_VIRT" "$VSF_PEER" timeout

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
U2=2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02
U3=0c5a3e2d-8f7b-4c1e-a2d4-6b9e8f7a1c03
U4=4d1f2a3b-5c6d-4e7f-8091-a2b3c4d5e604
U5=5e2a3b4c-6d7e-4f80-91a2-b3c4d5e6f705

vsf_bg peer "$VSF_PEER" serve-serial -l 90 guest1:$U1:on guest2:$U2:on \
	guest3:$U3:off vmdeny:$U4:on:deny vmsilent:$U5:on:silent
PEER=$VSF_PID
vsf_wait_line "$VSF_TMP/peer.log" '^pty /' 5 ||
	{ vsf_fail "serve-serial printed no pty"; vsf_finish; }
PTY=$(awk '/^pty /{print $2; exit}' "$VSF_TMP/peer.log")

# agent ARGS...: run the stock agent on the pty; sets RC and OUT (stdout).
agent() {
	OUT=$(timeout 30 "$FENCE_VIRT" -D "$PTY" "$@" \
		2>>"$VSF_TMP/agent-stderr.log")
	RC=$?
}

agent -t 5 -o status -n guest2
vsf_check "status guest2 (running): exit" 0 "$RC"
vsf_check "status guest2 (running): output" "Status: ON" "$OUT"
agent -t 5 -o off -n guest2
vsf_check "off guest2: exit" 0 "$RC"
agent -t 5 -o status -n guest2
vsf_check "status guest2 after off: exit" 2 "$RC"
vsf_check "status guest2 after off: output" "Status: OFF" "$OUT"
agent -t 5 -o on -n guest2
vsf_check "on guest2: exit" 0 "$RC"
agent -t 5 -o status -n guest2
vsf_check "status guest2 after on: exit" 0 "$RC"
agent -t 5 -o reboot -n guest2
vsf_check "reboot guest2: exit" 0 "$RC"
agent -t 5 -o status -n $U1
vsf_check "status by UUID: exit" 0 "$RC"
agent -t 5 -o status -n guest3
vsf_check "status guest3 (shut off): exit" 2 "$RC"
agent -t 5 -o status -n nosuch
vsf_check "status of unknown domain: exit" 2 "$RC"
agent -t 5 -o off -n nosuch
vsf_check "off of unknown domain: exit" 1 "$RC"
agent -t 5 -o reboot -n nosuch
vsf_check "reboot of unknown domain: exit" 1 "$RC"
agent -t 5 -o off -n vmdeny
vsf_check "off denied by the host: exit" 3 "$RC"
agent -t 5 -o monitor
vsf_check "monitor: exit" 0 "$RC"

# The host list, as the stock agent formats it: "%-32s %s %s", on/off.
want_list=$(printf '%-32s %s %s\n' guest1 $U1 on guest2 $U2 on \
	guest3 $U3 off vmdeny $U4 on vmsilent $U5 on)
agent -t 5 -o list
vsf_check "list: exit" 0 "$RC"
vsf_check "list: output" "$want_list" "$OUT"
# The trailing response of the last list is still queued on the tty: the
# next call must flush it and still get its own answer.
agent -t 5 -o list-status
vsf_check "list-status after list: exit" 0 "$RC"
vsf_check "list-status after list: output" "$want_list" "$OUT"
agent -t 5 -o status -n guest1
vsf_check "status after a list (trailer discarded): exit" 0 "$RC"

# No answer at all (what the stock daemon does with a duplicate): the agent
# gives up at -t and exits 255.
agent -t 2 -o status -n vmsilent
vsf_check "status with no answer: exit" 255 "$RC"

# Client-local actions never reach the wire.
n_before=$(grep -c '^req ' "$VSF_TMP/peer.log")
agent -o validate-all -n guest1
vsf_check "validate-all: exit" 0 "$RC"
agent -o metadata
vsf_check "metadata: exit" 0 "$RC"
n_after=$(grep -c '^req ' "$VSF_TMP/peer.log")
vsf_check "validate-all and metadata send nothing" "$n_before" "$n_after"

# What the stock agent put on the wire, as our decoder saw it.
vsf_check "requests decoded" 17 "$n_after"
vsf_check "no undecodable frames" 0 "$(grep -c '^bad frame' "$VSF_TMP/peer.log")"
vsf_check "our encoder reproduces every stock request byte for byte" 0 \
	"$(grep '^req ' "$VSF_TMP/peer.log" | grep -vc ' reencode=same$')"
vsf_check "flags always 0" 0 \
	"$(grep '^req ' "$VSF_TMP/peer.log" | grep -vc ' flags=0 ')"
vsf_check_grep "off carried op and domain" "$VSF_TMP/peer.log" \
	'^req op=off flags=0 domain=guest2 seqno=[0-9]+ result=0 '
vsf_check_grep "monitor is op 5 with an empty domain" "$VSF_TMP/peer.log" \
	'^req op=monitor flags=0 domain= seqno'
# fence_virt uses tv_usec as the seqno: always below 1000000.
vsf_check "seqnos below 1000000" 0 "$(awk '/^req /{
	for (i = 1; i <= NF; i++) if ($i ~ /^seqno=/) {
		split($i, a, "="); if (a[2] + 0 >= 1000000) n++ } }
	END { print n + 0 }' "$VSF_TMP/peer.log")"

vsf_stop "$PEER"

# VMChannel mode (no -D): the same serial framing over tcp to -A:-p, as a
# guest with a guestfwd channel would send it.
vsf_bg vmchan "$VSF_PEER" serve-vmchannel -l 60 guest1:$U1:on guest2:$U2:on
vsf_wait_line "$VSF_TMP/vmchan.log" '^port [0-9]+' 5 ||
	{ vsf_fail "serve-vmchannel printed no port"; vsf_finish; }
PORT=$(awk '/^port /{print $2; exit}' "$VSF_TMP/vmchan.log")
vmchan() {
	OUT=$(timeout 30 "$FENCE_VIRT" -A 127.0.0.1 -p "$PORT" -t 5 "$@" \
		2>>"$VSF_TMP/agent-stderr.log")
	RC=$?
}
vmchan -o off -n guest1
vsf_check "vmchannel off guest1: exit" 0 "$RC"
vmchan -o status -n guest1
vsf_check "vmchannel status after off: exit" 2 "$RC"
vmchan -o reboot -n nosuch
vsf_check "vmchannel reboot of unknown domain: exit" 1 "$RC"
vmchan -o list
vsf_check "vmchannel list: output" "$(printf '%-32s %s %s\n' guest1 $U1 off \
	guest2 $U2 on)" "$OUT"
vsf_check "vmchannel: every request re-encodes byte for byte" "4 0" \
	"$(grep -c ' reencode=same$' "$VSF_TMP/vmchan.log") \
$(grep '^req ' "$VSF_TMP/vmchan.log" | grep -vc ' reencode=same$')"

vsf_finish
