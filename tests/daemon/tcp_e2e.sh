#!/bin/bash
# vserial-fenced's tcp listener against the STOCK `fence_virt -T`, with the
# challenge-response both ways and signed requests, on libvirt's test:///
# driver.  Also: wrong key and weak hash refused, groups by IP, a silent
# client does not stall others, and serial + tcp listeners at once.
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
. "$(dirname "$0")/fenced.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
vsf_require_prog "$FENCE_VIRT" "$FENCED" "$VSF_PEER" python3

U1=6695eb01-f6a4-8304-79aa-97f2502e193f
U2=2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02
T=$VSF_TMP
mkdir -p "$T/sock"
NODE=$T/node.xml
URI=test://$NODE
vsf_node_xml "$NODE" "g1:$U1:serial=$T/sock/g1.sock" "g2:$U2"
vsf_key "$T/key"
vsf_key "$T/otherkey"
PORT=$(vsf_free_port)

write_conf() {	# FILE LISTENERS [EXTRA]
	cat >"$1" <<EOC
fence_virtd { listener = "tcp"; backend = "libvirt"; }
vserial_fenced { listeners = "$2"; }
listeners {
	tcp { key_file = "$T/key"; address = "127.0.0.1"; port = "$PORT"; }
	serial { uri = "$URI"; path = "$T/sock"; }
}
backends { libvirt { uri = "$URI"; } }
${3:-}
EOC
}

start_daemon() {	# NAME CONF
	vsf_bg "$1" stdbuf -oL -eL "$FENCED" -F -f "$2"
	DAEMON=$VSF_PID DLOG=$T/$1.log
	vsf_wait_line "$T/$1.log" "listener 'tcp' started" 30 || {
		vsf_fail "$1: tcp listener did not start"
		tail -5 "$T/$1.log"
	}
}

fv() {	# NAME ARGS...
	local name=$1
	shift
	timeout 20 "$FENCE_VIRT" -T 127.0.0.1 -p "$PORT" -t 5 "$@" \
		>"$T/$name.out" 2>&1
	FV_RC=$?
}

# -l lists the built-in plugins and exits, as fence_virtd -l does; it
# must not go on to read a config and start serving.
timeout 10 "$FENCED" -l -F -f "$T/absent.conf" >"$T/l.out" 2>&1
vsf_check "-l exits 0 without reading a config" 0 $?
vsf_check_grep "-l lists the tcp listener" "$T/l.out" "^listeners:.* tcp( |$)"
vsf_check_grep "-l lists the libvirt backend" "$T/l.out" "^backends:.* libvirt( |$)"

for d in x -1 +1 " 1" 99999999999999999999; do
	timeout 10 "$FENCED" -d "$d" -F -f "$T/absent.conf" >"$T/d.out" 2>&1
	vsf_check "-d '$d' is a usage error (2)" 2 $?
done

write_conf "$T/a.conf" "tcp"
start_daemon d1 "$T/a.conf"
fv s1 -k "$T/key" -o status -n g2
vsf_check "status g2 over tcp" 0 "$FV_RC"
vsf_check_grep "status prints ON" "$T/s1.out" "Status: ON"
fv o1 -k "$T/key" -o off -n g2
vsf_check "off g2 over tcp" 0 "$FV_RC"
fv s2 -k "$T/key" -o status -n g2
vsf_check "status after off (2)" 2 "$FV_RC"
fv o2 -k "$T/key" -o on -n $U2
vsf_check "on by uuid" 0 "$FV_RC"
fv r1 -k "$T/key" -o reboot -n g2
vsf_check "reboot" 0 "$FV_RC"
fv l1 -k "$T/key" -o list
vsf_check "list" 0 "$FV_RC"
vsf_check "list shows both domains" "g1 g2" "$(awk '/-/{print $1}' "$T/l1.out" | xargs)"
fv u1 -k "$T/key" -o off -n nosuch
vsf_check "off unknown domain fails (1)" 1 "$FV_RC"
vsf_check_grep "NOTICE line names the tcp peer" "$T/d1.log" \
	"notice: request #[0-9]+ from tcp 127.0.0.1 port [0-9]+: off g2 -> ok \([0-9]+ ms\)"

fv w1 -k "$T/otherkey" -o status -n g2
[ "$FV_RC" -ne 0 ]; vsf_check "wrong key refused" 0 $?
vsf_check_grep "wrong key logged" "$T/d1.log" "bad signature|wrong answer"
fv w2 -k "$T/key" -c sha1 -o status -n g2
[ "$FV_RC" -ne 0 ]; vsf_check "sha1 below the sha256 minimum refused" 0 $?
vsf_check_grep "weak hash logged" "$T/d1.log" "weaker than the configured minimum"
fv w3 -k "$T/key" -C sha512 -o status -n g2
[ "$FV_RC" -ne 0 ]; vsf_check "auth type mismatch refused" 0 $?

