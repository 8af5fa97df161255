#!/usr/bin/env python3
"""chan_peer.py - stands in for QEMU on one channel socket.

Binds a unix socket (as QEMU does for <serial type='unix'><source
mode='bind'>), waits for the daemon to connect, then plays a scenario of
raw v1 frames and prints one line per reply: "<label> <result>".
Every wait has a deadline; exits 1 on timeout.
"""
import os
import socket
import struct
import sys
import time

MAGIC = b"abba"


def req(op, domain, seqno):
    d = domain.encode()
    return MAGIC + struct.pack("<BB64sI", op, 0, d, seqno)


PENDING = bytearray()   # bytes received but not yet consumed


def read_reply(conn, deadline):
    global PENDING
    while True:
        i = PENDING.find(MAGIC)
        if i >= 0 and len(PENDING) >= i + 5:
            result = PENDING[i + 4]
            del PENDING[:i + 5]
            return result, None
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError("no reply")
        conn.settimeout(left)
        chunk = conn.recv(4096)
        if not chunk:
            raise EOFError("daemon closed the channel")
        PENDING += chunk


def main():
    path, scenario = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)
    conn, _ = srv.accept()
    end = time.time() + 20
    if scenario == "garbage":
        # junk, a false start of the magic, then a real request
        conn.sendall(os.urandom(300).replace(MAGIC, b"xxxx") + b"abb" +
                     req(4, "g2", 1))
        print("after-garbage", read_reply(conn, end)[0])
        # a request split in two writes
        r = req(4, "g2", 2)
        conn.sendall(r[:30])
        time.sleep(0.1)
        conn.sendall(r[30:])
        print("split", read_reply(conn, end)[0])
    elif scenario == "retransmit":
        r = req(1, "g2", 4242)
        conn.sendall(r + r)     # the same request twice, back to back
        print("first", read_reply(conn, end)[0])
        print("second", read_reply(conn, end)[0])
        conn.sendall(r)         # and once more after it finished
        print("third", read_reply(conn, end)[0])
        conn.sendall(req(4, "g2", 4243))
        print("status", read_reply(conn, end)[0])
        conn.sendall(req(3, "g2", 4244))
        print("on", read_reply(conn, end)[0])
    elif scenario == "req":
        # one request: OP DOMAIN
        conn.sendall(req(int(sys.argv[3]), sys.argv[4], 777))
        print("reply", read_reply(conn, end)[0])
        sys.stdout.flush()
    elif scenario == "noread":
        # a flood of host list requests whose replies are never read
        conn.settimeout(1)
        sent = 0
        try:
            for k in range(int(sys.argv[3])):
                conn.sendall(req(6, "", 5000 + k))
                sent += 1
        except (socket.timeout, BlockingIOError):
            pass
        print("sent", sent, flush=True)
        time.sleep(float(sys.argv[4]))
    elif scenario == "hang":
        # send nothing and never read: the daemon must serve others
        time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 3)
    conn.close()
    srv.close()
    os.unlink(path)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, do not hang the test
        print("error", e)
        sys.exit(1)
