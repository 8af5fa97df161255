#!/usr/bin/python3
"""migpeer.py - host side of tests/vsdev/migrate_vm_test.sh.

    migpeer.py DIR DEADLINE_S

DIR holds the sockets the test's two QEMUs listen on: A = the running
source (portA.sock, qmpA.sock), B = the destination started with
-incoming unix:DIR/mig.sock (portB.sock).  The peer talks to the guest's
migprobe over the port: numbered "hNNNNNNN" lines every 20 ms, first through
A, then (after migration) through B, while collecting the guest's
"gNNNNNNN" lines from A (until A is gone) and then B.  It migrates A to B
over QMP while traffic flows, sends "STOP <h-count>", reads the guest's
DONE line and writes one result per line to DIR/results:
"ok NAME" or "fail NAME REASON".  Python 3 stdlib only.
"""
import json
import os
import select
import socket
import sys
import time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise TimeoutError(path)
            time.sleep(0.02)


class Qmp:
    def __init__(self, path, deadline):
        self.s = connect(path, deadline)
        self.s.settimeout(10)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            m = json.loads(self.f.readline())
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise RuntimeError("%s: %s" % (name, m["error"]))


class Stream:
    """One port connection: collects g lines, sends h lines."""

    def __init__(self, sock):
        self.s = sock
        self.s.setblocking(False)
        self.buf = b""
        self.raw = b""      # everything received, for the byte-stream check
        self.lines = []
        self.eof = False

    def pump(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    self.eof = True
                    return
                self.buf += d
                self.raw += d
        except BlockingIOError:
            pass
        except ConnectionResetError:
            # QEMU quit with our bytes unread; what it wrote came first.
            self.eof = True
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode(errors="replace"))

    def send(self, data):
        self.s.setblocking(True)
        self.s.sendall(data)
        self.s.setblocking(False)


def run(d, deadline):
    res = []
    a = Stream(connect(os.path.join(d, "portA.sock"), deadline))
    b = Stream(connect(os.path.join(d, "portB.sock"), deadline))
    qa = Qmp(os.path.join(d, "qmpA.sock"), deadline)
    h = 0

    def traffic(stream, seconds, read_a=True):
        # read_a=False: leave A's socket unread, so A's chardev fills up and
        # the device must hold (and migrate) guest data it could not write.
        nonlocal h
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            stream.send(b"h%07d\n" % h)
            h += 1
            socks = [x.s for x in ((a,) if read_a else ()) + (b,) if not x.eof]
            select.select(socks, [], [], 0.02)
            if read_a:
                a.pump()
            b.pump()

    # Wait for the guest's first line on A: migprobe runs.
    while not a.lines and time.monotonic() < deadline:
        select.select([a.s], [], [], 0.1)
        a.pump()
    if not a.lines:
        return [("fail", "mig_guest_started", "no line from the guest on A")]
    traffic(a, 1.5)
    # Stop reading A until its chardev is full and the device holds guest
    # data (throttled): that held chain must move to B, not be sent twice.
    end = time.monotonic() + 10
    throttled = False
    while not throttled and time.monotonic() < end:
        traffic(a, 0.2, read_a=False)
        tree = qa.cmd("human-monitor-command", **{"command-line": "info qtree"})
        throttled = "throttle on" in tree
    res.append(("ok" if throttled else "fail", "mig_source_holds_guest_data",
                "" if throttled else "port never throttled on A"))
    h_before = h
    qa.cmd("migrate", uri="unix:" + os.path.join(d, "mig.sock"))
    t0 = time.monotonic()
    status = ""
    while time.monotonic() < deadline:
        traffic(a, 0.1, read_a=False)   # bytes "during" migration
        status = qa.cmd("query-migrate").get("status", "")
        if status in ("completed", "failed", "cancelled"):
            break
    took = time.monotonic() - t0
    res.append(("info", "mig_seconds", "%.2f" % took))
    if status != "completed":
        return res + [("fail", "mig_completed", "status %r" % status)]
    res.append(("ok", "mig_completed", ""))
    h_first_b = h
    # A is paused for good: quit it and drain what it had written.
    try:
        qa.cmd("quit")
    except (OSError, ValueError, RuntimeError):
        pass
    while not a.eof and time.monotonic() < deadline:
        select.select([a.s], [], [], 0.1)
        a.pump()
    traffic(b, 1.5)
    b.send(b"STOP %d\n" % h)
    done = None
    while done is None and time.monotonic() < deadline:
        select.select([b.s], [], [], 0.1)
        b.pump()
        done = next((l for l in b.lines if l.startswith("DONE ")), None)
    if done is None:
        return res + [("fail", "mig_done", "no DONE from the guest")]
    g_lines, dups, gaps, gap_from, gap_to, h_count = map(int, done.split()[1:])
    # One byte stream across both connections: a chain A had half written
    # when it stopped continues, from B, in the middle of a line.
    stream = (a.raw + b.raw).decode(errors="replace").split("\n")
    got = [l for l in stream if l.startswith("g")]
    nums = [int(l[1:8]) for l in got]
    res.append(("info", "mig_traffic",
                "g=%d (A %d, B %d) h=%d (before %d, B from %d) gap %d..%d"
                % (g_lines, len([l for l in a.lines if l[:1] == "g"]),
                   len([l for l in b.lines if l[:1] == "g"]), h, h_before,
                   h_first_b, gap_from, gap_to)))
    # Same length and filler for every line: bytes repeated or lost inside a
    # line (a held chain resumed at the wrong offset) show up here.
    bad = [n for n, l in zip(nums, got)
           if len(l) != len(got[0]) or l[8:].strip("x")]
    if nums == list(range(g_lines)) and not bad:
        res.append(("ok", "mig_guest_bytes_exactly_once", ""))
    else:
        dup = len(nums) - len(set(nums))
        missing = sorted(set(range(g_lines)) - set(nums))[:5]
        res.append(("fail", "mig_guest_bytes_exactly_once",
                     "%d lines, want %d; %d duplicates; missing %s; "
                     "damaged lines %s" % (len(nums), g_lines, dup, missing,
                                           bad[:5])))
    # Host->guest: only bytes still unread in A's socket at the switch may
    # be lost, so a gap may only end where B's traffic starts.
    if dups == 0 and (gaps == 0 or (gaps == 1 and gap_to == h_first_b
                                    and gap_from >= h_before)):
        res.append(("ok", "mig_host_bytes_no_dup_no_gap_but_switchover", ""))
    else:
        res.append(("fail", "mig_host_bytes_no_dup_no_gap_but_switchover",
                    "dups %d gaps %d gap %d..%d, B started at %d"
                    % (dups, gaps, gap_from, gap_to, h_first_b)))
    return res


def main():
    d, secs = sys.argv[1], float(sys.argv[2])
    try:
        res = run(d, time.monotonic() + secs)
    except Exception as e:  # report, never hang the test
        res = [("fail", "mig_peer", "%s: %s" % (type(e).__name__, e))]
    with open(os.path.join(d, "results"), "w") as f:
        for kind, name, why in res:
            f.write("%s %s %s\n" % (kind, name, why))
    return 0


if __name__ == "__main__":
    sys.exit(main())