# SIGHUP reads key_file again: a rotated key is in force at once; a key
# file that no longer loads (mode 0644) leaves the running key in force
HUPS=0
hup() {	# ERE of the listener's outcome line expected for this SIGHUP
	HUPS=$((HUPS + 1))
	kill -HUP "$DAEMON"
	local i
	for i in $(seq 200); do
		[ "$(grep -c "SIGHUP: listener 'tcp': " "$DLOG")" -ge "$HUPS" ] && break
		sleep 0.05
	done
	grep "SIGHUP: listener 'tcp': " "$DLOG" | sed -n "${HUPS}p" >"$T/hup.out"
	vsf_check_grep "SIGHUP $HUPS: $1" "$T/hup.out" "$1"
}
cp -p "$T/key" "$T/key1"
vsf_key "$T/key2"
vsf_key "$T/key3"
cp -p "$T/key2" "$T/key.new" && mv "$T/key.new" "$T/key"
hup "notice: SIGHUP: listener 'tcp': keys reloaded \(1 in use\)"
fv h1 -k "$T/key2" -o status -n g2
vsf_check "rotated key works after SIGHUP" 0 "$FV_RC"
fv h2 -k "$T/key1" -o status -n g2
[ "$FV_RC" -ne 0 ]; vsf_check "the old key is refused after SIGHUP" 0 $?
cp "$T/key3" "$T/key" && chmod 644 "$T/key"
hup "error: SIGHUP: listener 'tcp': key file '$T/key' has mode 0644.*; keeping the keys in force, none changed"
fv h3 -k "$T/key2" -o status -n g2
vsf_check "a broken key file leaves the running key in force" 0 "$FV_RC"
fv h4 -k "$T/key3" -o status -n g2
[ "$FV_RC" -ne 0 ]; vsf_check "the broken file's key is not used" 0 $?
cp -p "$T/key1" "$T/key.new" && chmod 600 "$T/key.new" && mv "$T/key.new" "$T/key"
hup "notice: SIGHUP: listener 'tcp': keys reloaded"

# a client that connects and says nothing must not delay another
python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $PORT))
time.sleep(4)
" &
SILENT=$!
sleep 0.2
START=$(date +%s%N)
fv s3 -k "$T/key" -o status -n g2
END=$(date +%s%N)
vsf_check "status while a silent client is connected" 0 "$FV_RC"
ms=$(( (END - START) / 1000000 ))
[ "$ms" -lt 2000 ]; vsf_check "served in under 2 s (took ${ms} ms)" 0 $?
kill "$SILENT" 2>/dev/null; wait "$SILENT" 2>/dev/null
fenced_stop "$DAEMON" "$DLOG"

# groups by IP: 127.0.0.1 may act on g1 only
write_conf "$T/g.conf" "tcp" "groups { group { ip = \"127.0.0.1\"; uuid = \"g1\"; } }"
start_daemon d2 "$T/g.conf"
fv g1 -k "$T/key" -o off -n g2
vsf_check "off g2 denied for 127.0.0.1 (3)" 3 "$FV_RC"
fv g2 -k "$T/key" -o status -n g1
vsf_check "status g1 allowed" 0 "$FV_RC"
fv g3 -k "$T/key" -o list
vsf_check "list filtered to g1" "g1" "$(awk '/-/{print $1}' "$T/g3.out" | xargs)"
fenced_stop "$DAEMON" "$DLOG"

# several listeners in one daemon; readiness reported to systemd's
# NOTIFY_SOCKET (a python datagram socket stands in for systemd)
write_conf "$T/b.conf" "serial tcp"
python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('$T/notify'); s.settimeout(10)
print('bound', flush=True)
for _ in range(2):
    print(s.recv(100).decode(), flush=True)
" >"$T/notify.log" 2>&1 &
NOTIFY=$!
vsf_wait_line "$T/notify.log" "^bound" 5
NOTIFY_SOCKET=$T/notify start_daemon d3 "$T/b.conf"
vsf_wait_line "$T/notify.log" "^READY=1" 5
vsf_check "READY=1 sent to NOTIFY_SOCKET once started" 0 $?
vsf_check_grep "serial listener started too" "$T/d3.log" "listener 'serial' started"
fv b1 -k "$T/key" -o status -n g1
vsf_check "tcp works next to serial" 0 "$FV_RC"
fenced_stop "$DAEMON" "$DLOG"
vsf_wait_line "$T/notify.log" "^STOPPING=1" 5
vsf_check "STOPPING=1 sent at shutdown" 0 $?
wait "$NOTIFY" 2>/dev/null

# vsock: same exchange on AF_VSOCK.  Stock `fence_virt -S` only dials CID
# >= 2 (the host), so it can reach us only from a real guest, or through a
# vsock loopback the kernel may lack: check start-up here and say which.
if python3 -c 'import socket; socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)' 2>/dev/null; then
	VPORT=$((40000 + RANDOM % 20000))
	cat >"$T/v.conf" <<EOC
fence_virtd { listener = "vsock"; backend = "libvirt"; }
listeners { vsock { key_file = "$T/key"; port = "$VPORT"; } }
backends { libvirt { uri = "$URI"; } }
EOC
	vsf_bg dv stdbuf -oL -eL "$FENCED" -F -f "$T/v.conf"
	vsf_wait_line "$T/dv.log" "listener 'vsock' started" 10
	vsf_check "vsock listener starts" 0 $?
	fenced_stop "$VSF_PID" "$T/dv.log"
	echo "# vsock: listener start-up checked; no end-to-end run (stock fence_virt -S dials CID >= 2, i.e. a real host)"
else
	echo "# vsock: this kernel has no AF_VSOCK; vsock listener not exercised"
fi

# no key: refuse to start instead of running unauthenticated (stock does)
sed "s|$T/key|$T/missing.key|" "$T/a.conf" >"$T/nokey.conf"
timeout 10 "$FENCED" -F -f "$T/nokey.conf" >"$T/nokey.log" 2>&1
vsf_check "missing key: exit 1" 1 $?
vsf_check_grep "missing key explained" "$T/nokey.log" "missing.key"
vsf_finish
