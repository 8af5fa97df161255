#!/bin/bash
# tests/vsdev/mig_cut_test.sh - the migration cut of our virtio-serial
# device (hw-virtio-serial/qemu/vsdev-serial.c port_cut), with paused
# machines and no guest (a few seconds; the booted guest's view is
# migrate_vm_test.sh).  A host writer puts N bytes into the source's port
# socket; the paused guest takes none, so all N are unread when the device
# state is saved.
#   completed: the source took all N through the cut ("cut N" in info
#     qtree), its socket now refuses writes with EPIPE, and the destination
#     holds exactly N in the migrated state ("held N").
#   failed (the destination has a different port set and refuses the
#     stream; return-path lets the source see it): the source keeps the N
#     bytes ("held N"), refuses writes with EPIPE, and once it runs again
#     drops the half-shut connection (the writer sees EOF) and accepts a
#     new one (host on again).
#   over the bound (a writer with a 4 MiB send buffer queues 1.5 MiB): the
#     cut takes VSDEV_HELD_MAX (1 MiB), the destination holds exactly that,
#     and the source warns that the rest stayed behind.
#   hostile stream: the completed stream of a cut (saved with exec:) loads
#     and holds N; the same stream with its held length raised past the
#     bound is refused by the destination with a clear error.
. "$(dirname "$0")/../vm/lib.sh"
. "$(dirname "$0")/our-qemu.sh"
vm_setup vsdev-cut
vsdev_our_qemu

machine=(-M pc,hpet=off,vmport=off -nodefaults -no-user-config -display none
	-accel tcg -m 64 -device virtio-serial-pci,id=vs0)
port=(-device virtserialport,bus=vs0.0,chardev=c1,nr=1,name=org.example.mig)

# start NAME KIND: a source (-S, QMP, port socket) or a destination
# (-incoming, QMP; KIND=bad: without the port, so it refuses our stream).
start() {
	local d=$VM_DIR/$1 extra=()
	mkdir -p "$d"
	case $2 in
	src) extra=(-S) ;;
	dst) extra=(-incoming defer) ;;
	bad) extra=(-incoming defer) ;;
	esac
	local p=("${port[@]}")
	[ "$2" = bad ] &&
		p=(-device virtserialport,bus=vs0.0,chardev=c1,nr=2,name=org.example.other)
	vm_spawn timeout 60 qemu-system-x86_64 "${machine[@]}" "${extra[@]}" \
		-chardev "socket,id=c1,path=$d/port.sock,server=on,wait=off" \
		"${p[@]}" \
		-qmp "unix:$d/qmp.sock,server=on,wait=off" 2>"$d.err"
	vm_wait_for 10 test -S "$d/qmp.sock" || vm_fail "start_$1" "no QMP socket"
}

start src1 src
start dst1 dst
start src2 src
start dst2 bad
start src3 src
start dst3 dst
start src4 src
start dst4good dst
start dst4bad dst

python3 - "$VM_DIR" "$(dirname "$0")" <<'PY' >"$VM_DIR/results"
import json, os, select, socket, sys, time
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import migpeer
N = 50000
res = []

def conn(path):
    s = migpeer.connect(path, time.monotonic() + 10)
    s.settimeout(10)
    return s

class Qmp(migpeer.Qmp):
    def __init__(self, name):
        super().__init__("%s/%s/qmp.sock" % (d, name), time.monotonic() + 10)
    def port(self):
        tree = self.cmd("human-monitor-command", **{"command-line": "info qtree"})
        for l in tree.splitlines():
            if l.strip().startswith("port ") and ", cut " in l:
                return dict(x.strip().split(" ", 1) for x in l.split(","))
        return {}
    def wait_state(self, want):
        end, st = time.monotonic() + 20, ""
        while time.monotonic() < end:
            st = self.cmd("query-migrate").get("status", "")
            if st in want:
                break
            time.sleep(0.05)
        return st

def check(name, ok, why=""):
    res.append("%s %s %s" % ("ok" if ok else "fail", name, "" if ok else why))

def refused(s):
    try:
        s.send(b"x")
        return "accepted"
    except BrokenPipeError:
        return "EPIPE"
    except OSError as e:
        return str(e)

def migrate(src, dst, rp, n=N):
    qs, qd = Qmp(src), Qmp(dst)
    w = conn("%s/%s/port.sock" % (d, src))
    if n > N:   # root may raise the unix send buffer past wmem_max
        w.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_SNDBUFFORCE", 32),
                     4 << 20)
    # The chardev must have accepted us before the first byte (a paused
    # VM's port does not hear it: query-chardev does).
    end = time.monotonic() + 10
    while time.monotonic() < end and any(
            c["label"] == "c1" and c["filename"].startswith("disconnected:")
            for c in qs.cmd("query-chardev")):
        time.sleep(0.02)
    w.sendall(bytes(i % 251 for i in range(n)))
    caps = [{"capability": "return-path", "state": rp}]
    qs.cmd("migrate-set-capabilities", capabilities=caps)
    qd.cmd("migrate-set-capabilities", capabilities=caps)
    qd.cmd("migrate-incoming", uri="unix:%s/%s/mig.sock" % (d, dst))
    qs.cmd("migrate", uri="unix:%s/%s/mig.sock" % (d, dst))
    return qs, qd, w, qs.wait_state(("completed", "failed", "cancelled"))

