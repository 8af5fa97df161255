#!/bin/bash
# Stock `fence_virt -T 127.0.0.1 -p PORT` against `vsf_peer serve-tcp`.
#
# vsf_peer verifies the stock agent's 176-byte signed request, answers its
# challenge and challenges it back using libvsfproto only, so each passing
# call proves our request decoder, signature check and challenge-response
# byte-compatible with the stock agent, for sha256 and sha512, and shows
# that a wrong key or a too-weak hash is refused.
. "$(dirname "$0")/lib.sh"
vsf_setup
vsf_require_prog "$FENCE_VIRT" "$VSF_PEER" timeout

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
U2=2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02
U4=4d1f2a3b-5c6d-4e7f-8091-a2b3c4d5e604
DOMS="guest1:$U1:on guest2:$U2:on vmdeny:$U4:on:deny"
KEY=$VSF_TMP/key
vsf_key "$KEY" 4096
vsf_key "$VSF_TMP/wrongkey" 4096

# serve NAME ARGS...: start serve-tcp; sets PORT (and LOG).
serve() {
	local name=$1
	shift
	vsf_bg "$name" "$VSF_PEER" serve-tcp -l 60 "$@" $DOMS
	LOG=$VSF_TMP/$name.log
	vsf_wait_line "$LOG" '^port [0-9]+' 5 ||
		{ vsf_fail "serve-tcp $name printed no port"; vsf_finish; }
	PORT=$(awk '/^port /{print $2; exit}' "$LOG")
}

# agent ARGS...: stock agent against $PORT; sets RC and OUT (stdout).
agent() {
	OUT=$(timeout 30 "$FENCE_VIRT" -T 127.0.0.1 -p "$PORT" -t 5 "$@" \
		2>>"$VSF_TMP/agent-stderr.log")
	RC=$?
}

# last_line: the newest line of the current server log.
last_line() {
	tail -n 1 "$LOG"
}

serve sha256 -k "$KEY" -C sha256 -c sha256
agent -k "$KEY" -C sha256 -c sha256 -o status -n guest2
vsf_check "sha256 status guest2: exit" 0 "$RC"
vsf_check "sha256 status guest2: output" "Status: ON" "$OUT"
vsf_check_grep "sha256 request verified" "$LOG" \
	'^req op=status hashtype=2 domain=guest2 seqno=[0-9]+ result=0 reencode=same$'
agent -k "$KEY" -C sha256 -c sha256 -o off -n guest2
vsf_check "sha256 off guest2: exit" 0 "$RC"
agent -k "$KEY" -C sha256 -c sha256 -o status -n guest2
vsf_check "sha256 status after off: exit" 2 "$RC"
vsf_check "sha256 status after off: output" "Status: OFF" "$OUT"
agent -k "$KEY" -C sha256 -c sha256 -o off -n nosuch
vsf_check "off of unknown domain: exit" 1 "$RC"
agent -k "$KEY" -C sha256 -c sha256 -o reboot -n vmdeny
vsf_check "reboot denied by the host: exit" 3 "$RC"
agent -k "$KEY" -C sha256 -c sha256 -o list
vsf_check "sha256 list: exit" 0 "$RC"
vsf_check "sha256 list: output" "$(printf '%-32s %s %s\n' guest1 $U1 on \
	guest2 $U2 off vmdeny $U4 on)" "$OUT"

# The request hash may be stronger than the server's minimum.
agent -k "$KEY" -C sha256 -c sha512 -o status -n guest1
vsf_check "sha512 request to sha256 server: exit" 0 "$RC"
vsf_check_grep "sha512 request verified" "$LOG" \
	'^req op=status hashtype=3 domain=guest1 .* result=0 reencode=same$'

# Refusals: the stock agent reports failure (1) for each.
agent -k "$VSF_TMP/wrongkey" -C sha256 -c sha256 -o off -n guest1
vsf_check "wrong key: exit" 1 "$RC"
vsf_check "wrong key: signature rejected" \
	"reject request: signature mismatch" "$(last_line)"
agent -k "$KEY" -C sha256 -c sha1 -o off -n guest1
vsf_check "sha1 request below sha256 minimum: exit" 1 "$RC"
vsf_check "sha1 request: refused as too weak" \
	"reject request: hash type weaker than required" "$(last_line)"
agent -k "$KEY" -C sha512 -c sha256 -o off -n guest1
vsf_check "auth sha512 against sha256 server: exit" 1 "$RC"
agent -k "$KEY" -C sha256 -c sha256 -o status -n guest1
vsf_check "guest1 untouched by the refused offs: exit" 0 "$RC"

serve sha512 -k "$KEY" -C sha512 -c sha512
agent -k "$KEY" -C sha512 -c sha512 -o off -n guest1
vsf_check "sha512 auth and hash: off exit" 0 "$RC"
vsf_check_grep "sha512 off verified" "$LOG" \
	'^req op=off hashtype=3 domain=guest1 .* result=0 reencode=same$'
agent -k "$KEY" -C sha512 -c sha256 -o off -n guest1
vsf_check "sha256 request below sha512 minimum: exit" 1 "$RC"

# No key on either side: no hash, no challenge bytes at all.
serve nokey -C none -c none
agent -C none -c none -o status -n guest1
vsf_check "no key, no auth: exit" 0 "$RC"
vsf_check_grep "unhashed request accepted" "$LOG" \
	'^req op=status hashtype=0 domain=guest1 .* result=0 reencode=same$'

# Every stock request our decoder saw re-encodes to the same 176 bytes.
vsf_check "our encoder reproduces every stock request byte for byte" 0 \
	"$(cat "$VSF_TMP"/sha256.log "$VSF_TMP"/sha512.log "$LOG" |
		grep '^req ' | grep -vc ' reencode=same$')"

# A -k naming a missing file is an argument error (exit 1) before any
# connection; only the default key path falls back to no authentication.
n_before=$(grep -c '^req ' "$LOG")
agent -k "$VSF_TMP/absent" -o status -n guest1
vsf_check "missing -k file: exit" 1 "$RC"
vsf_check "missing -k file: nothing sent" "$n_before" "$(grep -c '^req ' "$LOG")"

vsf_finish
