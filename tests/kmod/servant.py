#!/usr/bin/python3
"""servant.py - host side of tests/kmod/kconform, on QEMU chardev sockets.

    servant.py DIR DEADLINE_S

DIR holds QEMU's unix sockets, one per port named org.vsf.P at
DIR/org.vsf.P.sock: ctl (the command channel), console (a virtconsole), t1,
t2, t3 (test ports, left unconnected until asked); and DIR/qmp.sock (QMP, for
hot-plug).  The guest program sends one line
per command on the ctl port and waits for one reply line ("ok ..." or
"fail ...").  Commands:

    ping                      ok
    conn P / disc P           connect / hang up the host side of port P
    send P N SEED             write N pattern bytes to P (in the background)
    recv P N SEED             read N bytes from P and check the pattern (bg)
    slowrecv P N SEED         the same in 4 KiB reads with short pauses
    wait P                    the result of the last recv on P
    hold P / drain P          stop reading P / read and discard everything
    source P N / sink P N     like send / recv with zero bytes and no check
    plug P NR / unplug P      QMP: add (chardev + virtserialport nr=NR) /
                              remove the port named org.vsf.P
    plugname P NR LEN         plug P (nr NR) named org.vsf.P. + LEN times "x"
    plugcon P NR              plug a virtconsole org.vsf.P (nr NR), connect
                              it and collect what it sends
    plugcon_echo P NR         plug a virtserialport org.vsf.P (nr NR),
                              connect it and echo what it sends
    expect P S                wait until port P has sent S
    plugmany A B              plug ports mA..mB (nr A..B)
    echoall A B               connect mA..mB, each echoing what it gets
    con_expect S / con_send S the virtconsole: wait for S / send S + newline
                              (S is the rest of the line)
    bye                       exit 0

Exits 0 on "bye" or when QEMU closes ctl, 1 at the deadline.  Python 3
stdlib only.  The pattern must match kconform.c's pattern().
"""
import json
import os
import socket
import sys
import threading
import time

PERIOD = 65521


def pattern_block(seed):
    return bytes(((i * 131 + seed * 7 + (i >> 8)) & 0xFF) for i in range(PERIOD))


def pattern_slice(block, off, n):
    out = bytearray()
    while n > 0:
        i = off % PERIOD
        k = min(n, PERIOD - i)
        out += block[i:i + k]
        off += k
        n -= k
    return bytes(out)


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Port:
    def __init__(self, path):
        self.path = path
        self.sock = None
        self.worker = None
        self.result = None
        self.stop = False

    def conn(self):
        self.close()
        self.sock = connect(self.path, time.monotonic() + 5)

    def close(self):
        self.stop = True
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        if self.worker:
            self.worker.join(10)
            self.worker = None
        self.stop = False

    def background(self, fn, *args):
        if self.worker:
            self.worker.join(60)
        self.result = None
        self.worker = threading.Thread(target=fn, args=args, daemon=True)
        self.worker.start()

    def do_send(self, n, seed):
        block = pattern_block(seed)
        off = 0
        try:
            while off < n and not self.stop:
                chunk = pattern_slice(block, off, min(65536, n - off))
                self.sock.sendall(chunk)
                off += len(chunk)
            self.result = "ok sent %d" % off
        except OSError as e:
            self.result = "fail send at %d: %s" % (off, e)

    def do_recv(self, n, seed, slow=False):
        block = pattern_block(seed)
        off = 0
        self.sock.settimeout(60)
        try:
            while off < n:
                data = self.sock.recv(min(4096 if slow else 65536, n - off))
                if not data:
                    self.result = "fail eof at %d" % off
                    return
                if slow:
                    time.sleep(0.0003)
                if data != pattern_slice(block, off, len(data)):
                    self.result = "fail bad data near %d" % off
                    return
                off += len(data)
            self.result = "ok got %d" % off
        except OSError as e:
            self.result = "fail recv at %d: %s" % (off, e)

    def do_echo(self):
        try:
            while not self.stop:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.sock.sendall(data)
        except OSError:
            pass

    def do_source(self, n):
        zeros = bytes(65536)
        off = 0
        try:
            while off < n and not self.stop:
                k = min(len(zeros), n - off)
                self.sock.sendall(zeros[:k])
                off += k
            self.result = "ok sent %d" % off
        except OSError as e:
            self.result = "fail send at %d: %s" % (off, e)

    def do_sink(self, n):
        off = 0
        t0 = None
        self.sock.settimeout(60)
        try:
            while off < n:
                data = self.sock.recv(min(1 << 20, n - off))
                if not data:
                    self.result = "fail eof at %d" % off
                    return
                if t0 is None:
                    t0 = time.monotonic()
                off += len(data)
            self.result = "ok got %d in %.1f ms" % (off, (time.monotonic() - t0) * 1000)
        except OSError as e:
            self.result = "fail recv at %d: %s" % (off, e)

    def do_collect(self):
        self.got = b""
        try:
            while not self.stop:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.got += data
        except OSError:
            pass

    def expect(self, text):
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if text.encode() in getattr(self, "got", b""):
                return "ok"
            time.sleep(0.02)
        return "fail port has %r" % getattr(self, "got", b"")[-200:]

    def do_drain(self):
        total = 0
        try:
            while not self.stop:
                data = self.sock.recv(65536)
                if not data:
                    break
                total += len(data)
        except OSError:
            pass
        self.result = "ok drained %d" % total


