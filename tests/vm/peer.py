#!/usr/bin/python3
"""peer.py - host-side peer on a QEMU chardev unix socket, for tests/vm.

    peer.py SOCK LOG [DEADLINE_S]

Connects to SOCK (QEMU listens with server=on; waits for the socket to
appear), echoes every byte back, and writes everything it received to LOG.
A line "CLOSE" from the guest is not echoed: the peer hangs up and exits 0,
so the guest can watch the host side go away.  Exits 0 then or when QEMU
closes the socket (guest powered off), 1 at the deadline (default 120 s).  Python 3 stdlib only.
"""
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
                return None
            time.sleep(0.02)  # socket not bound yet: QEMU is starting


def serve(s, log, deadline):
    pending = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "deadline"
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        data = s.recv(4096)
        if not data:
            return None  # QEMU exited: the guest powered off
        log.write(data)
        log.flush()
        pending += data
        if b"CLOSE\n" in pending:
            head = pending.split(b"CLOSE\n", 1)[0]
            if head:
                s.sendall(head)
            return None
        # Echo whole lines only, so "CLOSE" is never echoed in pieces.
        if b"\n" in pending:
            head, pending = pending.rsplit(b"\n", 1)
            s.sendall(head + b"\n")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    path, logpath = sys.argv[1], sys.argv[2]
    deadline = time.monotonic() + (float(sys.argv[3]) if len(sys.argv) == 4 else 120)
    s = connect(path, deadline)
    if s is None:
        print(f"peer: {path}: no socket before the deadline", file=sys.stderr)
        return 1
    with open(logpath, "ab") as log:
        why = serve(s, log, deadline)
    s.close()
    if why:
        print(f"peer: {path}: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
