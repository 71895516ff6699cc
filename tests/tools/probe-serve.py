#!/usr/bin/env python3
"""Answers the probes of probe.py, so a reply never depends on the kernel's ICMP error rate limit:
  probe-serve.py TCP_PORTS UDP_PORTS ADDRS     e.g. probe-serve.py 22,80 53,123 10.0.0.2,10.0.0.3
accepts (and closes) TCP connections on every address and echoes UDP datagrams on each of ADDRS
from that very address (a reply from another one would be a new flow, not a reply).
Prints "ready" once every socket is bound. Standard library only."""
import selectors
import socket
import sys

tcp_ports = [int(p) for p in sys.argv[1].split(",") if p]
udp_ports = [int(p) for p in sys.argv[2].split(",") if p]
addrs = [a for a in sys.argv[3].split(",") if a]
sel = selectors.DefaultSelector()
for p in tcp_ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", p))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "tcp")
for p in udp_ports:
    for a in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, p))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "udp")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == "tcp":
                c, _ = s.accept()
                c.close()
            else:
                data, peer = s.recvfrom(2048)
                s.sendto(data, peer)
        except (BlockingIOError, ConnectionError):
            # The prober gave up (its timeout) before we answered: nothing left to answer.
            continue
