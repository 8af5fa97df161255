#!/usr/bin/env python3
"""storm_peer.py DIR N STORM - stands in for QEMU on N guests at once.

Binds DIR/s<i>.sock for i < N, waits for the daemon to connect to all of
them, sends one status request for "s<i>" on each, and counts replies of
0 (on).  Then sends STORM requests back to back on s0 and counts those
replies.  Prints "connected C", "answered A of N", "storm S of STORM".
Every wait has a deadline.
"""
import os
import selectors
import socket
import struct
import sys
import time

MAGIC = b"abba"


def req(op, domain, seqno):
    return MAGIC + struct.pack("<BB64sI", op, 0, domain.encode(), seqno)


def main():
    d, n, storm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sel = selectors.DefaultSelector()
    for i in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.join(d, "s%d.sock" % i))
        s.listen(1)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", i))
    print("listening", flush=True)
    t0 = time.time()
    conns, bufs, ok = {}, {}, {}
    end = time.time() + 120
    while len(conns) < n and time.time() < end:
        for key, _ in sel.select(1):
            kind, i = key.data
            if kind == "listen":
                c, _ = key.fileobj.accept()
                c.setblocking(True)
                conns[i] = c
                sel.unregister(key.fileobj)
                key.fileobj.close()
    print("connected", len(conns), flush=True)
    for i, c in conns.items():
        c.sendall(req(4, "s%d" % i, i))
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ, ("conn", i))
        bufs[i] = b""
    answered = 0
    while answered < len(conns) and time.time() < end:
        for key, _ in sel.select(1):
            i = key.data[1]
            data = key.fileobj.recv(4096)
            if not data:
                sel.unregister(key.fileobj)
                continue
            bufs[i] += data
            while len(bufs[i]) >= 5:
                j = bufs[i].find(MAGIC)
                if j < 0 or len(bufs[i]) < j + 5:
                    break
                if bufs[i][j + 4] == 0 and i not in ok:
                    ok[i] = True
                    answered += 1
                bufs[i] = bufs[i][j + 5:]
    print("answered", answered, "of", n, flush=True)
    print("# first replies after %.1f s" % (time.time() - t0), flush=True)
    got = 0
    if 0 in conns and storm:
        c = conns[0]
        try:
            sel.unregister(c)
        except (KeyError, ValueError):
            pass
        c.setblocking(True)
        c.sendall(b"".join(req(4, "s0", 100000 + k) for k in range(storm)))
        c.settimeout(max(1, end - time.time()))
        buf = b""
        while got < storm:
            data = c.recv(65536)
            if not data:
                break
            buf += data
            got += buf.count(MAGIC)
            buf = buf[buf.rfind(MAGIC) + 5:] if MAGIC in buf else buf
    print("storm", got, "of", storm, flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print("error", e, flush=True)
        sys.exit(1)
