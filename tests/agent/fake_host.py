#!/usr/bin/env python3
"""fake_host.py - a misbehaving v1 host side for fence_vserial's shell tests.

  fake_host.py unix PATH MODE LOG   serve on a unix socket
  fake_host.py pty LINK MODE LOG    serve on a pty; LINK -> its slave
  fake_host.py lock PATH SECONDS    hold fence_virt's fcntl lock on PATH

MODE:
  v1         answer like a stock fence_virtd: HELLO -> "abba" 1; a v1
             request -> 2 for status, 0 otherwise
  hup-first  close the first connection after its first request
  silent     read and never answer
  swallow-first  like v1, but the first v1 request gets no answer (an
             answer lost on the way, as with a guest that migrated)
  stale      (pty) leave a stale "abba" 0 in the port before anyone opens
             it, and put garbage before every answer
Each request is logged to LOG as "op=N seqno=N domain=NAME".
"""
import fcntl
import os
import select
import socket
import sys
import time
import tty

MAGIC_V1 = b"abba"
MAGIC_V2 = b"VSF2"


def log(path, text):
    with open(path, "a") as f:
        f.write(text + "\n")


class Host:
    def __init__(self, mode, logpath):
        self.mode = mode
        self.logpath = logpath
        self.buf = b""
        self.requests = 0
        self.v1_requests = 0

    def frames(self, data):
        """Yield 74-byte frames starting with either magic (resync)."""
        self.buf += data
        while True:
            i1, i2 = self.buf.find(MAGIC_V1), self.buf.find(MAGIC_V2)
            idx = min([i for i in (i1, i2) if i >= 0], default=-1)
            if idx < 0:
                self.buf = self.buf[-3:]
                return
            self.buf = self.buf[idx:]
            if len(self.buf) < 74:
                return
            frame, self.buf = self.buf[:74], self.buf[74:]
            yield frame

    def answer(self, frame):
        """Bytes to send back for one frame, or None to close."""
        self.requests += 1
        if frame.startswith(MAGIC_V2):
            log(self.logpath, "hello")
            return None if self.mode == "silent" else MAGIC_V1 + b"\x01"
        op = frame[4]
        domain = frame[6:70].split(b"\0")[0].decode(errors="replace")
        seqno = int.from_bytes(frame[70:74], "little")
        log(self.logpath, "op=%d seqno=%d domain=%s" % (op, seqno, domain))
        self.v1_requests += 1
        if self.mode == "silent":
            return b""
        if self.mode == "swallow-first" and self.v1_requests == 1:
            return b""
        if self.mode == "hup-first" and self.requests == 1:
            return None
        reply = MAGIC_V1 + bytes([2 if op == 4 else 0])
        if self.mode == "stale":
            reply = b"\x00junk abb ab" + reply
        return reply


def serve_unix(path, mode, logpath):
    host = Host(mode, logpath)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.lexists(path):
        os.unlink(path)     # a dead socket left by an earlier host
    srv.bind(path)
    srv.listen(4)
    log(logpath, "listening")
    while True:
        conn, _ = srv.accept()
        host.buf = b""
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                closed = False
                for frame in host.frames(data):
                    out = host.answer(frame)
                    if out is None and mode == "hup-first":
                        closed = True
                        break
                    if out:
                        conn.sendall(out)
                if closed:
                    break


def serve_pty(link, mode, logpath):
    host = Host(mode, logpath)
    master, slave = os.openpty()
    tty.setraw(slave)
    # Our own slave fd keeps the master readable between agent opens.
    name = os.ttyname(slave)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(name, link)
    if mode == "stale":
        os.write(master, MAGIC_V1 + b"\x00")
    log(logpath, "listening")
    while True:
        select.select([master], [], [])
        data = os.read(master, 4096)
        for frame in host.frames(data):
            out = host.answer(frame)
            if out:
                os.write(master, out)


def hold_lock(path, seconds):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("locked", flush=True)
    time.sleep(float(seconds))


def main():
    kind = sys.argv[1]
    if kind == "unix":
        serve_unix(sys.argv[2], sys.argv[3], sys.argv[4])
    elif kind == "pty":
        serve_pty(sys.argv[2], sys.argv[3], sys.argv[4])
    elif kind == "lock":
        hold_lock(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
