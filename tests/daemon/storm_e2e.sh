#!/bin/bash
# 2,000 guests on libvirt's test:/// driver, each with its own channel
# socket and one request, plus a storm of requests on one channel: every
# well-formed request is answered, nothing crashes, the log says so.
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
. "$(dirname "$0")/fenced.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
PEER="python3 $(cd "$(dirname "$0")" && pwd)/storm_peer.py"
vsf_require_prog "$FENCED" python3
N=${STORM_GUESTS:-2000}
STORM=${STORM_REQUESTS:-300}
T=$VSF_TMP
mkdir -p "$T/sock"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
{
	echo "<node>"
	for i in $(seq 0 $((N - 1))); do
		printf "<domain type='test'><name>s%d</name><uuid>00000000-0000-4000-8000-%012d</uuid><memory>1024</memory><os><type>hvm</type></os><devices><serial type='unix'><source mode='bind' path='%s/sock/s%d.sock'/><target port='1'/></serial></devices></domain>\n" \
			"$i" "$i" "$T" "$i"
	done
	echo "</node>"
} >"$T/node.xml"
URI=test://$T/node.xml
cat >"$T/c.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; } }
backends { libvirt { uri = "$URI"; } }
EOC
vsf_bg peer $PEER "$T/sock" "$N" "$STORM"
PEERPID=$VSF_PID
vsf_wait_line "$T/peer.log" "^listening" 60 || vsf_fail "peer did not listen"
START=$(date +%s%N)
vsf_bg d stdbuf -oL -eL "$FENCED" -F -f "$T/c.conf"
DAEMON=$VSF_PID
vsf_wait_exit "$PEERPID" 150 || vsf_fail "peer did not finish"
END=$(date +%s%N)
vsf_check "all $N channels connected" "connected $N" "$(grep ^connected "$T/peer.log")"
vsf_check "every channel's request answered (on)" "answered $N of $N" \
	"$(grep ^answered "$T/peer.log")"
vsf_check "storm of $STORM requests on one channel all answered" \
	"storm $STORM of $STORM" "$(grep ^storm "$T/peer.log")"
kill -0 "$DAEMON" 2>/dev/null
vsf_check "daemon still running" 0 $?
vsf_check "one log line per request" $((N + STORM)) \
	"$(grep -c 'info: request #[0-9]* from channel s[0-9]* .*: status s[0-9]* -> ok' "$T/d.log")"
echo "# $N guests + $STORM-request storm: $(( (END - START) / 1000000 )) ms"
fenced_stop "$DAEMON" "$T/d.log"
vsf_finish
