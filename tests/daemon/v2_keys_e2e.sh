#!/bin/bash
# vserial-fenced, protocol v2 on guest channels, against a REAL libvirtd
# (unprivileged, shared test:///default driver) with a python v2 guest on
# each channel socket (v2_peer.py, standing in for QEMU):
#   - SIGHUP reloads the v2 keys: a per-guest key and the shared key are
#     rotated; a broken key file leaves the old keys in force (one clear
#     log line); an exchange that began before the reload finishes under
#     the key it began with, and so does a request in flight;
#   - a retry (same request id) of a request still running is answered
#     IN_PROGRESS at once, the first attempt then gets its final RESULT,
#     a later retry the cached one, and the domain is fenced once
#     (libvirtd is stopped with SIGSTOP to hold the request in the backend);
#   - the daemon served a host list; under an ASan build its log must show
#     no sanitizer report at shutdown (LeakSanitizer included).
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
PEER="python3 $(cd "$(dirname "$0")" && pwd)/v2_peer.py"
vsf_require_prog "$FENCED" /usr/sbin/libvirtd virsh setpriv python3 stdbuf
. "$(dirname "$0")/fenced.sh"
. "$(dirname "$0")/lvd.sh"

U1=11111111-2222-3333-4444-0000000000a1
U2=11111111-2222-3333-4444-0000000000a2
lvd_start lvd1 || vsf_finish
mkdir -p "$T/keys"
for k in K1 K2 K3 K4 S1 S2; do vsf_key "$T/$k"; done
cp -p "$T/K1" "$T/keys/$U1"
cp -p "$T/S1" "$T/shared.key"
cat >"$T/c.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; key_file = "$T/shared.key"; } }
backends { libvirt { uri = "$URI"; } }
vserial_fenced { key_dir = "$T/keys"; timeout = "30"; }
EOC
vsf_bg d stdbuf -oL -eL "$FENCED" -F -d 1 -f "$T/c.conf"
DAEMON=$VSF_PID
vsf_wait_line "$T/d.log" "started \(config" 10 || vsf_fail "daemon did not start"

# install FILE as DEST atomically (rename), as an admin rotating a key would
rotate() { cp -p "$1" "$2.new" && mv "$2.new" "$2"; }
# hup: SIGHUP the daemon, wait for the listener's outcome line (the Nth
# for the Nth SIGHUP) and leave it in $HUP_LINE (not in a subshell: HUPS)
HUPS=0
hup() {
	HUPS=$((HUPS + 1))
	kill -HUP "$DAEMON"
	local i
	for i in $(seq 200); do
		[ "$(grep -cE "SIGHUP: listener 'serial': " "$T/d.log")" -ge "$HUPS" ] && break
		sleep 0.05
	done
	HUP_LINE=$(grep -E "SIGHUP: listener 'serial': " "$T/d.log" |
		sed -n "${HUPS}p" | sed 's/.*\(\(notice\|error\): \)/\1/')
}
go() { touch "$T/$1"; }
got() { grep -E "^$1 " "$T/$2.log" | head -1 | cut -d' ' -f2-; }

# g1 has its own key (K1, then K2, K3, K4); g2 uses the shared key
lvd_define_guest g1 $U1
lvd_define_guest g2 $U2
vsf_bg p1 $PEER "$T/sock/g1.sock" key:"$T/K1" call:a1:101:4:test \
	touch:"$T/a1" wait:"$T/go2" \
	key:"$T/K2" call:a2:102:4:test key:"$T/K1" call:a3:103:4:test \
	touch:"$T/a3" wait:"$T/go3" \
	key:"$T/K2" call:a4:104:4:test hello:105 touch:"$T/h5" wait:"$T/go4" \
	send:105:4:test result:a5 key:"$T/K3" call:a6:106:4:test \
	call:l1:108:6: touch:"$T/a6" wait:"$T/go5" \
	hello:107 send:107:1:test touch:"$T/s7" wait:"$T/go6" \
	key:"$T/K4" call:b1:107:1:test touch:"$T/b1" wait:"$T/go7" \
	key:"$T/K3" await:b0:107 key:"$T/K4" call:b2:107:1:test
