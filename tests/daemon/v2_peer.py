#!/usr/bin/env python3
"""v2_peer.py - a guest speaking protocol v2 (docs/protocol.md part 2) on one
channel socket, standing in for QEMU: it binds SOCK, waits for the daemon
to connect, then runs STEPs in order and prints one line per answer.

  v2_peer.py SOCK STEP...

  key:FILE            use FILE's first 4096 bytes as the HMAC key from now on
  hello:ID            HELLO with a fresh client nonce; wait for CHALLENGE
                      (prints "hello ID challenge" or "hello ID <error>")
  send:ID:OP:TARGET   REQUEST under the last challenge; do not wait
  result:LABEL        wait for the RESULT of the last REQUEST sent; prints
                      "LABEL <code>" (code as in protocol.md 2.7), or
                      "LABEL error <code>" for an ERROR, "LABEL timeout",
                      "LABEL badmac" when the MAC does not verify
  call:LABEL:ID:OP:TARGET   hello + send + result
  await:LABEL:ID      wait for the RESULT of an earlier attempt with request
                      id ID (the first send of that id), as for result:
  wait:FILE           wait until FILE exists
  touch:FILE          create FILE
Every wait has a deadline (10 s); exits 1 on a setup error.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

MAGIC = b"VSF2"
T_HELLO, T_CHALLENGE, T_REQUEST, T_RESULT, T_HOSTREC, T_ERROR = 1, 2, 3, 4, 5, 6
MAC_LEN = 32
WAIT = 10.0


def header(ftype, n):
    return MAGIC + bytes([0, 2, 0, ftype]) + struct.pack("<HH", n, 0)


class Peer:
    def __init__(self, conn):
        self.conn = conn
        self.key = b""
        self.buf = b""
        self.frames = []        # (type, payload, body, mac), oldest first
        self.chal = None        # (request id, client nonce, server nonce)
        self.attempts = {}      # request id -> client nonce of first send
        self.last = None        # client nonce of the last REQUEST sent

    def mac(self, data):
        return hmac.new(self.key, data, hashlib.sha256).digest()

    def pump(self, deadline):
        """Read more bytes; split them into frames. False on timeout."""
        left = deadline - time.time()
        if left <= 0:
            return False
        self.conn.settimeout(left)
        try:
            chunk = self.conn.recv(4096)
        except socket.timeout:
            return False
        if not chunk:
            raise EOFError("daemon closed the channel")
        self.buf += chunk
        while True:
            i = self.buf.find(MAGIC)
            if i < 0 or len(self.buf) < i + 12:
                return True
            self.buf = self.buf[i:]
            ftype, n = self.buf[7], struct.unpack("<H", self.buf[8:10])[0]
            size = 12 + n + MAC_LEN
            if len(self.buf) < size:
                return True
            frame, self.buf = self.buf[:size], self.buf[size:]
            body, mac = frame[:12 + n], frame[12 + n:]
            self.frames.append((ftype, body[12:], body, mac))

    def mac_ok(self, f):
        """Checked with the key in use when the frame is taken."""
        return hmac.compare_digest(self.mac(f[2]), f[3])

    def take(self, match):
        """Wait for the first frame match() accepts; remove and return it."""
        deadline = time.time() + WAIT
        while True:
            for f in self.frames:
                if match(f):
                    self.frames.remove(f)
                    return f
            if not self.pump(deadline):
                return None

    def hello(self, rid):
        cn = os.urandom(16)
        payload = cn + struct.pack("<I", rid) + bytes(1 + 37) + cn[:4]
        self.conn.sendall(header(T_HELLO, len(payload)) + payload)
        f = self.take(lambda f: f[0] == T_ERROR or
                      (f[0] == T_CHALLENGE and f[1][4:20] == cn))
        if f is None:
            return "timeout"
        if f[0] == T_ERROR:
            return "error %d" % f[1][4]
        if not self.mac_ok(f):
            return "badmac"
        self.chal = (rid, cn, f[1][20:36])
        return "challenge"

    def send(self, rid, op, target):
        _, cn, sn = self.chal
        name = target.encode()
        payload = (struct.pack("<IBBB", rid, op, 0, len(name)) + sn + cn +
                   name)
        body = header(T_REQUEST, len(payload)) + payload
        self.conn.sendall(body + self.mac(body))
        self.attempts.setdefault(rid, cn)
        self.last = (rid, cn)

    def result(self, rid, cn):
        f = self.take(lambda f: (f[0] == T_RESULT and f[1][5:21] == cn) or
                      (f[0] == T_ERROR and
                       struct.unpack("<I", f[1][:4])[0] in (0, rid)))
        if f is None:
            return "timeout"
        if f[0] == T_ERROR:
            return "error %d" % f[1][4]
        return "%d" % f[1][4] if self.mac_ok(f) else "badmac"


def wait_file(path):
    deadline = time.time() + WAIT
    while not os.path.exists(path):
        if time.time() > deadline:
            raise TimeoutError("no " + path)
        time.sleep(0.02)


def main():
    path, steps = sys.argv[1], sys.argv[2:]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)
    conn, _ = srv.accept()
    p = Peer(conn)
    for step in steps:
        kind, _, arg = step.partition(":")
        a = arg.split(":")
        if kind == "key":
            with open(arg, "rb") as f:
                p.key = f.read(4096)
        elif kind == "hello":
            print("hello", a[0], p.hello(int(a[0])), flush=True)
        elif kind == "send":
            p.send(int(a[0]), int(a[1]), a[2])
        elif kind == "result":
            print(a[0], p.result(*p.last), flush=True)
        elif kind == "call":
            h = p.hello(int(a[1]))
            if h != "challenge":
                print(a[0], h, flush=True)
                continue
            p.send(int(a[1]), int(a[2]), a[3])
            print(a[0], p.result(*p.last), flush=True)
        elif kind == "await":
            rid = int(a[1])
            print(a[0], p.result(rid, p.attempts[rid]), flush=True)
        elif kind == "wait":
            wait_file(arg)
        elif kind == "touch":
            open(arg, "w").close()
        else:
            raise ValueError("unknown step " + step)
    conn.close()
    srv.close()
    os.unlink(path)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, do not hang the test
        print("error", e, flush=True)
        sys.exit(1)