class Qmp:
    def __init__(self, path, deadline):
        self.sock = connect(path, deadline)
        self.f = self.sock.makefile("rwb")
        self.f.readline()  # greeting
        self.call("qmp_capabilities")

    def call(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return None
            if "error" in r:
                return r["error"].get("desc", "error")


class Servant:
    def __init__(self, d, deadline):
        self.dir = d
        self.deadline = deadline
        self.ports = {p: Port(self.sock_path(p)) for p in ("t1", "t2", "t3")}
        self.qmp = None
        self.con_buf = b""
        self.con_lock = threading.Lock()
        self.con = connect(self.sock_path("console"), deadline)
        threading.Thread(target=self.con_reader, daemon=True).start()

    def sock_path(self, p):
        return os.path.join(self.dir, "org.vsf.%s.sock" % p)

    def con_reader(self):
        while True:
            data = self.con.recv(4096)
            if not data:
                return
            with self.con_lock:
                self.con_buf += data

    def plug(self, p, nr, name=None, driver="virtserialport"):
        if not self.qmp:
            self.qmp = Qmp(os.path.join(self.dir, "qmp.sock"), self.deadline)
        path = self.sock_path(p)
        err = self.qmp.call("chardev-add", id="hc-" + p, backend={
            "type": "socket", "data": {
                "addr": {"type": "unix", "data": {"path": path}},
                "server": True, "wait": False}})
        if err:
            return "fail chardev-add: " + err
        err = self.qmp.call("device_add", driver=driver, bus="vs0.0",
                            chardev="hc-" + p, name=name or "org.vsf." + p, id="dev-" + p,
                            nr=int(nr))
        if err:
            return "fail device_add: " + err
        self.ports[p] = Port(path)
        return "ok"

    def unplug(self, p):
        port = self.ports.pop(p, None)
        if port:
            port.close()
        err = self.qmp.call("device_del", id="dev-" + p)
        if err:
            return "fail device_del: " + err
        # chardev-remove fails while the device still holds it: retry.
        end = time.monotonic() + 5
        while self.qmp.call("chardev-remove", id="hc-" + p):
            if time.monotonic() > end:
                return "fail chardev-remove"
            time.sleep(0.05)
        return "ok"

    def con_expect(self, s):
        # Generous: a loaded 2-core host runs TCG guests several times slower.
        end = time.monotonic() + 30
        while time.monotonic() < end:
            with self.con_lock:
                if s.encode() in self.con_buf:
                    return "ok"
            time.sleep(0.02)
        return "fail console has %r" % self.con_buf[-200:]

    def handle(self, words):
        op, args = words[0], words[1:]
        port = self.ports.get(args[0]) if args else None
        if op == "ping":
            return "ok"
        if op == "bye":
            return None
        if op == "plug":
            return self.plug(args[0], args[1])
        if op == "unplug":
            return self.unplug(args[0])
        if op == "plugname":
            return self.plug(args[0], args[1], "org.vsf.%s.%s" % (args[0], "x" * int(args[2])))
        if op == "plugcon":
            r = self.plug(args[0], args[1], driver="virtconsole")
            if r == "ok":
                p = self.ports[args[0]]
                p.conn()
                p.background(p.do_collect)
            return r
        if op == "plugcon_echo":
            r = self.plug(args[0], args[1])
            if r == "ok":
                p = self.ports[args[0]]
                p.conn()
                p.background(p.do_echo)
            return r
        if op == "plugmany":
            for nr in range(int(args[0]), int(args[1]) + 1):
                r = self.plug("m%d" % nr, nr)
                if r != "ok":
                    return r
            return "ok"
        if op == "echoall":
            for nr in range(int(args[0]), int(args[1]) + 1):
                p = self.ports["m%d" % nr]
                p.conn()
                p.background(p.do_echo)
            return "ok"
        if op == "con_expect":
            return self.con_expect(" ".join(args))
        if op == "con_send":
            self.con.sendall(" ".join(args).encode() + b"\n")
            return "ok"
        if port is None:
            return "fail no port %s" % args
        if op == "conn":
            port.conn()
        elif op == "disc":
            port.close()
        elif op == "expect":
            return port.expect(" ".join(args[1:]))
        elif op == "hold":
            pass
        elif op == "send":
            port.background(port.do_send, int(args[1]), int(args[2]))
        elif op == "recv":
            port.background(port.do_recv, int(args[1]), int(args[2]))
        elif op == "slowrecv":
            port.background(port.do_recv, int(args[1]), int(args[2]), True)
        elif op == "source":
            port.background(port.do_source, int(args[1]))
        elif op == "sink":
            port.background(port.do_sink, int(args[1]))
        elif op == "drain":
            port.background(port.do_drain)
        elif op == "wait":
            if port.worker:
                port.worker.join(60)
            return port.result or "fail no result"
        else:
            return "fail unknown command " + op
        return "ok"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    deadline = time.monotonic() + float(sys.argv[2])
    sv = Servant(d, deadline)
    ctl = connect(sv.sock_path("ctl"), deadline)
    ctl.settimeout(1)
    log = open(os.path.join(d, "servant.log"), "a")
    buf = b""
    while time.monotonic() < deadline:
        try:
            data = ctl.recv(4096)
        except socket.timeout:
            continue
        if not data:
            return 0
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            words = line.decode(errors="replace").split()
            if not words:
                continue
            try:
                reply = sv.handle(words)
            except Exception as e:  # report, keep serving
                reply = "fail %s: %s" % (type(e).__name__, e)
            log.write("%s -> %s\n" % (line.decode(errors="replace"), reply))
            log.flush()
            if reply is None:
                return 0
            ctl.sendall(reply.encode() + b"\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