P1=$VSF_PID
vsf_bg p2 $PEER "$T/sock/g2.sock" key:"$T/S1" call:c1:201:4:test \
	touch:"$T/c1" wait:"$T/go2" key:"$T/S2" call:c2:202:4:test \
	key:"$T/S1" call:c3:203:4:test
P2=$VSF_PID
lvd_wait_sock g1 && lvd_wait_sock g2
virsh -q -c "$URI" start g1 >/dev/null && virsh -q -c "$URI" start g2 >/dev/null
wait_file "$T/a1" 20 && wait_file "$T/c1" 20
vsf_check "g1 with its own key K1: status test" 0 "$(got a1 p1)"
vsf_check "g2 with the shared key S1: status test" 0 "$(got c1 p2)"

# 1: rotate both keys, SIGHUP: the new keys are in force, the old refused
rotate "$T/K2" "$T/keys/$U1"
rotate "$T/S2" "$T/shared.key"
hup
vsf_check "SIGHUP reloads both keys in use" \
	"notice: SIGHUP: listener 'serial': keys reloaded (2 in use)" "$HUP_LINE"
go go2
wait_file "$T/a3" 20; vsf_wait_exit "$P2" 20
vsf_check "after the reload g1's new key K2 works" 0 "$(got a2 p1)"
vsf_check "after the reload g1's old key K1 is refused" badmac "$(got a3 p1)"
vsf_check "after the reload the new shared key S2 works" 0 "$(got c2 p2)"
vsf_check "after the reload the old shared key S1 is refused" badmac \
	"$(got c3 p2)"

# 2: a broken key file (group-readable) on SIGHUP: old keys stay in force
chmod 644 "$T/keys/$U1"
hup
echo "$HUP_LINE" >"$T/hup2.out"
vsf_check_grep "broken key on SIGHUP: one line naming the file, keys kept" \
	"$T/hup2.out" "^error: SIGHUP: listener 'serial': domain g1: .*$U1.*; keeping the keys in force, none changed"
go go3
wait_file "$T/h5" 20
vsf_check "old key K2 still in force after the failed reload" 0 "$(got a4 p1)"

# 3: a challenge issued under K2, then K3 comes in: that exchange finishes
# under K2, the next one uses K3
rotate "$T/K3" "$T/keys/$U1"
hup
vsf_check "fixed key file reloads" \
	"notice: SIGHUP: listener 'serial': keys reloaded (2 in use)" "$HUP_LINE"
go go4
wait_file "$T/a6" 20
vsf_check "exchange begun under the old key finishes under it" 0 "$(got a5 p1)"
vsf_check "the next exchange uses the reloaded key K3" 0 "$(got a6 p1)"
vsf_check "host list served over v2" 0 "$(got l1 p1)"

# 4: OFF test held in the backend (libvirtd stopped); meanwhile K4 comes
# in; the retry with the same id is answered IN_PROGRESS (6) at once
kill -STOP "$LVD"
go go5
wait_file "$T/s7" 20
rotate "$T/K4" "$T/keys/$U1"
hup
vsf_check "K4 loaded while a request is in flight" \
	"notice: SIGHUP: listener 'serial': keys reloaded (2 in use)" "$HUP_LINE"
# libvirtd is continued once the
# retry has been answered (or its wait timed out)
go go6
wait_file "$T/b1" 20
kill -CONT "$LVD"
vsf_check "retry of a running request: IN_PROGRESS at once" 6 "$(got b1 p1)"
go go7
vsf_wait_exit "$P1" 30 || vsf_fail "g1 peer did not finish"
vsf_check "the first attempt gets its RESULT, under its own key K3" 0 \
	"$(got b0 p1)"
vsf_check "a retry after completion gets the cached result" 0 "$(got b2 p1)"
vsf_check "test fenced once" 1 \
	"$(grep -c "notice: request #[0-9]* from channel g1 .*: off test -> ok" "$T/d.log")"
vsf_check_grep "the retry is logged as answered in progress" "$T/d.log" \
	"seqno 107 is a retransmit, answering in progress"
vsf_check "test is shut off" "shut off" \
	"$(virsh -q -c "$URI" domstate test 2>&1)"

fenced_stop "$DAEMON" "$T/d.log"
lvd_stop
vsf_finish
