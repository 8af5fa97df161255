#!/bin/bash
# `vsf_peer client-channel` against the STOCK fence_virtd serial listener,
# in mode "serial" (<serial> devices) and mode "vmchannel" (<channel>
# devices), with the stock libvirt backend on a libvirt test-driver node.
#
# vsf_peer plays QEMU: it listens on the guest's unix socket, the stock
# daemon connects to it, and vsf_peer sends 74-byte requests encoded by
# libvsfproto and decodes the stock replies (5-byte responses, host
# records, terminator, trailing response) with libvsfproto.  The checks
# pin down the stock result codes, including unknown domains, the group
# ACL and duplicate suppression.
. "$(dirname "$0")/lib.sh"
vsf_setup
vsf_require_prog "$FENCE_VIRTD" "$VSF_PEER" stdbuf

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
U2=2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02
U3=0c5a3e2d-8f7b-4c1e-a2d4-6b9e8f7a1c03
T=$VSF_TMP
mkdir -p "$T/sock" "$T/chan"
NODE=$T/node.xml
URI=test://$NODE
vsf_node_xml "$NODE" \
	"guest1:$U1:serial=$T/sock/guest1.sock:channel=$T/chan/guest1.chan" \
	"guest2:$U2" "guest3:$U3:off"
vsf_key "$T/key"

# run_phase NAME SOCK MODE STEP_SEC [EXTRA_CONF] -- CMD...: start the
# channel client on SOCK, then a stock daemon in MODE; wait for the client.
# Leaves the client's output in $T/NAME-peer.log.
run_phase() {
	local name=$1 sock=$2 mode=$3 step=$4 extra=$5 peer
	shift 6
	vsf_bg "$name-peer" "$VSF_PEER" client-channel -x -s "$sock" -w 15 \
		-t "$step" "$@"
	peer=$VSF_PID
	vsf_wait_line "$T/$name-peer.log" '^listening ' 5 ||
		vsf_fail "$name: client-channel did not listen"
	vsf_conf_serial "$T/$name.conf" "$URI" "$(dirname "$sock")" "$mode" \
		"$T/key" "$extra"
	if ! vsf_start_fence_virtd "$name-fvd" "$T/$name.conf" \
		"^Registered $U1 on [0-9]+" 15; then
		vsf_fail "$name: stock fence_virtd did not register guest1"
		vsf_stop "$peer"
		return
	fi
	FVD=$VSF_PID
	vsf_wait_exit "$peer" 60 || vsf_fail "$name: client did not finish"
	vsf_stop "$FVD"
}

# check_results NAME WANT...: the client's "result" lines, one check each.
check_results() {
	local name=$1 i=0 got
	shift
	mapfile -t got < <(sed -n 's/^result //p' "$T/$name-peer.log")
	for want in "$@"; do
		vsf_check "$name: reply $((i + 1)) ($want)" "$want" "${got[$i]:-none}"
		i=$((i + 1))
	done
	vsf_check "$name: no more replies" "$#" "${#got[@]}"
}

# The same script in both modes: the codes are the stock libvirt backend's.
CMDS=(status:guest2 off:guest2 status:guest2 on:guest2 status:guest2
	reboot:guest2 status:guest2 status:guest3 list monitor null
	status:$U1 status:nosuch off:nosuch on:nosuch reboot:nosuch)
WANT=("status guest2 0" "off guest2 0" "status guest2 2" "on guest2 0"
	"status guest2 0" "reboot guest2 0" "status guest2 0"
	"status guest3 2" "list  253" "monitor  0" "null  1" "status $U1 0"
	"status nosuch 2" "off nosuch 1" "on nosuch 1" "reboot nosuch 1")
HOSTS="host guest1 $U1 1
host guest2 $U2 1
host guest3 $U3 5
trailer 0"

for mode in serial vmchannel; do
	if [ $mode = serial ]; then
		sock=$T/sock/guest1.sock
	else
		sock=$T/chan/guest1.chan
	fi
	run_phase "$mode" "$sock" "$mode" 20 "" -- "${CMDS[@]}"
	check_results "$mode" "${WANT[@]}"
	vsf_check "$mode: host list records, terminator, trailer" "$HOSTS" \
		"$(grep -E '^(host|trailer) ' "$T/$mode-peer.log")"
	# Each stock record equals our encoding of it, except the bytes the
	# stock daemon leaves uninitialised (63, 127, pad).
	vsf_check "$mode: stock records match our encoder" \
		"4 0" "$(grep -c ' match=same$' "$T/$mode-peer.log") \
$(grep -c ' match=differs$' "$T/$mode-peer.log")"
	vsf_check "$mode: client saw no errors" 0 \
		"$(grep -c '^error' "$T/$mode-peer.log")"
	# The daemon identifies the channel by the domain's UUID and decoded
	# our request fields as sent.
	vsf_check_grep "$mode: daemon saw src UUID and target" \
		"$T/$mode-fvd.log" "Request 1 seqno [0-9]+ src $U1 target guest2\$"
	vsf_check "$mode: daemon handled every request" "${#CMDS[@]}" \
		"$(grep -c "Request [0-9] seqno [0-9]* src $U1 target" \
			"$T/$mode-fvd.log")"
done

# Group ACL: guest1 may fence only members of its group (listed by name
# or UUID).  Others get 3; the host list is filtered; NULL is not checked.
ACL_CONF="groups {
	group {
		name = \"g1\";
		uuid = \"$U1\";
		uuid = \"guest2\";
	}
}"
run_phase acl "$T/sock/guest1.sock" serial 3 "$ACL_CONF" -- \
	status:guest2 off:guest3 status:guest3 list null status:guest2 \
	=status:guest2 status:guest1 status:$U1
# guest1 is listed by UUID only and the target string is compared as sent,
# so "guest1" is denied while its UUID is allowed.
check_results acl "status guest2 0" "off guest3 3" "status guest3 3" \
	"list  253" "null  1" "status guest2 0" "status guest1 3" \
	"status $U1 0"
vsf_check "acl: host list filtered to the group" \
	"host guest1 $U1 1
host guest2 $U2 1
trailer 0" "$(grep -E '^(host|trailer) ' "$T/acl-peer.log")"
# A repeated (op, seqno, domain) within 10 s gets no reply at all.
vsf_check_grep "acl: duplicate request left unanswered" "$T/acl-peer.log" \
	'^error status guest2: Connection timed out$'

vsf_finish