def scenarios():
    # 1. completed: every unread byte moves, the source refuses the rest.
    qs, qd, w, st = migrate("src1", "dst1", False)
    check("cut_migration_completed", st == "completed", st)
    p = qs.port()
    check("cut_source_took_all_unread", p.get("cut") == str(N), "source %s" % p)
    check("cut_source_refuses_later_writes", refused(w) == "EPIPE", refused(w))
    qd.wait_state(("completed", "failed"))
    p = qd.port()
    check("cut_destination_holds_them", p.get("held") == str(N), "destination %s" % p)
    qs.cmd("quit"); qd.cmd("quit")

    # 2. failed: the source keeps them and recovers its connection on resume.
    qs, qd, w, st = migrate("src2", "dst2", True)
    check("cut_refused_migration_failed", st == "failed", st)
    p = qs.port()
    check("cut_failed_source_keeps_bytes", p.get("held") == str(N) and
          p.get("cut") == str(N), "source %s" % p)
    check("cut_failed_source_refuses_writes", refused(w) == "EPIPE", refused(w))
    qs.cmd("cont")
    w.settimeout(10)
    try:
        eof = w.recv(1) == b""
    except OSError as e:
        eof = "error %s" % e
    check("cut_resumed_source_drops_connection", eof is True, eof)
    w2 = conn("%s/src2/port.sock" % d)
    end = time.monotonic() + 10
    while qs.port().get("host") != "on" and time.monotonic() < end:
        time.sleep(0.05)
    p = qs.port()
    check("cut_resumed_source_accepts_new_client", p.get("host") == "on" and
          p.get("held") == str(N), "source %s" % p)
    w2.close()
    qs.cmd("quit")
    try:
        qd.cmd("quit")
    except Exception:
        pass

    # 3. more than the core may hold: it takes the bound, the source says so.
    M = 1 << 20
    qs, qd, w, st = migrate("src3", "dst3", False, M + M // 2)
    check("cut_over_bound_completed", st == "completed", st)
    p = qs.port()
    check("cut_over_bound_takes_1MiB", p.get("cut") == str(M), "source %s" % p)
    qd.wait_state(("completed", "failed"))
    p = qd.port()
    check("cut_over_bound_destination_holds_1MiB", p.get("held") == str(M),
          "destination %s" % p)
    qs.cmd("quit"); qd.cmd("quit")

def hostile_stream():
    # 4. A real stream with its held length patched past VSDEV_HELD_MAX.
    qs = Qmp("src4")
    w = conn("%s/src4/port.sock" % d)
    end = time.monotonic() + 10
    while time.monotonic() < end and any(
            c["label"] == "c1" and c["filename"].startswith("disconnected:")
            for c in qs.cmd("query-chardev")):
        time.sleep(0.02)
    w.sendall(b"y" * N)
    good, bad = d + "/stream", d + "/stream.bad"
    qs.cmd("migrate", uri="exec:cat > " + good)
    st = qs.wait_state(("completed", "failed", "cancelled"))
    check("hostile_stream_saved", st == "completed", st)
    qs.cmd("quit")
    data = bytearray(open(good, "rb").read())
    # magic, version, max_ports, features(8), 2 flags, nports, then port
    # 1: id, 6 flags, tx_off, rx_count (paused: nothing popped), held_len.
    at = data.find(bytes.fromhex("76736476") + (2).to_bytes(4, "big"))
    off = at + 4 + 4 + 4 + 8 + 2 + 4 + 4 + 6 + 4 + 4
    ok = at >= 0 and data[off:off + 4] == N.to_bytes(4, "big")
    check("hostile_stream_held_len_found", ok, "magic at %d" % at)
    data[off:off + 4] = (0x7fffffff).to_bytes(4, "big")
    open(bad, "wb").write(data)
    qg = Qmp("dst4good")
    qg.cmd("migrate-incoming", uri="exec:cat " + good)
    qg.wait_state(("completed", "failed"))
    p = qg.port()
    check("hostile_stream_original_loads", p.get("held") == str(N), "%s" % p)
    qg.cmd("quit")
    qb = Qmp("dst4bad")
    qb.cmd("migrate-incoming", uri="exec:cat " + bad)
    try:        # the refusing destination exits; wait for its QMP to go
        qb.wait_state(("completed",))
    except (OSError, ValueError):
        pass

try:
    scenarios()
    hostile_stream()
except Exception as e:  # report, never hang or die silently
    res.append("fail cut_script %s: %s" % (type(e).__name__, e))
print("\n".join(res))
PY
while read -r kind name why; do
	case $kind in
	ok) vm_ok "$name" ;;
	fail) vm_fail "$name" "$why" ;;
	esac
done <"$VM_DIR/results"
[ -s "$VM_DIR/results" ] || vm_fail cut_script "no results"
if grep -qa 'virtio-serial' "$VM_DIR"/src[12].err 2>/dev/null; then
	vm_fail no_device_warnings "$(grep -a 'virtio-serial' "$VM_DIR"/src[12].err | head -2)"
else
	vm_ok no_device_warnings
fi
err=$(cat "$VM_DIR/dst4bad.err" 2>/dev/null)
if [[ $err == *"2147483647 held bytes refused (at most 1048576)"* ]] &&
	[[ $err == *"load of migration failed"* ]]; then
	vm_ok hostile_stream_refused_cleanly
else
	vm_fail hostile_stream_refused_cleanly "destination: $err"
fi
if grep -qa 'not all taken (over 1 MiB)' "$VM_DIR/src3.err"; then
	vm_ok cut_over_bound_warns
else
	vm_fail cut_over_bound_warns "src3 stderr: $(head -c 300 "$VM_DIR/src3.err")"
fi
vm_report
