#!/usr/bin/env python3
"""Host side of the pacemaker tier (tests/pacemaker).

  rigctl.py run SOCK TIMEOUT COMMAND   run COMMAND in the guest whose control
                                       port (org.example.rig.ctl) is SOCK;
                                       print its output, exit with its status
                                       (124 on timeout, 125 if unreachable)
  rigctl.py log SOCK OUT TAG           follow the guest's log port forever,
                                       appending "EPOCH TAG LINE" to OUT;
                                       reconnects when the guest restarts
  rigctl.py ts OUT TAG                 stdin lines -> "EPOCH TAG LINE" in OUT
  rigctl.py hub PORT PEER-PORT...      an Ethernet hub for QEMU udp netdevs on
                                       127.0.0.1: a frame from one peer port
                                       goes to every other peer port
  rigctl.py hub-learn ADDR PORT        the same hub on ADDR:PORT for guests on
                                       several hosts: peers are learned from
                                       the source address of their frames,
                                       keyed by the frame's source MAC, so a
                                       guest that live-migrates (same MAC,
                                       new host address) keeps its link;
                                       prints "EPOCH MAC ADDR:PORT" on each
                                       new or moved peer
"""
import os
import select
import socket
import sys
import time


def run(sock, timeout, command):
    deadline = time.monotonic() + timeout
    tag = "%d%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    s = socket.socket(socket.AF_UNIX)
    try:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        s.connect(sock)
        s.sendall(("%s %s\n" % (tag, command.replace("\n", " "))).encode())
        buf = b""
        end = ("@@%s " % tag).encode()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                sys.stdout.write(buf.decode(errors="replace"))
                return 124
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                sys.stdout.write(buf.decode(errors="replace"))
                return 125
            buf += chunk
            i = buf.find(end)
            if i >= 0 and (i == 0 or buf[i - 1:i] == b"\n"):
                nl = buf.find(b"\n", i)
                if nl < 0:
                    continue
                sys.stdout.write(buf[:i].decode(errors="replace"))
                return int(buf[i + len(end):nl] or b"1")
    except (OSError, socket.timeout) as e:
        sys.stderr.write("rigctl: %s: %s\n" % (sock, e))
        return 125
    finally:
        s.close()


def stamp(out, tag, line):
    out.write("%.3f %s %s\n" % (time.time(), tag, line.rstrip("\r\n")))
    out.flush()


def follow(sock, path, tag):
    with open(path, "a") as out:
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sock)
            except OSError:
                s.close()
                time.sleep(0.1)
                continue
            stamp(out, tag, "rigctl: connected")
            f = s.makefile("r", errors="replace")
            try:
                for line in f:
                    stamp(out, tag, line)
            except OSError:
                pass
            s.close()
            stamp(out, tag, "rigctl: disconnected")
            time.sleep(0.1)


def ts(path, tag):
    with open(path, "a") as out:
        for line in sys.stdin:
            stamp(out, tag, line)


def hub(port, peers):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        data, (_, src) = s.recvfrom(65536)
        for p in peers:
            if p != src:
                try:
                    s.sendto(data, ("127.0.0.1", p))
                except OSError:
                    pass    # that guest is down (being fenced): drop


def learning_hub(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    peers = {}      # source MAC -> (address, port) it last sent from
    while True:
        data, src = s.recvfrom(65536)
        if len(data) < 14:
            continue    # not an Ethernet frame
        mac = data[6:12]
        if peers.get(mac) != src:
            peers[mac] = src
            print("%.3f %s %s:%d" % (time.time(), mac.hex(":"), src[0], src[1]),
                  flush=True)
        for dst in set(peers.values()):
            if dst != src:
                try:
                    s.sendto(data, dst)
                except OSError:
                    pass    # that guest is down (being fenced): drop


def main(argv):
    if len(argv) >= 4 and argv[1] == "run":
        return run(argv[2], float(argv[3]), " ".join(argv[4:]))
    if len(argv) == 5 and argv[1] == "log":
        follow(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "ts":
        ts(argv[2], argv[3])
    elif len(argv) >= 4 and argv[1] == "hub":
        hub(int(argv[2]), [int(p) for p in argv[3:]])
    elif len(argv) == 4 and argv[1] == "hub-learn":
        learning_hub(argv[2], int(argv[3]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
